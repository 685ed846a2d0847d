/**
 * The reseal job on a real database, for the columns the e2e crash test has no rows in (leases,
 * with source_ip as base64 text; cubbyhole): legacy rows open, are rewritten under
 * `table/column/row key`, and a value changed after the job read it is not overwritten.
 */
import { ResealJob, RESEAL_MARKER_PREFIX } from '../../src/kernel/barrier/reseal-job';
import { ResealRepository } from '../../src/kernel/barrier/reseal.repository';
import type { Ciphertext, SealedColumnDeclaration } from '../../src/kernel/barrier/sealed-column';
import { CUBBYHOLE_VALUE, ENGINE_OBJECT_VALUE, LEASE_CREDENTIALS, LEASE_SOURCE_IP, visitSealedColumns } from '../../src/kernel/barrier/sealed-columns';
import { CubbyholeRepository } from '../../src/kernel/cubbyhole/cubbyhole.repository';
import { KernelSecretsRepository } from '../../src/kernel/kernel-secrets.repository';
import { LeaseRepository } from '../../src/kernel/leases/lease.repository';
import { EngineObjectRepository } from '../../src/shared/engine-objects.repository';
import { openTestKernel, type TestKernel } from '../support/kernel';
import { until } from '../support/wait';

const log = { info: () => undefined, error: (m: string) => console.error(m) };

