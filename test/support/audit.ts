/** Audit-log test helpers: a pipeline with audit on, the export, and superuser tampering (medium and e2e). */
import type { Writable } from 'node:stream';
import type { DataSource } from 'typeorm';
import { chainHash, frontierAppend, leafHash } from '../../src/crypto/audit-chain';
import { buildConfig, type AuditConfig } from '../../src/config/config';
import { RequestPipeline, type PipelineResponse } from '../../src/application/request-pipeline';
import { createLogger, type Logger } from '../../src/logger';
import type { PeerCertificate } from '../../src/framework/route';
import { buildExport, type ExportPage } from '../../src/audit/export-format';
import { verifyAuditExport, type VerifyReport } from '../../src/audit/verify';
import { openTestKernel, type TestKernel } from './kernel';

/** Extra request headers, the connection's address (default 192.0.2.10) and its TLS client certificate. */
export interface CallOptions {
  headers?: Record<string, string>;
  remoteAddress?: string;
  peerCertificate?: PeerCertificate;
}

/** The pipeline's answer with its body as text (`bytes`: a binary body as sent) and parsed JSON. */
export type Call = (
  method: string,
  url: string,
  body?: unknown,
  token?: string,
  options?: CallOptions,
) => Promise<Omit<PipelineResponse, 'body'> & { body?: string; bytes?: Buffer; json: Record<string, any> }>; // eslint-disable-line @typescript-eslint/no-explicit-any

/** The kernel's request pipeline with audit, wrapping and leases, as the server builds it (e.g. to put an HTTP listener in front). */
export function kernelPipeline(k: TestKernel, log: Logger = createLogger('error'), listener = buildConfig({}, {}, {}).listener): RequestPipeline {
  return new RequestPipeline({
    mounts: k.mounts,
    seal: k.seal,
    tokens: k.tokenStore,
    policies: k.policies,
    listener,
    log,
    audit: k.audit,
    wrapper: k.wrapper,
    leases: k.leases,
  });
}

export function auditedPipeline(k: TestKernel, rootToken: string, log: Logger = createLogger('error'), listener = buildConfig({}, {}, {}).listener): Call {
  const pipeline = kernelPipeline(k, log, listener);
  return async (method, url, body, token = rootToken, options = {}) => {
    const res = await pipeline.handle({
      method,
      url,
      headers: { 'x-vault-token': token, 'content-type': 'application/json', 'user-agent': 'medium-test', ...options.headers },
      body: body === undefined ? undefined : Buffer.isBuffer(body) ? body : Buffer.from(typeof body === 'string' ? body : JSON.stringify(body)),
      remoteAddress: options.remoteAddress ?? '192.0.2.10',
      peerCertificate: options.peerCertificate,
    });
    const isJson = String(res.headers['content-type'] ?? 'application/json').startsWith('application/json');
    const text = Buffer.isBuffer(res.body) ? res.body.toString('utf8') : res.body;
    return { ...res, body: text, bytes: Buffer.isBuffer(res.body) ? res.body : undefined, json: text && isJson ? JSON.parse(text) : {} };
  };
}

/**
 * A fresh kernel, initialised (one share) and unsealed, with an audited pipeline on the root token:
 * the database device first when asked, then KV v2 at `secret/`.
 */
export async function openAuditedKernel(
  options: { databaseDevice?: boolean; log?: Logger; audit?: Partial<AuditConfig>; auditStdout?: Writable } = {},
): Promise<{ k: TestKernel; call: Call; rootToken: string; key: string }> {
  const k = await openTestKernel({ log: options.log, audit: options.audit, auditStdout: options.auditStdout });
  const init = await k.seal.initialize({ secretShares: 1, secretThreshold: 1 });
  const key = init.keys[0].toString('hex');
  await k.seal.submitUnsealKey(key, false);
  const call = auditedPipeline(k, init.rootToken, options.log);
  if (options.databaseDevice) expect((await call('PUT', 'sys/audit/chain', { type: 'database' })).status).toBe(204);
  expect((await call('PUT', 'sys/mounts/secret', { type: 'kv', options: { version: '2' } })).status).toBe(204);
  return { k, call, rootToken: init.rootToken, key };
}

/** The export as `secrethub audit export` writes it, through the API (`checkpointPage`: checkpoints asked for per page, default the server's). */
export async function exportThroughApi(call: Call, checkpointPage?: number): Promise<string> {
  const limit = checkpointPage === undefined ? '' : `&limit=${checkpointPage}`;
  return buildExport(
    async (after) => (await call('GET', `sys/audit-log/export?after=${after}`)).json.data as ExportPage,
    async (after) => (await call('GET', `sys/audit-log/checkpoints?after=${after}${limit}`)).json.data.checkpoints,
  );
}

