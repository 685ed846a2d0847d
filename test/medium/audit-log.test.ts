/**
 * The database audit device on a real kernel and PostgreSQL: append-only guards, the unseal check,
 * a chain that verifies offline, and each tampering case (done as a superuser with the guards off)
 * reported by the verifier at its exact sequence number.
 */
import { readFileSync } from 'node:fs';
import { verifyAuditExport } from '../../src/audit/verify';
import { exportThroughApi, openAuditedKernel, tamper, verifyThroughApi, type Call } from '../support/audit';
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

  it('refuses to unseal while a guard trigger is missing, not ALWAYS, or would let a change through', async () => {
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

    // Guards that are there by name but would let a change through.
    const [{ body }] = await k.dataSource.query("SELECT prosrc AS body FROM pg_proc WHERE proname = 'audit_append_only'");
    const setBody = (b: string) => k!.dataSource.query(`CREATE OR REPLACE FUNCTION audit_append_only() RETURNS trigger LANGUAGE plpgsql AS $fn$${b}$fn$`);
    await setBody('BEGIN RETURN OLD; END');
    await expect(k.seal.submitUnsealKey(key, false)).rejects.toThrow(/audit_logs\.audit_no_change \(calls another function body\)/);
    await setBody(body);
    const redefine = async (definition: string) => {
      await k!.dataSource.query('DROP TRIGGER audit_no_change ON audit_checkpoints');
      await k!.dataSource.query(`CREATE TRIGGER audit_no_change ${definition} ON audit_checkpoints FOR EACH ROW EXECUTE FUNCTION audit_append_only()`);
      await k!.dataSource.query('ALTER TABLE audit_checkpoints ENABLE ALWAYS TRIGGER audit_no_change');
    };
    for (const weakened of ['BEFORE UPDATE', 'BEFORE UPDATE OF tree_size OR DELETE', 'AFTER UPDATE OR DELETE']) {
      await redefine(weakened);
      await expect(k.seal.submitUnsealKey(key, false)).rejects.toThrow(/audit_checkpoints\.audit_no_change \(fires on other events or conditions\)/);
    }
    await k.dataSource.query('DROP TRIGGER audit_no_change ON audit_checkpoints');
    await k.dataSource.query(
      'CREATE TRIGGER audit_no_change BEFORE UPDATE OR DELETE ON audit_checkpoints FOR EACH ROW WHEN (false) EXECUTE FUNCTION audit_append_only()',
    );
    await k.dataSource.query('ALTER TABLE audit_checkpoints ENABLE ALWAYS TRIGGER audit_no_change');
    await expect(k.seal.submitUnsealKey(key, false)).rejects.toThrow(/audit_checkpoints\.audit_no_change \(fires on other events or conditions\)/);
    await redefine('BEFORE UPDATE OR DELETE');
    expect(k.seal.isSealed).toBe(true);
    await k.seal.submitUnsealKey(key, false);
    expect(k.seal.isSealed).toBe(false);
    // The restored guards refuse again.
    expect((await call('PUT', 'sys/audit-log/checkpoints')).status).toBe(200);
    await expect(k.dataSource.query('DELETE FROM audit_checkpoints')).rejects.toThrow(/append-only: DELETE on audit_checkpoints/);
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

  it('keeps rows up to a page inline and uncompressed; larger ones are still compressed (decision 89)', async () => {
    let call: Call;
    ({ k, call } = await openAuditedKernel({ databaseDevice: true }));
    // Map keys stay clear in entries: a long, repetitive key makes an entry PostgreSQL would otherwise compress.
    expect((await call('PUT', 'secret/data/wide', { data: { ['k'.repeat(3000)]: 'v' } })).status).toBe(200);
    expect((await call('PUT', 'secret/data/wider', { data: { ['k'.repeat(12000)]: 'v' } })).status).toBe(200);
    const options: { reloptions: string[] | null }[] = await k.dataSource.query(
      "SELECT c.reloptions FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid WHERE i.inhparent = 'audit_logs'::regclass",
    );
    expect(options.length).toBeGreaterThan(0);
    for (const o of options) expect(o.reloptions).toContain('toast_tuple_target=8160');
    const rows: { path: string; raw: number; stored: number }[] = await k.dataSource.query(
      "SELECT secret_path AS path, octet_length(entry_bytes) AS raw, pg_column_size(entry_bytes) AS stored FROM audit_logs WHERE secret_path IN ('secret/data/wide', 'secret/data/wider') AND event_type = 'request' ORDER BY sequence_number",
    );
    expect(rows.map((r) => r.path)).toEqual(['secret/data/wide', 'secret/data/wider']);
    expect(rows[0].raw).toBeGreaterThan(3000);
    expect(rows[0].stored).toBe(rows[0].raw + 4);
    expect(rows[1].stored).toBeLessThan(rows[1].raw / 2);
    expect(await verifyThroughApi(call)).toMatchObject({ ok: true });
  });

  it('a body that does not parse, a bad wrap TTL and ?help=1 are audited, and are 500s when nothing can record them', async () => {
    let call: Call;
    ({ k, call } = await openAuditedKernel({ databaseDevice: true }));
    const refused = [
      { send: () => call('PUT', 'secret/data/app', '{"data": {'), status: 400, operation: 'update' },
      { send: () => call('GET', 'secret/data/app', undefined, undefined, { headers: { 'x-vault-wrap-ttl': 'soon' } }), status: 400, operation: 'read' },
      { send: () => call('GET', 'secret/data/app?help=1'), status: 200, operation: 'help' },
    ];
    for (const { send, status, operation } of refused) {
      const res = await send();
      expect(res.status).toBe(status);
      const rows: { event_type: string; operation: string; correlation_id: string }[] = await k.dataSource.query(
        'SELECT event_type, operation, correlation_id FROM audit_logs ORDER BY sequence_number DESC LIMIT 2',
      );
      expect(rows.map((r) => [r.event_type, r.operation])).toEqual([
        ['response', operation],
        ['request', operation],
      ]);
      expect(rows[0].correlation_id).toBe(res.headers['x-request-id']);
    }
    await k.dataSource.query('ALTER TABLE audit_logs ADD CONSTRAINT audit_unwritable CHECK (false) NOT VALID');
    for (const { send } of refused) expect((await send()).json).toEqual({ errors: ['internal error'] });
  });

  it('checkpoints are served in pages, oldest first, and an export holds every one, the newest included', async () => {
    let call: Call;
    ({ k, call } = await openAuditedKernel({ databaseDevice: true }));
    const sizes: number[] = [];
    for (let i = 0; i < 5; i++) {
      await traffic(call, 1);
      sizes.push((await call('PUT', 'sys/audit-log/checkpoints')).json.data.tree_size);
    }
    const first = await call('GET', 'sys/audit-log/checkpoints?limit=2');
    expect(first.json.data.checkpoints.map((c: { tree_size: number }) => c.tree_size)).toEqual(sizes.slice(0, 2));
    const last = await call('GET', `sys/audit-log/checkpoints?after=${sizes[3]}&limit=2`);
    expect(last.json.data.checkpoints.map((c: { tree_size: number }) => c.tree_size)).toEqual([sizes[4]]);
    expect((await call('GET', 'sys/audit-log/checkpoints?limit=0')).status).toBe(400);
    const exported = await exportThroughApi(call, 2);
    expect(
      exported
        .split('\n')
        .filter((l) => l.startsWith('{"kind":"checkpoint"'))
        .map((l) => JSON.parse(l).tree_size),
    ).toEqual(sizes);
    const publicKeyPem = (await call('GET', 'sys/audit-log/public-key')).json.data.public_key as string;
    expect(verifyAuditExport({ exportText: exported, publicKeyPem })).toMatchObject({ ok: true, checkpointsVerified: 5 });
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
    const [req, res]: { tx: string }[] = await k.dataSource.query(
      "SELECT xmin::text AS tx FROM audit_logs WHERE secret_path = 'secret/data/pure' ORDER BY sequence_number DESC LIMIT 2",
    );
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
