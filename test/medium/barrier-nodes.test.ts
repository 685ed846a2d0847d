/**
 * Two barriers on one database, as on two nodes, with no cluster bus between them: a value under a
 * term the other node rotated to opens after one keyring reload (single-flight); a rotation on a
 * node whose keyring is stale lands on top of the stored one; a root key replaced on one node
 * (rekey under an auto seal) is picked up by the other through the seal.
 */
import type { DataSource } from 'typeorm';
import { Barrier } from '../../src/kernel/barrier/barrier';
import { BarrierRepository } from '../../src/kernel/barrier/barrier.repository';
import { type Ciphertext, declareFixedLocation, SealedColumn } from '../../src/kernel/barrier/sealed-column';
import { randomKey } from '../../src/crypto/random';
import { openDatabase } from '../../src/database/data-source';
import { ALL_ENTITIES } from '../../src/entities';
import { openTestKernel, type TestKernel } from '../support/kernel';

const COLUMN = declareFixedLocation('test', 'value', 'test/value/1');

describe('barrier on two nodes (medium)', () => {
  let k: TestKernel;
  let other: DataSource;
  afterEach(async () => {
    await other?.destroy();
    await k?.close();
  });

  /** Node A is a kernel; node B a bare barrier on its own connections, opened with A's root key. */
  async function twoNodes(): Promise<{ a: Barrier; b: Barrier; bRepository: BarrierRepository }> {
    k = await openTestKernel();
    const init = await k.seal.initialize({ secretShares: 1, secretThreshold: 1 });
    await k.seal.submitUnsealKey(init.keys[0].toString('hex'), false);
    ({ dataSource: other } = await openDatabase(k.url, { poolSize: 2, entities: ALL_ENTITIES }));
    const bRepository = new BarrierRepository(other);
    const b = new Barrier(bRepository, { maxEncryptionsPerTerm: 1_000_000, log: () => undefined });
    await b.unseal(k.barrier.currentRootKey());
    return { a: k.barrier, b, bRepository };
  }

  it('opens a value under a term another node rotated to, reloading the keyring once for a burst', async () => {
    const { a, b, bRepository } = await twoNodes();
    const term = await a.rotate();
    expect(b.keyStatus().term).toBe(term - 1);
    const blob = (await a.encrypt('test/value/1', Buffer.from('after rotation'))) as Ciphertext;
    const load = jest.spyOn(bRepository, 'load');
    const opened = await Promise.all(Array.from({ length: 20 }, () => new SealedColumn(COLUMN, b).open(undefined, blob)));
    expect(opened.map((p) => p.toString())).toEqual(Array(20).fill('after rotation'));
    expect(load).toHaveBeenCalledTimes(1);
    // Encryption moved to the new term with it.
    expect(b.keyStatus().term).toBe(term);
    expect(b.decrypt('test/value/1', await b.encrypt('test/value/1', Buffer.from('x'))).toString()).toBe('x');
    b.seal();
  });

  it('a rotation on a node whose keyring is stale lands on top of the stored keyring', async () => {
    const { a, b } = await twoNodes();
    expect(await a.rotate()).toBe(2);
    expect(await b.rotate()).toBe(3);
    const blob = (await b.encrypt('test/value/1', Buffer.from('from b'))) as Ciphertext;
    expect((await new SealedColumn(COLUMN, a).open(undefined, blob)).toString()).toBe('from b');
    expect(a.keyStatus().term).toBe(3);
    b.seal();
  });

  it('a root key replaced on another node is read again through the seal', async () => {
    const { a, b } = await twoNodes();
    const newRootKey = randomKey();
    b.useStoredRootKey(async () => Buffer.from(newRootKey));
    const repository = new BarrierRepository(k.dataSource);
    await a.changeRootKey(newRootKey, async (oldRootKey) => {
      const stored = await repository.load();
      const ciphertext = Barrier.reencryptKeyring(oldRootKey, newRootKey, stored!.ciphertext);
      await k.dataSource.transaction((m) => repository.replaceKeyringCiphertext(m, stored!.ciphertext, ciphertext));
      return ciphertext;
    });
    await a.rotate();
    const blob = (await a.encrypt('test/value/1', Buffer.from('under the new root key'))) as Ciphertext;
    expect((await new SealedColumn(COLUMN, b).open(undefined, blob)).toString()).toBe('under the new root key');
    expect(b.currentRootKey().equals(newRootKey)).toBe(true);
    // B's next rotation is written under the new root key: A (and a restart) can read it.
    await b.rotate();
    await a.reloadKeyring();
    expect(a.keyStatus().term).toBe(b.keyStatus().term);
    b.seal();
  });
});
