/**
 * kill -9 in the middle of keyring rotation and of rekey: after a restart exactly one consistent
 * key set works and every stored value still decrypts.
 */
import { openDatabase } from '../../src/database/data-source';
import { ALL_ENTITIES } from '../../src/entities';
import { kernelSecretLocation } from '../../src/kernel/kernel-secrets.repository';
import { openTestKernel } from '../support/kernel';
import { createTestDatabase } from '../support/database';
import { call } from '../support/http';
import { startServerProcess, type ServerProcess } from '../support/server-process';
import { until } from '../support/wait';

jest.setTimeout(240_000);

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function unseal(a: string, keys: string[]): Promise<{ sealed: boolean; error?: string }> {
  await call(a, 'PUT', 'sys/unseal', { body: { reset: true } });
  let last: { sealed: boolean; error?: string } = { sealed: true };
  for (const key of keys) {
    const res = await call(a, 'PUT', 'sys/unseal', { body: { key } });
    last = res.status === 200 ? { sealed: res.body.sealed } : { sealed: true, error: res.body.errors?.[0] };
    if (res.status !== 200) break;
  }
  return last;
}

/** Opens the database directly with the shares and decrypts every ciphertext column. */
async function decryptEverything(url: string, keys: string[]): Promise<number> {
  const { dataSource } = await openDatabase(url, { poolSize: 2, entities: ALL_ENTITIES });
  const k = await openTestKernel({ dataSource, url });
  try {
    for (const key of keys) await k.seal.submitUnsealKey(key, false);
    expect(k.seal.isSealed).toBe(false);
    let count = 0;
    for (const row of await dataSource.query('SELECT name, value_ciphertext FROM kernel_secrets')) {
      k.barrier.decrypt(kernelSecretLocation(row.name), row.value_ciphertext);
      count++;
    }
    for (const row of await dataSource.query('SELECT token_hmac, accessor_ciphertext FROM tokens')) {
      k.barrier.decrypt(`tokens/accessor_ciphertext/${row.token_hmac.toString('hex')}`, row.accessor_ciphertext);
      count++;
    }
    const ring = await dataSource.query('SELECT active_term FROM barrier_keyring');
    expect(ring[0].active_term).toBe(k.barrier.keyStatus().term);
    return count;
  } finally {
    await k.close();
  }
}

describe('crash safety (e2e, kill -9)', () => {
  let server: ServerProcess | undefined;
  afterEach(async () => server?.stop());

  it('kill -9 during keyring rotation: one keyring, every value readable', async () => {
    const url = await createTestDatabase();
    server = await startServerProcess({ databaseUrl: url });
    const init = (await call(server.address, 'PUT', 'sys/init', { body: { secret_shares: 3, secret_threshold: 2 } })).body;
    const keys = init.keys.slice(0, 2) as string[];
    expect((await unseal(server.address, keys)).sealed).toBe(false);

    for (let round = 0; round < 3; round++) {
      const a = server.address;
      let stop = false;
      let rotated = 0;
      const rotators = Array.from({ length: 3 }, async () => {
        while (!stop) if ((await call(a, 'PUT', 'sys/rotate', { token: init.root_token }).catch(() => undefined))?.status === 204) rotated++;
      });
      // At least one rotation answered (a loaded machine may take longer than the random delay), then a random point.
      await until(async () => rotated > 0, 30_000);
      await sleep(Math.floor(Math.random() * 400));
      await server.kill9();
      stop = true;
      await Promise.all(rotators);

      server = await startServerProcess({ databaseUrl: url });
      expect((await unseal(server.address, keys)).sealed).toBe(false);
      const status = await call(server.address, 'GET', 'sys/key-status', { token: init.root_token });
      expect(status.status).toBe(200);
      expect(status.body.data.term).toBeGreaterThan(1);
    }
    await server.stop();
    server = undefined;
    expect(await decryptEverything(url, keys)).toBeGreaterThanOrEqual(2);
  });

  it('kill -9 during rekey: exactly one share set unseals, and it opens every value', async () => {
    const url = await createTestDatabase();
    server = await startServerProcess({ databaseUrl: url });
    const init = (await call(server.address, 'PUT', 'sys/init', { body: { secret_shares: 3, secret_threshold: 2 } })).body;
    let confirmed = init.keys.slice(0, 2) as string[];
    let completed = 0;
    expect((await unseal(server.address, confirmed)).sealed).toBe(false);

    for (let round = 0; round < 3; round++) {
      const a = server.address;
      let pending: string[] | undefined;
      let stop = false;
      const rekeyLoop = (async () => {
        while (!stop) {
          try {
            await call(a, 'DELETE', 'sys/rekey/init', { token: init.root_token });
            const nonce = (
              await call(a, 'PUT', 'sys/rekey/init', { token: init.root_token, body: { secret_shares: 3, secret_threshold: 2, require_verification: true } })
            ).body.nonce;
            let res;
            for (const key of confirmed) res = await call(a, 'PUT', 'sys/rekey/update', { body: { key, nonce } });
            if (!res?.body?.keys) continue;
            pending = (res.body.keys as string[]).slice(0, 2);
            const vnonce = res.body.verification_nonce;
            for (const key of pending) res = await call(a, 'PUT', 'sys/rekey/verify', { body: { key, nonce: vnonce } });
            if (res?.body?.complete) {
              completed++;
              confirmed = pending;
              pending = undefined;
            }
          } catch {
            return;
          }
        }
      })();
      // The first round lets one rekey complete (a loaded machine may need longer than the random delay), then a random point.
      if (round === 0) await until(async () => completed > 0, 60_000);
      await sleep(100 + Math.floor(Math.random() * 500));
      await server.kill9();
      stop = true;
      await rekeyLoop;

      server = await startServerProcess({ databaseUrl: url });
      const withConfirmed = await unseal(server.address, confirmed);
      if (withConfirmed.sealed) {
        expect(withConfirmed.error).toBe('unseal failed, invalid key');
        expect(pending).toBeDefined();
        expect((await unseal(server.address, pending as string[])).sealed).toBe(false);
        confirmed = pending as string[];
      } else if (pending) {
        await call(server.address, 'PUT', 'sys/seal', { token: init.root_token });
        expect(await unseal(server.address, pending)).toEqual({ sealed: true, error: 'unseal failed, invalid key' });
        expect((await unseal(server.address, confirmed)).sealed).toBe(false);
      }
    }
    expect(completed).toBeGreaterThan(0);
    await server.stop();
    server = undefined;
    expect(await decryptEverything(url, confirmed)).toBeGreaterThanOrEqual(2);
  });
});
