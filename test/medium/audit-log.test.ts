/**
 * The database audit device on a real kernel and PostgreSQL: append-only guards, the unseal check,
 * a chain that verifies offline, and each tampering case (done as a superuser with the guards off)
 * reported by the verifier at its exact sequence number.
 */
import { readFileSync } from 'node:fs';
import { openAuditedKernel, tamper, verifyThroughApi, type Call } from '../support/audit';
import type { TestKernel } from '../support/kernel';

jest.setTimeout(120_000);

/** Writes and reads a few secrets: 2 entries per request. */
async function traffic(call: Call, n: number): Promise<void> {
  for (let i = 0; i < n; i++) {
    expect((await call('PUT', `secret/data/app${i}`, { data: { password: `pw-${i}` } })).status).toBe(200);
    expect((await call('GET', `secret/data/app${i}`)).status).toBe(200);
  }
}


describe('audit log (medium)', () => {
  let k: TestKernel | undefined;
  afterEach(async () => {
    await k?.close();
    k = undefined;
  });

  it('refuses UPDATE, DELETE and TRUNCATE on the log, its partitions and checkpoints, also under replication role', async () => {
    let call: Call;
    ({ k, call } = await openAuditedKernel({ databaseDevice: true }));
    await traffic(call, 2);
    await call('PUT', 'sys/audit-log/checkpoints');
    const [partition] = await k.audit.log.partitions();
    expect(partition).toMatch(/^audit_logs_y\d{4}m\d{2}$/);
    const db = k.dataSource;
    const refused = async (sql: string) => expect(db.query(sql)).rejects.toThrow(/append-only/);
    for (const role of ['origin', 'replica']) {
      await db.query(`SET session_replication_role = ${role}`);
      await refused("UPDATE audit_logs SET operation = 'read' WHERE sequence_number = 1");
      await refused('DELETE FROM audit_logs WHERE sequence_number = 1');
      await refused('TRUNCATE audit_logs');
      await refused(`UPDATE ${partition} SET operation = 'read'`);
      await refused(`DELETE FROM ${partition}`);
      await refused(`TRUNCATE ${partition}`);
      await refused('UPDATE audit_checkpoints SET tree_size = 1');
      await refused('DELETE FROM audit_checkpoints');
      await refused('TRUNCATE audit_checkpoints');
    }
    await db.query('SET session_replication_role = origin');
    expect((await verifyThroughApi(call)).ok).toBe(true);
  });

  it('refuses to unseal while a guard trigger is missing or not ALWAYS', async () => {
    let call: Call;
    let key: string;
    ({ k, call, key } = await openAuditedKernel({ databaseDevice: true }));
    await traffic(call, 1);
    const [partition] = await k.audit.log.partitions();
    await k.seal.seal();
    await k.dataSource.query(`ALTER TABLE ${partition} ENABLE TRIGGER audit_no_truncate`);
    await expect(k.seal.submitUnsealKey(key, false)).rejects.toThrow(/append-only guards .*audit_no_truncate.*refusing to unseal/);
    expect(k.seal.isSealed).toBe(true);
    await k.dataSource.query(`ALTER TABLE ${partition} ENABLE ALWAYS TRIGGER audit_no_truncate`);
    await k.dataSource.query('DROP TRIGGER audit_no_change ON audit_checkpoints');
    await expect(k.seal.submitUnsealKey(key, false)).rejects.toThrow(/audit_checkpoints\.audit_no_change/);
    await k.dataSource.query('CREATE TRIGGER audit_no_change BEFORE UPDATE OR DELETE ON audit_checkpoints FOR EACH ROW EXECUTE FUNCTION audit_append_only()');
    await k.dataSource.query('ALTER TABLE audit_checkpoints ENABLE ALWAYS TRIGGER audit_no_change');
    await k.seal.submitUnsealKey(key, false);
    expect(k.seal.isSealed).toBe(false);
  });

  it('an untouched export verifies, checkpoints included; request and response entries are linked by request id', async () => {
    let call: Call;
    ({ k, call } = await openAuditedKernel({ databaseDevice: true }));
    await traffic(call, 5);
    await call('PUT', 'sys/audit-log/checkpoints');
    await traffic(call, 2);
    const report = await verifyThroughApi(call, readFileSync(k.auditConfig.checkpointFile, 'utf8'));
    expect(report).toMatchObject({ ok: true, firstSequence: 1 });
    expect(report.entries).toBeGreaterThanOrEqual(2 * (2 + 14));
    expect(report.checkpointsVerified).toBeGreaterThanOrEqual(1);
    const rows: { event_type: string; correlation_id: string; secret_path: string }[] = await k.dataSource.query(
      "SELECT event_type, correlation_id, secret_path FROM audit_logs WHERE secret_path = 'secret/data/app3' ORDER BY sequence_number",
    );
    expect(rows.map((r) => r.event_type)).toEqual(['request', 'response', 'request', 'response']);
    expect(rows[0].correlation_id).toBe(rows[1].correlation_id);
  });

  it('a pure read commits its request and response entries in one transaction; a write commits them one at a time', async () => {
    let call: Call;
    ({ k, call } = await openAuditedKernel({ databaseDevice: true }));
    expect((await call('PUT', 'secret/data/pure', { data: { v: 'x' } })).status).toBe(200);
    expect((await call('GET', 'secret/data/pure')).status).toBe(200);
    // A pure route whose handler fails: the request entry first, then the error, as for any refusal.
    expect((await call('GET', 'secret/data/absent')).status).toBe(404);
    const rows: { event_type: string; secret_path: string; operation: string; tx: string; correlation_id: string }[] = await k.dataSource.query(
      "SELECT event_type, secret_path, operation, xmin::text AS tx, correlation_id FROM audit_logs WHERE secret_path IN ('secret/data/pure', 'secret/data/absent') ORDER BY sequence_number",
    );
    expect(rows.map((r) => [r.secret_path, r.operation, r.event_type])).toEqual([
      ['secret/data/pure', 'update', 'request'],
      ['secret/data/pure', 'update', 'response'],
      ['secret/data/pure', 'read', 'request'],
      ['secret/data/pure', 'read', 'response'],
      ['secret/data/absent', 'read', 'request'],
      ['secret/data/absent', 'read', 'response'],
    ]);
    expect(rows[0].tx).not.toBe(rows[1].tx);
    expect(rows[2].tx).toBe(rows[3].tx);
    expect(rows[2].correlation_id).toBe(rows[3].correlation_id);
    expect(rows[4].tx).not.toBe(rows[5].tx);
    // A limited-use token's read spends a use before the handler: not deferred.
    const limited = (await call('POST', 'auth/token/create', { policies: ['root'], num_uses: 3 })).json.auth.client_token as string;
    expect((await call('GET', 'secret/data/pure', undefined, limited)).status).toBe(200);
    const [req, res]: { tx: string }[] = await k.dataSource.query("SELECT xmin::text AS tx FROM audit_logs WHERE secret_path = 'secret/data/pure' ORDER BY sequence_number DESC LIMIT 2");
    expect(req.tx).not.toBe(res.tx);
    expect(await verifyThroughApi(call)).toMatchObject({ ok: true });
  });

  describe('tampering, with the guards bypassed by a superuser, is reported at the exact sequence', () => {
    let call: Call;
    let key: string;
    beforeEach(async () => {
      ({ k, call, key } = await openAuditedKernel({ databaseDevice: true }));
      await traffic(call, 6); // sequences 1..28 or so
      await call('PUT', 'sys/audit-log/checkpoints');
    });

    it('modification', async () => {
      await tamper.modify(k!.dataSource, 7);
      expect((await verifyThroughApi(call)).problem).toMatchObject({ sequence: 7 });
    });

    it('deletion', async () => {
      await tamper.delete(k!.dataSource, 5);
      expect((await verifyThroughApi(call)).problem).toMatchObject({ sequence: 5 });
    });

    it('reordering', async () => {
      await tamper.swap(k!.dataSource, 4);
      expect((await verifyThroughApi(call)).problem).toMatchObject({ sequence: 4 });
    });

    it('tail truncation, against the shipped checkpoint file', async () => {
      const size = (await call('PUT', 'sys/audit-log/checkpoints')).json.data.tree_size;
      const trusted = readFileSync(k!.auditConfig.checkpointFile, 'utf8');
      const keep = 20;
      await tamper.truncate(k!.dataSource, keep);
      expect(size).toBeGreaterThan(keep);
      expect((await verifyThroughApi(call, trusted)).problem).toMatchObject({ sequence: keep + 1 });
    });

    it('rewrite of an entry with every later hash recomputed', async () => {
      await traffic(call, 2);
      await call('PUT', 'sys/audit-log/checkpoints');
      await k!.seal.seal();
      await tamper.rewrite(k!.dataSource, 6);
      await k!.seal.submitUnsealKey(key, false);
      const report = await verifyThroughApi(call, readFileSync(k!.auditConfig.checkpointFile, 'utf8'));
      expect(report.problem).toMatchObject({ sequence: 6, reason: expect.stringMatching(/differs from the one signed/) });
      // Only the rewritten entry is wrong: every link after it is consistent.
      expect(report.problem?.reason).not.toMatch(/previous_hash|hash mismatch/);
    });
  });
});

