/**
 * The `database` engine through the built server and the `secrethub` CLI, as `vault read
 * database/creds/<role>` and `vault lease ...`: the target is a database on the run's embedded
 * PostgreSQL, which uses password (SCRAM) authentication, so a wrong password and a revoked user
 * are really refused.
 */
import { Client } from 'pg';
import { runCli } from '../support/cli';
import { canLogInToPostgres, createTestDatabase } from '../support/database';
import { startServerProcess, type ServerProcess } from '../support/server-process';

jest.setTimeout(120_000);

const CREATE = `CREATE ROLE "{{name}}" WITH LOGIN PASSWORD '{{password}}' VALID UNTIL '{{expiration}}';`;

async function roleExists(targetUrl: string, username: string): Promise<boolean> {
  const admin = new Client({ connectionString: targetUrl });
  await admin.connect();
  try {
    return (await admin.query('SELECT 1 FROM pg_roles WHERE rolname = $1', [username])).rowCount === 1;
  } finally {
    await admin.end();
  }
}

/** The Key/Value rows of a CLI table (after the header and its dashes). */
function tableRows(stdout: string): [string, string][] {
  const lines = stdout.trimEnd().split('\n');
  expect(lines.slice(0, 2).map((l) => l.split(/ {2,}/))).toEqual([
    ['Key', 'Value'],
    ['---', '-----'],
  ]);
  return lines.slice(2).map((l) => {
    const m = /^(\S+) {2,}(.*)$/.exec(l);
    if (!m) throw new Error(`not a table row: ${l}`);
    return [m[1], m[2]];
  });
}

describe('CLI: database engine creds and leases (e2e)', () => {
  let server: ServerProcess;
  let target: string;
  const root = 'hvs.clidbroot';
  const cli = async (...args: string[]) => {
    const res = await runCli(args, { VAULT_ADDR: server.address, VAULT_TOKEN: root });
    // Every command here must work: show its output when it does not.
    if (res.code !== 0) throw new Error(`secrethub ${args.join(' ')} exited ${res.code}:\n${res.stderr}${res.stdout}`);
    return res.stdout;
  };

  beforeAll(async () => {
    server = await startServerProcess({
      databaseUrl: await createTestDatabase(),
      args: ['--dev', '--dev-root-token-id', root],
      readyText: 'should NOT be used',
    });
    target = await createTestDatabase();
    const admin = new URL(target);
    await cli('secrets', 'enable', 'database');
    await cli(
      'write',
      'database/config/pg',
      'plugin_name=postgresql-database-plugin',
      `connection_url=postgresql://{{username}}:{{password}}@${admin.host}${admin.pathname}`,
      `username=${decodeURIComponent(admin.username)}`,
      `password=${decodeURIComponent(admin.password)}`,
      'allowed_roles=app',
    );
    await cli('write', 'database/roles/app', 'db_name=pg', `creation_statements=${CREATE}`, 'default_ttl=1h', 'max_ttl=2h');
  });
  afterAll(async () => server?.stop());

  it("read database/creds/<role>: Vault's table (lease rows first) and JSON shape; the users log in, a wrong password does not", async () => {
    const rows = tableRows(await cli('read', 'database/creds/app'));
    expect(rows.map(([k]) => k)).toEqual(['lease_id', 'lease_duration', 'lease_renewable', 'password', 'username']);
    const table = Object.fromEntries(rows);
    expect(table).toMatchObject({
      lease_id: expect.stringMatching(/^database\/creds\/app\/\S+$/),
      lease_duration: '1h',
      lease_renewable: 'true',
      username: expect.stringMatching(/^v-app-/),
    });
    expect(await canLogInToPostgres(target, table.username, table.password)).toBe(true);
    expect(await canLogInToPostgres(target, table.username, 'Wrong-password-0123456789')).toBe(false);

    const json = JSON.parse(await cli('read', '-format=json', 'database/creds/app'));
    expect(Object.keys(json)).toEqual(['request_id', 'lease_id', 'lease_duration', 'renewable', 'data', 'warnings', 'mount_type']);
    expect(json).toMatchObject({
      request_id: expect.any(String),
      lease_id: expect.stringMatching(/^database\/creds\/app\//),
      lease_duration: 3600,
      renewable: true,
      warnings: null,
      mount_type: 'database',
    });
    expect(Object.keys(json.data).sort()).toEqual(['password', 'username']);
    expect(json.data.username).not.toBe(table.username);
    expect(await canLogInToPostgres(target, json.data.username, json.data.password)).toBe(true);

    // -field prints the bare value, as Vault's.
    expect((await cli('read', '-field=username', 'database/creds/app')).trim()).toMatch(/^v-app-/);

    // Whatever this test created is revoked by prefix; no user of the role is left.
    await cli('lease', 'revoke', '-prefix', 'database/creds/app/');
    for (const name of [table.username, json.data.username]) expect(await roleExists(target, name)).toBe(false);
  });

  it('lease renew, lookup and revoke: the revoked user can no longer log in and is dropped', async () => {
    const creds = JSON.parse(await cli('read', '-format=json', 'database/creds/app'));
    const leaseId: string = creds.lease_id;
    const { username, password } = creds.data as { username: string; password: string };
    expect(await canLogInToPostgres(target, username, password)).toBe(true);

    // As Vault's `lease renew`: the lease rows, the duration printed as a Go duration.
    expect(JSON.parse(await cli('lease', 'renew', '-format=json', leaseId))).toMatchObject({ lease_id: leaseId, lease_duration: 3600, renewable: true });
    expect(tableRows(await cli('lease', 'renew', '-increment=30m', leaseId))).toEqual([
      ['lease_id', leaseId],
      ['lease_duration', '30m'],
      ['lease_renewable', 'true'],
    ]);

    const lookup = Object.fromEntries(tableRows(await cli('lease', 'lookup', leaseId)));
    expect(lookup).toMatchObject({ id: leaseId, renewable: 'true', revoked: 'false', ttl: expect.stringMatching(/^(29m\d{1,2}s|30m)$/) });
    expect(Date.parse(lookup.expire_time) - Date.parse(lookup.last_renewal)).toBeGreaterThan(1790_000);
    expect(Date.parse(lookup.issue_time)).toBeLessThanOrEqual(Date.parse(lookup.last_renewal));

    expect((await cli('lease', 'revoke', leaseId)).trim()).toBe('All revocation operations queued successfully!');
    expect(await canLogInToPostgres(target, username, password)).toBe(false);
    expect(await roleExists(target, username)).toBe(false);
    expect(Object.fromEntries(tableRows(await cli('lease', 'lookup', leaseId)))).toMatchObject({
      id: leaseId,
      revoked: 'true',
      renewable: 'false',
      ttl: '0s',
      expire_time: '<nil>',
    });
    const renewAgain = await runCli(['lease', 'renew', leaseId], { VAULT_ADDR: server.address, VAULT_TOKEN: root });
    expect([renewAgain.code, renewAgain.stderr.includes('lease not found or lease is not renewable')]).toEqual([2, true]);
  });
});