/** Exports through the API and verifies offline against the served public key (and trusted checkpoints). */
export async function verifyThroughApi(call: Call, trustedCheckpointsText?: string): Promise<VerifyReport> {
  const publicKeyPem = (await call('GET', 'sys/audit-log/public-key')).json.data.public_key as string;
  return verifyAuditExport({ exportText: await exportThroughApi(call), publicKeyPem, trustedCheckpointsText });
}

/** Runs `fn` as a superuser with the append-only guards switched off on every audit table, then restores them. */
export async function withGuardsOff(db: DataSource, fn: () => Promise<void>): Promise<void> {
  const partitions: { name: string }[] = await db.query(
    "SELECT c.relname AS name FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid WHERE i.inhparent = 'audit_logs'::regclass",
  );
  const tables = ['audit_logs', 'audit_checkpoints', ...partitions.map((p) => p.name)];
  for (const t of tables) await db.query(`ALTER TABLE ${t} DISABLE TRIGGER USER`);
  try {
    await fn();
  } finally {
    for (const t of tables) {
      await db.query(`ALTER TABLE ${t} ENABLE ALWAYS TRIGGER audit_no_change`);
      await db.query(`ALTER TABLE ${t} ENABLE ALWAYS TRIGGER audit_no_truncate`);
    }
  }
}

/**
 * The tampering cases of issue 5, each done as a superuser with the guards off. Entry bytes are
 * changed by turning `app` into `APP`, so the entry must contain it (the tests' traffic writes `secret/data/app<n>`).
 */
export const tamper = {
  /** Entry `seq`'s bytes change; its hashes do not. */
  modify: (db: DataSource, seq: number) =>
    withGuardsOff(db, () =>
      db.query("UPDATE audit_logs SET entry_bytes = convert_to(replace(convert_from(entry_bytes, 'UTF8'), 'app', 'APP'), 'UTF8') WHERE sequence_number = $1", [
        seq,
      ]),
    ),

  delete: (db: DataSource, seq: number) => withGuardsOff(db, () => db.query('DELETE FROM audit_logs WHERE sequence_number = $1', [seq])),

  /** Entries `seq` and `seq + 1` trade sequence numbers. */
  swap: (db: DataSource, seq: number) =>
    withGuardsOff(db, () =>
      db.query(
        'UPDATE audit_logs SET sequence_number = CASE sequence_number WHEN $1::bigint THEN $1::bigint + 1 ELSE $1::bigint END WHERE sequence_number IN ($1::bigint, $1::bigint + 1)',
        [seq],
      ),
    ),

  /**
   * Entries after `keep` and every stored checkpoint are deleted, and the head moves back to the
   * cut: a running writer finds the head elsewhere and appends from there (a consistent, shorter chain).
   */
  async truncate(db: DataSource, keep: number): Promise<void> {
    await withGuardsOff(db, async () => {
      await db.query('DELETE FROM audit_logs WHERE sequence_number > $1', [keep]);
      await db.query('DELETE FROM audit_checkpoints');
    });
    const kept: { entry_bytes: Buffer }[] = await db.query('SELECT entry_bytes FROM audit_logs ORDER BY sequence_number');
    const frontier = kept.reduce<Buffer[]>((f, r, i) => frontierAppend(f, i, leafHash(r.entry_bytes)), []);
    await db.query(
      'UPDATE audit_chain_head SET sequence_number = $1, chain_hash = (SELECT current_hash FROM audit_logs WHERE sequence_number = $1), frontier = $2 WHERE id = 1',
      [keep, frontier],
    );
  },

  /**
   * Entry `seq`'s bytes change and every later hash and the head are recomputed, so the chain is
   * consistent and only a signed checkpoint tells. Only while sealed: no writer holds the old head.
   */
  async rewrite(db: DataSource, seq: number): Promise<void> {
    const rows: { sequence_number: string; entry_bytes: Buffer; previous_hash: Buffer }[] = await db.query(
      'SELECT sequence_number, entry_bytes, previous_hash FROM audit_logs ORDER BY sequence_number',
    );
    await withGuardsOff(db, async () => {
      let previous = rows[seq - 1].previous_hash;
      let frontier: Buffer[] = [];
      for (const row of rows) {
        const n = Number(row.sequence_number);
        const bytes = n === seq ? Buffer.from(row.entry_bytes.toString().replace('app', 'APP')) : row.entry_bytes;
        frontier = frontierAppend(frontier, n - 1, leafHash(bytes));
        if (n < seq) continue;
        const current = chainHash(n, previous, leafHash(bytes));
        await db.query('UPDATE audit_logs SET entry_bytes = $2, previous_hash = $3, current_hash = $4 WHERE sequence_number = $1', [
          n,
          bytes,
          previous,
          current,
        ]);
        previous = current;
      }
      await db.query('UPDATE audit_chain_head SET chain_hash = $1, frontier = $2 WHERE id = 1', [previous, frontier]);
    });
  },
};
