/** Medium-test helpers for the audit log: a pipeline with audit on, the export, and superuser tampering. */
import type { Writable } from 'node:stream';
import type { DataSource } from 'typeorm';
import { buildConfig, type AuditConfig } from '../../src/config/config';
import { RequestPipeline, type PipelineResponse } from '../../src/kernel/router/request-pipeline';
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
export type Call = (method: string, url: string, body?: unknown, token?: string, options?: CallOptions) => Promise<Omit<PipelineResponse, 'body'> & { body?: string; bytes?: Buffer; json: Record<string, any> }>; // eslint-disable-line @typescript-eslint/no-explicit-any

export function auditedPipeline(k: TestKernel, rootToken: string, log: Logger = createLogger('error'), listener = buildConfig({}, {}, {}).listener): Call {
  const pipeline = new RequestPipeline({ mounts: k.mounts, seal: k.seal, tokens: k.tokenStore, policies: k.policies, listener, log, audit: k.audit, wrapper: k.wrapper, leases: k.leases });
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
export async function openAuditedKernel(options: { databaseDevice?: boolean; log?: Logger; audit?: Partial<AuditConfig>; auditStdout?: Writable } = {}): Promise<{ k: TestKernel; call: Call; rootToken: string; key: string }> {
  const k = await openTestKernel({ log: options.log, audit: options.audit, auditStdout: options.auditStdout });
  const init = await k.seal.initialize({ secretShares: 1, secretThreshold: 1 });
  const key = init.keys[0].toString('hex');
  await k.seal.submitUnsealKey(key, false);
  const call = auditedPipeline(k, init.rootToken, options.log);
  if (options.databaseDevice) expect((await call('PUT', 'sys/audit/chain', { type: 'database' })).status).toBe(204);
  expect((await call('PUT', 'sys/mounts/secret', { type: 'kv', options: { version: '2' } })).status).toBe(204);
  return { k, call, rootToken: init.rootToken, key };
}

/** The export as `secrethub audit export` writes it, through the API. */
export async function exportThroughApi(call: Call): Promise<string> {
  return buildExport(
    async (after) => (await call('GET', `sys/audit-log/export?after=${after}`)).json.data as ExportPage,
    async () => (await call('GET', 'sys/audit-log/checkpoints')).json.data.checkpoints,
  );
}

/** Exports through the API and verifies offline against the served public key (and trusted checkpoints). */
export async function verifyThroughApi(call: Call, trustedCheckpointsText?: string): Promise<VerifyReport> {
  const publicKeyPem = (await call('GET', 'sys/audit-log/public-key')).json.data.public_key as string;
  return verifyAuditExport({ exportText: await exportThroughApi(call), publicKeyPem, trustedCheckpointsText });
}

/** Runs `fn` as a superuser with the append-only guards switched off on every audit table, then restores them. */
export async function withGuardsOff(db: DataSource, fn: () => Promise<void>): Promise<void> {
  const partitions: { name: string }[] = await db.query("SELECT c.relname AS name FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid WHERE i.inhparent = 'audit_logs'::regclass");
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
