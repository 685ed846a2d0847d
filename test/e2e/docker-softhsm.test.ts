/**
 * The SoftHSM compose variant (docker/compose.softhsm.yaml) without a Docker engine: its files are
 * checked statically (what they name exists, the seal stanza is the documented one), and its
 * entrypoint runs here as the image would run it, with SoftHSM: the first start initialises the
 * token and the server waits for sys/init (recovery keys); the second start finds the token, does
 * not initialise it again and auto-unseals. Neither PIN reaches the server's output.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseHcl } from '../../src/config/hcl';
import { sealConfigFrom } from '../../src/config/seal-config';
import { createTestDatabase } from '../support/database';
import { call } from '../support/http';
import { freePort } from '../support/server-process';
import { describeWithSoftHsm } from '../support/softhsm';
import { until } from '../support/wait';

const ROOT = join(__dirname, '..', '..');
const DOCKER = join(ROOT, 'docker');
const read = (name: string) => readFileSync(join(DOCKER, name), 'utf8');

describe('docker/compose.softhsm.yaml (static)', () => {
  it('builds Dockerfile.softhsm, mounts server-softhsm.hcl and a token volume, and needs both PINs', () => {
    const compose = read('compose.softhsm.yaml');
    expect(compose).toMatch(/dockerfile: docker\/Dockerfile\.softhsm/);
    expect(compose).toMatch(/- \.\/server-softhsm\.hcl:\/etc\/secrethub\/server\.hcl:ro/);
    expect(compose).toMatch(/- hsm-tokens:\/var\/lib\/secrethub-hsm/);
    expect(compose).toMatch(/^ {2}hsm-tokens:$/m);
    expect(compose).toMatch(/HSM_PIN: \$\{HSM_PIN:\?/);
    expect(compose).toMatch(/HSM_SO_PIN: \$\{HSM_SO_PIN:\?/);
  });

  it('Dockerfile.softhsm copies files that exist, builds pkcs11js and installs softhsm2', () => {
    const dockerfile = read('Dockerfile.softhsm');
    const sources = [...dockerfile.matchAll(/^COPY (?!--from)(.+) \S+$/gm)].flatMap((m) => (m[1] as string).split(' '));
    expect(sources.length).toBeGreaterThan(3);
    for (const source of sources) expect(existsSync(join(ROOT, source))).toBe(true);
    expect(dockerfile).toMatch(/apt-get install -y --no-install-recommends python3 make g\+\+/);
    expect(dockerfile).toMatch(/require\('pkcs11js'\)/);
    expect(dockerfile).toMatch(/apt-get install -y --no-install-recommends softhsm2/);
    expect(dockerfile).toMatch(/ENV SOFTHSM2_CONF=\/etc\/softhsm\/secrethub\.conf/);
    expect(dockerfile).toMatch(/directories\.tokendir = \/var\/lib\/secrethub-hsm\/tokens/);
    expect(dockerfile).toMatch(/ENTRYPOINT \["\/usr\/local\/bin\/softhsm-entrypoint\.sh"\]/);
  });

  it('server-softhsm.hcl holds the documented seal stanza', () => {
    // Read as the server reads it: the PIN from the environment, not the file.
    expect(sealConfigFrom(parseHcl(read('server-softhsm.hcl')), { HSM_PIN: 'from-env' })).toEqual({
      active: {
        type: 'pkcs11',
        lib: '/usr/lib/softhsm/libsofthsm2.so',
        tokenLabel: 'secrethub',
        pin: 'from-env',
        keyLabel: 'secrethub-root',
        rsaOaepHash: 'sha256',
        generateKey: true,
      },
    });
  });
});

describeWithSoftHsm('docker/softhsm-entrypoint.sh with SoftHSM (no Docker)', () => {
  const PIN = 'entry-pin-5521';
  const SO_PIN = 'entry-so-5521';
  let dir: string;
  let child: ChildProcess | undefined;

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'secrethub-entrypoint-'));
    mkdirSync(join(dir, 'tokens'), { mode: 0o700 });
    writeFileSync(join(dir, 'softhsm2.conf'), `directories.tokendir = ${join(dir, 'tokens')}\nobjectstore.backend = file\nlog.level = ERROR\n`);
  });

  afterEach(async () => {
    if (child && child.exitCode === null) {
      const exited = new Promise((r) => child!.once('exit', r));
      child.kill('SIGTERM');
      await exited;
    }
    child = undefined;
  });

  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  /** The entrypoint as the image runs it (WORKDIR = the checkout), with server-softhsm.hcl on a local port. */
  async function start(databaseUrl: string): Promise<{ address: string; output: () => string }> {
    const port = await freePort();
    const config = join(dir, 'server.hcl');
    writeFileSync(config, read('server-softhsm.hcl').replace('0.0.0.0:8200', `127.0.0.1:${port}`));
    const env: Record<string, string> = {
      ...(process.env as Record<string, string>),
      SOFTHSM2_CONF: join(dir, 'softhsm2.conf'),
      HSM_PIN: PIN,
      HSM_SO_PIN: SO_PIN,
    };
    env.DATABASE_URL = databaseUrl;
    child = spawn('sh', [join(DOCKER, 'softhsm-entrypoint.sh'), 'server', '--config', config, '--data-dir', join(dir, 'data')], { cwd: ROOT, env });
    let out = '';
    child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr?.on('data', (d: Buffer) => (out += d.toString()));
    const address = `http://127.0.0.1:${port}`;
    await until(async () => (await call(address, 'GET', 'sys/seal-status').catch(() => undefined))?.status === 200, 60_000);
    return { address, output: () => out };
  }

  it('initialises the token once; the server is initialised with recovery keys, then auto-unseals on the next start', async () => {
    const url = await createTestDatabase();
    const first = await start(url);
    expect(first.output()).toContain("softhsm: initialising token 'secrethub'");
    const init = await call(first.address, 'PUT', 'sys/init', { body: { recovery_shares: 1, recovery_threshold: 1 } });
    expect(init.status).toBe(200);
    expect(init.body.recovery_keys).toHaveLength(1);
    const tokens = readdirSync(join(dir, 'tokens'));
    expect(tokens).toHaveLength(1);
    const firstOutput = first.output();
    child!.kill('SIGTERM');
    await new Promise((r) => child!.once('exit', r));

    const second = await start(url);
    await until(async () => (await call(second.address, 'GET', 'sys/health')).status === 200, 30_000);
    expect(second.output()).toContain("softhsm: token 'secrethub' exists");
    expect(second.output()).not.toContain('initialising token');
    expect(readdirSync(join(dir, 'tokens'))).toEqual(tokens);
    for (const out of [firstOutput, second.output()]) {
      expect(out).not.toContain(PIN);
      expect(out).not.toContain(SO_PIN);
    }
  }, 120_000);
});
