/**
 * Tampering with the audit log in PostgreSQL, as a superuser with the append-only guards off, found
 * by the real CLI against a real server: `secrethub audit export` then `secrethub audit verify`
 * exits 1 naming the exact sequence, for each case test/medium/audit-log.test.ts covers.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DataSource } from 'typeorm';
import { createDataSource } from '../../src/database/data-source';
import { ALL_ENTITIES } from '../../src/entities';
import type { VerifyReport } from '../../src/audit/verify';
import { tamper, withGuardsOff } from '../support/audit';
import { runCli } from '../support/cli';
import { createTestDatabase } from '../support/database';
import { call, initAndUnseal } from '../support/http';
import { startServerProcess, type ServerProcess } from '../support/server-process';

jest.setTimeout(240_000);

describe('audit log tampering (e2e)', () => {
  let server: ServerProcess | undefined;
  let db: DataSource | undefined;
  afterEach(async () => {
    await server?.stop();
    await db?.destroy();
  });

  it('secrethub audit verify passes on the untouched log and names the sequence of each tampering done in PostgreSQL', async () => {
    const url = await createTestDatabase();
    const dir = mkdtempSync(join(tmpdir(), 'secrethub-audit-tamper-'));
    const checkpointFile = join(dir, 'checkpoints.jsonl');
    // Checkpoints only when asked: each case's trusted checkpoints are exactly the ones it took.
    writeFileSync(join(dir, 'audit.hcl'), 'audit {\n  checkpoint_interval = "24h"\n}\n');
    const env = { SECRETHUB_AUDIT_FILE_DIR: join(dir, 'audit'), SECRETHUB_AUDIT_CHECKPOINT_FILE: checkpointFile };
    server = await startServerProcess({ databaseUrl: url, env, args: ['--config', join(dir, 'audit.hcl')] });
    const { rootToken, key } = await initAndUnseal(server.address);
    const api = (method: string, path: string, body?: unknown) => call(server!.address, method, path, { token: rootToken, body });
    const cli = (...args: string[]) => runCli(args, { VAULT_ADDR: server!.address, VAULT_TOKEN: rootToken });
    const seal = async () => expect((await api('PUT', 'sys/seal')).status).toBe(204);
    const unseal = async () => expect((await call(server!.address, 'PUT', 'sys/unseal', { body: { key } })).body.sealed).toBe(false);
    // 4 entries per round; every entry of it names secret/data/app<i> (the cases' bytes edits need "app").
    const traffic = async (rounds: number) => {
      for (let i = 0; i < rounds; i++) {
        expect((await api('PUT', `secret/data/app${i}`, { data: { password: `pw-${i}` } })).status).toBe(200);
        expect((await api('GET', `secret/data/app${i}`)).status).toBe(200);
      }
    };

    expect((await api('PUT', 'sys/audit/chain', { type: 'database' })).status).toBe(204);
    expect((await api('PUT', 'sys/mounts/secret', { type: 'kv', options: { version: '2' } })).status).toBe(204);
    await traffic(6);
    expect((await cli('audit', 'checkpoint')).stdout).toMatch(/Checkpoint at tree size \d+/);
    const keyFile = join(dir, 'audit.pem');
    writeFileSync(keyFile, (await cli('audit', 'public-key')).stdout);

    /** The log as exported now, verified against `trusted`: the text verdict and the JSON report. */
    const exportAndVerify = async (trusted: string) => {
      const exportFile = join(dir, 'export.jsonl');
      expect((await cli('audit', 'export', '--output', exportFile)).code).toBe(0);
      const verify = ['audit', 'verify', exportFile, '--public-key', keyFile, '--checkpoint', trusted];
      const text = await cli(...verify);
      const json = await cli(...verify, '--format', 'json');
      expect(json.code).toBe(text.code);
      return { text, report: JSON.parse(json.stdout) as VerifyReport };
    };
    /** Exit 1 naming `sequence` in text and JSON; gives the reason. */
    const failsAt = async (sequence: number, trusted = checkpointFile) => {
      const { text, report } = await exportAndVerify(trusted);
      expect(text.stdout).toContain(`Verification FAILED at sequence ${sequence}: `);
      expect(text.code).toBe(1);
      expect(report).toMatchObject({ ok: false, problem: { sequence } });
      return report.problem!.reason;
    };

    const untouched = await exportAndVerify(checkpointFile);
    expect(untouched.text.stdout).toMatch(/^Verified: \d+ entries \(sequences 1\.\.\d+\), 1 signed checkpoints\n$/);
    expect(untouched.text.code).toBe(0);
    expect(untouched.report).toMatchObject({ ok: true, firstSequence: 1, checkpointsVerified: 1 });

    const ds = (db = createDataSource(url, { poolSize: 2, entities: ALL_ENTITIES }));
    await ds.initialize();
    await ds.query('CREATE TABLE audit_logs_untouched AS SELECT * FROM audit_logs');
    const restore = () =>
      withGuardsOff(ds, async () => {
        await ds.query('DELETE FROM audit_logs WHERE sequence_number IN (SELECT sequence_number FROM audit_logs_untouched)');
        await ds.query('INSERT INTO audit_logs SELECT * FROM audit_logs_untouched');
      });

    // In increasing sequence: damage an undo left behind would be reported, at a lower sequence, by the next case.
    await tamper.swap(ds, 4);
    expect(await failsAt(4)).toBe('previous_hash does not link to entry 3');
    await restore();
    await tamper.delete(ds, 5);
    expect(await failsAt(5)).toMatch(/^missing entry/);
    await restore();
    await tamper.modify(ds, 7);
    expect(await failsAt(7)).toMatch(/^entry modified/);
    await restore();

    // Tail truncation, against the checkpoint file as shipped before it.
    const size = (await api('PUT', 'sys/audit-log/checkpoints')).body.data.tree_size as number;
    const shipped = join(dir, 'shipped.jsonl');
    writeFileSync(shipped, readFileSync(checkpointFile));
    const keep = 20;
    expect(size).toBeGreaterThan(keep);
    await tamper.truncate(ds, keep);
    expect(await failsAt(keep + 1, shipped)).toMatch(new RegExp(`^entry ${keep + 1} differs from the one signed in checkpoint at tree size \\d+$`));

    // Unseal reloads the writer's last checkpoint from the database (none since the truncation), so
    // the next checkpoint signs every leaf of the chain as it now stands.
    await seal();
    await unseal();
    await traffic(2);
    const signedBefore = readFileSync(checkpointFile, 'utf8').length;
    expect((await cli('audit', 'checkpoint')).code).toBe(0);
    const signed = join(dir, 'signed.jsonl');
    writeFileSync(signed, readFileSync(checkpointFile, 'utf8').slice(signedBefore));
    await seal();
    await tamper.rewrite(ds, 6);
    await unseal();
    const reason = await failsAt(6, signed);
    expect(reason).toMatch(/^entry 6 differs from the one signed/);
    // Only the rewritten entry is wrong: every link after it is consistent.
    expect(reason).not.toMatch(/previous_hash|hash mismatch/);
  });
});