describe('reseal job (medium)', () => {
  let k: TestKernel;
  afterEach(async () => {
    await k?.close();
  });

  it('rewrites legacy lease and cubbyhole values; reads open both grammars; a changed value is left alone', async () => {
    k = await openTestKernel();
    const init = await k.seal.initialize({ secretShares: 1, secretThreshold: 1 });
    await k.seal.submitUnsealKey(init.keys[0].toString('hex'), false);
    // The kernel's own job runs after unseal on the leader, over tables with no legacy rows yet, and marks every legacy
    // column finished. Once it has, the marks are taken away (a server from before the job): only this test's runs touch the rows.
    const legacyColumns = visitSealedColumns((column) => column.legacy !== undefined).filter(Boolean).length;
    const markers = async () =>
      Number((await k.dataSource.query('SELECT count(*) AS n FROM kernel_secrets WHERE name LIKE $1', [`${RESEAL_MARKER_PREFIX}%`]))[0].n);
    await until(async () => (await markers()) === legacyColumns);
    await k.dataSource.query('DELETE FROM kernel_secrets WHERE name LIKE $1', [`${RESEAL_MARKER_PREFIX}%`]);
    const leases = new LeaseRepository(k.dataSource, k.barrier);
    const cubbyhole = new CubbyholeRepository(k.dataSource, k.barrier);
    const [mount] = await k.dataSource.query("SELECT uuid::text AS uuid FROM mounts WHERE path = 'cubbyhole/'");
    const ids = ['kv/creds/a/1', 'kv/creds/b/2', 'kv/creds/c/3'];
    for (const leaseId of ids)
      await leases.insert({
        leaseId,
        secretPath: 'kv/creds/x',
        mountUuid: mount.uuid,
        engineType: 'kv',
        tokenHmac: null,
        displayName: '',
        issuedAt: new Date(),
        expiresAt: new Date(Date.now() + 3_600_000),
        maxExpiresAt: new Date(Date.now() + 3_600_000),
        ttlSeconds: 3600,
        renewable: true,
        internal: { user: leaseId },
        engineMetadata: {},
        sourceIp: '192.0.2.7',
        correlationId: null,
      });
    const [{ token_hmac: tokenHmac }] = await k.dataSource.query('SELECT token_hmac FROM tokens LIMIT 1');
    await cubbyhole.put(tokenHmac, 'a/b', Buffer.from('note'));
    await cubbyhole.put(tokenHmac, 'z', Buffer.from('already current'));
    const objects = new EngineObjectRepository(k.dataSource, k.barrier);
    for (const name of ['n1', 'n2', 'n3']) await objects.put(mount.uuid, 'kind', name, { name });

    // What a server before this change wrote: the legacy grammars.
    for (const leaseId of ids) {
      await k.dataSource.query('UPDATE leases SET credentials_ciphertext = $2, source_ip = $3 WHERE lease_id = $1', [
        leaseId,
        await k.barrier.encrypt(`leases/${leaseId}`, Buffer.from(JSON.stringify({ user: leaseId }))),
        (await k.barrier.encrypt(`leases/${leaseId}/source_ip`, Buffer.from('192.0.2.7'))).toString('base64'),
      ]);
    }
    await k.dataSource.query("UPDATE cubbyhole_entries SET value_ciphertext = $1 WHERE path = 'a/b'", [
      await k.barrier.encrypt(`cubbyhole/${tokenHmac.toString('hex')}/a/b`, Buffer.from('note')),
    ]);
    await k.dataSource.query('DELETE FROM kernel_secrets WHERE starts_with(name, $1)', [RESEAL_MARKER_PREFIX]);

    // Legacy rows read (fallback).
    const lease = await leases.get(ids[0]);
    expect(await leases.internalOf(lease!)).toEqual({ user: ids[0] });
    expect((await cubbyhole.get(tokenHmac, 'a/b'))?.toString()).toBe('note');

    // Keyset pages follow the primary key (bytea and text; uuid and text), one row per page here.
    const rows = new ResealRepository(k.dataSource);
    const walk = async <K>(column: SealedColumnDeclaration<K>) => {
      const seen: K[] = [];
      for (let after: unknown[] | undefined, page = await rows.page(column, column.legacy!.scan, undefined, 1); page.length > 0;) {
        seen.push(page[0].key);
        after = page[0].primaryKey;
        page = await rows.page(column, column.legacy!.scan, after, 1);
      }
      return seen;
    };
    expect((await walk(CUBBYHOLE_VALUE)).map((key) => key.path)).toEqual(['a/b', 'z']);
    expect((await walk(ENGINE_OBJECT_VALUE)).map((key) => key.name)).toEqual(['n1', 'n2', 'n3']);
    expect(await walk(LEASE_SOURCE_IP)).toEqual(ids);

    // A value the job has read but not yet replaced changes meanwhile: the compare-and-set leaves it.
    const scan = LEASE_CREDENTIALS.legacy!.scan;
    const [first] = await rows.page(LEASE_CREDENTIALS, scan, undefined, 1);
    await k.dataSource.query('UPDATE leases SET credentials_ciphertext = $2 WHERE lease_id = $1', [
      first.key,
      await k.barrier.encrypt(LEASE_CREDENTIALS.location(first.key), Buffer.from(JSON.stringify({ user: 'changed' }))),
    ]);
    expect(
      await rows.replace(LEASE_CREDENTIALS, scan, first, (await k.barrier.encrypt(LEASE_CREDENTIALS.location(first.key), Buffer.from('{}'))) as Ciphertext),
    ).toBe(false);

    const outcomes = await new ResealJob(k.dataSource, k.barrier, new KernelSecretsRepository(k.dataSource, k.barrier), log).run();
    expect(outcomes).toEqual(
      expect.arrayContaining([
        { column: 'leases.credentials_ciphertext', resealed: 2, unreadable: 0, finished: true },
        { column: 'leases.source_ip', resealed: 3, unreadable: 0, finished: true },
        { column: 'cubbyhole_entries.value_ciphertext', resealed: 1, unreadable: 0, finished: true },
      ]),
    );
    // Strictly under the new locations now.
    for (const leaseId of ids) {
      const [row] = await k.dataSource.query('SELECT credentials_ciphertext, source_ip FROM leases WHERE lease_id = $1', [leaseId]);
      const internal = JSON.parse(k.barrier.decrypt(`leases/credentials_ciphertext/${leaseId}`, row.credentials_ciphertext).toString());
      expect(internal).toEqual({ user: leaseId === first.key ? 'changed' : leaseId });
      expect(k.barrier.decrypt(`leases/source_ip/${leaseId}`, Buffer.from(row.source_ip, 'base64')).toString()).toBe('192.0.2.7');
    }
    const [entry] = await k.dataSource.query("SELECT value_ciphertext FROM cubbyhole_entries WHERE path = 'a/b'");
    expect(k.barrier.decrypt(CUBBYHOLE_VALUE.location({ tokenHmac, path: 'a/b' }), entry.value_ciphertext).toString()).toBe('note');
    expect(LEASE_SOURCE_IP.location('x')).toBe('leases/source_ip/x');

    // Finished columns are marked, and a second run skips them.
    expect(await new ResealJob(k.dataSource, k.barrier, new KernelSecretsRepository(k.dataSource, k.barrier), log).run()).toEqual([]);
  });
});
