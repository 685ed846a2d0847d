/** The barrier on a real database: integrity, AAD binding, rotation, auto-rotation, nothing in clear. */
import { IntegrityError } from '../../src/crypto/aead';
import { kernelSecretLocation } from '../../src/kernel/kernel-secrets.repository';
import { TOKEN_HMAC_KEY_NAME } from '../../src/kernel/token/token-store.service';
import { openTestKernel, type TestKernel } from '../support/kernel';

async function initAndUnseal(k: TestKernel): Promise<{ rootToken: string; keys: Buffer[] }> {
  const init = await k.seal.initialize({ secretShares: 3, secretThreshold: 2 });
  await k.seal.submitUnsealKey(init.keys[0].toString('hex'), false);
  await k.seal.submitUnsealKey(init.keys[1].toString('base64'), false);
  expect(k.seal.isSealed).toBe(false);
  return { rootToken: init.rootToken, keys: init.keys };
}

describe('barrier (medium)', () => {
  let k: TestKernel;
  afterEach(async () => k?.close());

  it('stores nothing secret in clear: no root token, root key or token key anywhere in the database', async () => {
    k = await openTestKernel();
    const { rootToken } = await initAndUnseal(k);
    const dump = JSON.stringify(
      await k.dataSource.query(`SELECT 'seal' t, row_to_json(s)::text j FROM seal_config s UNION ALL SELECT 'ring', row_to_json(b)::text FROM barrier_keyring b
        UNION ALL SELECT 'sec', row_to_json(x)::text FROM kernel_secrets x UNION ALL SELECT 'tok', row_to_json(t)::text FROM tokens t`),
    );
    expect(dump).not.toContain(rootToken);
    expect(dump).not.toContain(rootToken.slice(4));
    const hmacKey = await k.dataSource.query('SELECT value_ciphertext FROM kernel_secrets WHERE name = $1', [TOKEN_HMAC_KEY_NAME]);
    expect(hmacKey[0].value_ciphertext[0]).toBe(1); // barrier ciphertext, version byte 1
    expect(await k.tokenStore.lookup(rootToken)).toMatchObject({ policies: ['root'] });
  });

  it('a flipped byte in a stored ciphertext fails with an integrity error', async () => {
    k = await openTestKernel();
    await initAndUnseal(k);
    await k.dataSource.query(
      `UPDATE kernel_secrets SET value_ciphertext = overlay(value_ciphertext placing decode(lpad(to_hex(get_byte(value_ciphertext, 30) # 1), 2, '0'), 'hex') from 31 for 1) WHERE name = $1`,
      [TOKEN_HMAC_KEY_NAME],
    );
    const [row] = await k.dataSource.query('SELECT value_ciphertext FROM kernel_secrets WHERE name = $1', [TOKEN_HMAC_KEY_NAME]);
    expect(() => k.barrier.decrypt(kernelSecretLocation(TOKEN_HMAC_KEY_NAME), row.value_ciphertext)).toThrow(IntegrityError);
    await k.seal.seal();
    // The next unseal cannot open the token store: it fails loudly rather than running with a wrong key.
    await expect(k.tokenStore.open()).rejects.toThrow();
  });

  it('a ciphertext copied to another row does not decrypt there', async () => {
    k = await openTestKernel();
    await initAndUnseal(k);
    const blob = await k.barrier.encrypt('tokens/accessor_ciphertext/aaaa', Buffer.from('accessor-a'));
    expect(k.barrier.decrypt('tokens/accessor_ciphertext/aaaa', blob).toString()).toBe('accessor-a');
    expect(() => k.barrier.decrypt('tokens/accessor_ciphertext/bbbb', blob)).toThrow(IntegrityError);
  });

  it('rotation adds a term; data written under every older term still reads, also after reseal', async () => {
    k = await openTestKernel();
    const { keys } = await initAndUnseal(k);
    const written: { term: number; blob: Buffer; value: string }[] = [];
    for (let i = 0; i < 4; i++) {
      const value = `value-${i}`;
      written.push({ term: k.barrier.keyStatus().term, blob: await k.barrier.encrypt(`t/v/${i}`, Buffer.from(value)), value });
      await k.barrier.rotate();
    }
    expect(k.barrier.keyStatus().term).toBe(5);
    await k.seal.seal();
    await k.seal.submitUnsealKey(keys[2].toString('hex'), false);
    await k.seal.submitUnsealKey(keys[0].toString('hex'), false);
    expect(k.barrier.keyStatus().term).toBe(5);
    written.forEach((w, i) => expect(k.barrier.decrypt(`t/v/${i}`, w.blob).toString()).toBe(w.value));
    expect(new Set(written.map((w) => w.blob.readUInt32BE(1)))).toEqual(new Set([1, 2, 3, 4]));
  });

  it('rotates automatically at the configured encryption count, and persists the counter', async () => {
    k = await openTestKernel({ maxEncryptionsPerTerm: 50 });
    await initAndUnseal(k);
    const start = k.barrier.keyStatus().term;
    const blobs: Buffer[] = [];
    for (let i = 0; i < 120; i++) blobs.push(await k.barrier.encrypt(`auto/${i}`, Buffer.from(String(i))));
    const end = k.barrier.keyStatus().term;
    expect(end).toBeGreaterThanOrEqual(start + 2);
    // No term encrypted more than the limit (the first term may carry the unseal margin and rotates at once).
    const perTerm = new Map<number, number>();
    for (const b of blobs) perTerm.set(b.readUInt32BE(1), (perTerm.get(b.readUInt32BE(1)) ?? 0) + 1);
    for (const count of perTerm.values()) expect(count).toBeLessThanOrEqual(50);
    blobs.forEach((b, i) => expect(k.barrier.decrypt(`auto/${i}`, b).toString()).toBe(String(i)));
    const usage = await k.dataSource.query('SELECT term, encryptions FROM barrier_term_usage ORDER BY term');
    expect(usage.length).toBe(end);
  });

  it('sys/rotate/config: a lower max_operations and an interval rotate; the server ceiling still applies; kept across unseals', async () => {
    k = await openTestKernel({ maxEncryptionsPerTerm: 50 });
    const { keys } = await initAndUnseal(k);
    expect(k.barrier.rotationConfig()).toEqual({ maxOperations: 3_865_470_566, intervalSeconds: 0, enabled: true });
    // The ceiling (50) is lower than any max_operations Vault allows: it still rules.
    await k.barrier.setRotationConfig({ maxOperations: 1_000_000, intervalSeconds: 86400, enabled: true });
    const start = k.barrier.keyStatus().term;
    for (let i = 0; i < 60; i++) await k.barrier.encrypt(`cfg/${i}`, Buffer.from('x'));
    expect(k.barrier.keyStatus().term).toBeGreaterThan(start);
    // Time-based: a term as old as the interval is rotated at the next encryption.
    const term = k.barrier.keyStatus().term;
    const installed = k.barrier.keyStatus().installTime.getTime();
    const now = jest.spyOn(Date, 'now').mockReturnValue(installed + 86_399_000);
    try {
      await k.barrier.encrypt('cfg/before', Buffer.from('x'));
      expect(k.barrier.keyStatus().term).toBe(term);
      now.mockReturnValue(installed + 86_400_000);
      await k.barrier.encrypt('cfg/after', Buffer.from('x'));
      expect(k.barrier.keyStatus().term).toBe(term + 1);
    } finally {
      now.mockRestore();
    }
    // Disabled: no time-based rotation, only the ceiling.
    await k.barrier.setRotationConfig({ maxOperations: 1_000_000, intervalSeconds: 86400, enabled: false });
    const later = jest.spyOn(Date, 'now').mockReturnValue(Date.now() + 10 * 86_400_000);
    try {
      const t = k.barrier.keyStatus().term;
      await k.barrier.encrypt('cfg/disabled', Buffer.from('x'));
      expect(k.barrier.keyStatus().term).toBe(t);
    } finally {
      later.mockRestore();
    }
    await k.seal.seal();
    await k.seal.submitUnsealKey(keys[0].toString('hex'), false);
    await k.seal.submitUnsealKey(keys[1].toString('hex'), false);
    expect(k.barrier.rotationConfig()).toEqual({ maxOperations: 1_000_000, intervalSeconds: 86400, enabled: false });
  });
});
