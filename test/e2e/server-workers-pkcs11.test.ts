/**
 * `server --workers 2` under the PKCS#11 seal (SoftHSM2): every worker unseals itself with the HSM
 * after init; sys/seal on one seals both; recovery shares sent to either worker make one progress
 * and unseal both; a worker killed with -9 comes back unsealed.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ServerProcess } from '../support/server-process';
import { createSoftHsmToken, describeWithSoftHsm, SOFTHSM_LIB, type SoftHsmToken } from '../support/softhsm';
import { until } from '../support/wait';
import { fromBoth, fromEach, send, startNode, workerPids } from '../support/workers';

jest.setTimeout(240_000);

const PIN = 'e2e-workers-pin-7731';
const TOKEN = 'workers-e2e';

describeWithSoftHsm('server --workers 2 with the pkcs11 seal (e2e)', () => {
  let token: SoftHsmToken;
  let dir: string;
  let server: ServerProcess | undefined;

  beforeAll(() => {
    token = createSoftHsmToken({ label: TOKEN, pin: PIN, soPin: 'so-7731' });
    dir = mkdtempSync(join(tmpdir(), 'secrethub-workers-hsm-'));
  });

  afterAll(async () => {
    await server?.stop();
    token.cleanup();
    rmSync(dir, { recursive: true, force: true });
  });

  const bothUnsealed = async (port: number) => {
    const answers = await fromEach(port, 'GET', 'sys/seal-status');
    return answers.size === 2 && [...answers.values()].every((a) => a.body.sealed === false);
  };

  it('auto-unseals every worker; seal and recovery-key unseal are the node’s', async () => {
    const config = join(dir, 'server.hcl');
    writeFileSync(
      config,
      `seal "pkcs11" {\n  lib = "${SOFTHSM_LIB}"\n  token_label = "${TOKEN}"\n  pin = "${PIN}"\n  key_label = "seal"\n  generate_key = "true"\n}\n`,
    );
    const node = (server = await startNode({ args: ['--config', config], env: { SOFTHSM2_CONF: token.conf } }));
    const { port } = node;
    const init = await send(port, 'PUT', 'sys/init', { body: { recovery_shares: 3, recovery_threshold: 2 } });
    expect(init.status).toBe(200);
    const recovery = init.body.recovery_keys as string[];
    const root = init.body.root_token as string;
    // The worker that initialised is unsealed at once; the other's auto-unseal loop finds the new seal.
    await until(() => bothUnsealed(port), 30_000);

    expect((await send(port, 'PUT', 'sys/seal', { token: root })).status).toBe(204);
    for (const answer of (await fromBoth(port, 'GET', 'sys/seal-status')).values()) expect(answer.body).toMatchObject({ sealed: true, t: 2, n: 3 });

    const first = await fromBoth(port, 'PUT', 'sys/unseal', { body: { key: recovery[0] } });
    const [a, b] = [...first.values()].map((answer) => answer.body);
    expect(a).toMatchObject({ sealed: true, progress: 1 });
    expect(b.nonce).toBe(a.nonce);
    expect((await send(port, 'PUT', 'sys/unseal', { body: { key: recovery[1] } })).body.sealed).toBe(false);
    for (const answer of (await fromBoth(port, 'GET', 'sys/mounts', { token: root })).values()) expect(answer.status).toBe(200);

    const before = workerPids(node.output());
    process.kill(before.get(2) as number, 'SIGKILL');
    await until(async () => workerPids(node.output()).get(2) !== before.get(2), 30_000);
    await until(() => bothUnsealed(port), 60_000);
    expect(node.output()).not.toContain(PIN);
  });
});
