/**
 * sys/audit (Vault's device management), sys/audit-hash, and sys/audit-log: the chain's public key,
 * checkpoints and export for offline verification.
 */
import { logical, route, type RouteContext, type RouteDefinition } from '../../framework/route';
import type { Fields } from '../../framework/fields';
import { badRequest } from '../../kernel/errors';
import type { AuditBroker } from '../../audit/audit-broker';
import type { AuditChainWriter } from '../../audit/chain-writer';
import { checkpointLine } from '../../audit/export-format';
import type { AuditLogRepository } from '../../audit/audit-log.repository';
import { RESERVED_DEVICE_PATH, reservedDevicePath } from './audit-anomalies.paths';

const ENABLE_FIELDS = {
  type: { type: 'string', required: true, description: 'Device type: "file" or "database".' },
  description: { type: 'string', description: 'Human-friendly description.' },
  options: { type: 'string-map', description: 'file: file_path (inside the configured audit directory, or "stdout"), mode. Both: format=json.' },
  local: { type: 'bool', description: 'Accepted for compatibility (no replication).' },
} as const satisfies Fields;

const EXPORT_FIELDS = {
  // Sequence numbers are int8: the whole exact range of a JavaScript number.
  after: {
    type: 'int',
    query: true,
    min: 0,
    max: Number.MAX_SAFE_INTEGER,
    description: 'Export entries with a sequence number greater than this (default 0).',
  },
  limit: { type: 'int', query: true, description: 'At most this many entries (default and maximum 10000).' },
} as const satisfies Fields;

const MAX_EXPORT_PAGE = 10_000;

/** Each checkpoint carries the leaf hashes since the one before (up to 32 KiB at the default interval). */
const MAX_CHECKPOINT_PAGE = 200;

const CHECKPOINT_PAGE_FIELDS = {
  after: { type: 'int', query: true, min: 0, max: Number.MAX_SAFE_INTEGER, description: 'Checkpoints with a tree size greater than this (default 0).' },
  limit: { type: 'int', query: true, description: `At most this many checkpoints (default and maximum ${MAX_CHECKPOINT_PAGE}); a shorter page is the last.` },
} as const satisfies Fields;

/** `after` and `limit` of a paged read, checked. */
function page(ctx: RouteContext<typeof CHECKPOINT_PAGE_FIELDS, 'read'>, max: number): { after: number; limit: number } {
  const after = ctx.data.after ?? 0;
  const limit = Math.min(ctx.data.limit ?? max, max);
  if (after < 0 || limit < 1) throw badRequest('after must be ≥ 0 and limit ≥ 1');
  return { after, limit };
}

/** Device paths end in one slash, as Vault's (`file` → `file/`). */
function devicePath(raw: string): string {
  const trimmed = raw.replace(/^\/+|\/+$/g, '');
  if (trimmed === '') throw badRequest('a path is required');
  return `${trimmed}/`;
}

export function auditPaths(broker: AuditBroker, chain: AuditChainWriter, log: AuditLogRepository): RouteDefinition[] {
  const table = async () => {
    const out: Record<string, unknown> = {};
    for (const d of broker.list()) out[d.path] = { type: d.type, description: d.description, options: d.options, local: d.local, path: d.path };
    return logical(out);
  };
  return [
    { path: 'audit', auth: 'sudo', injectDataAtTopLevel: true, help: 'List the enabled audit devices.', handlers: { read: table } },
    route({
      path: 'audit-hash/*path',
      injectDataAtTopLevel: true,
      fields: { input: { type: 'string', required: true, description: 'The value to hash.' } },
      help: "The HMAC a device writes for a value (with that device's salt).",
      handlers: { update: async (ctx) => logical({ hash: broker.hash(devicePath(ctx.params.path), ctx.data.input) }) },
    }),
    {
      path: 'audit-log/public-key',
      help: "The audit chain's Ed25519 public key (PEM) and log id: what auditors pin for `secrethub audit verify`.",
      handlers: { read: async () => logical({ public_key: chain.publicKey(), log_id: (await chain.logId()).toString('hex') }) },
    },
    route({
      path: 'audit-log/checkpoints',
      auth: { read: 'token', update: 'sudo' },
      fields: CHECKPOINT_PAGE_FIELDS,
      auditOmitsResponseData: true,
      help: 'A page of the signed checkpoints, oldest first (the lines of the checkpoint file).',
      handlers: {
        read: async (ctx) => {
          const { after, limit } = page(ctx, MAX_CHECKPOINT_PAGE);
          const logId = await chain.logId();
          return logical({ checkpoints: (await log.checkpoints(after, limit)).map((c) => checkpointLine(logId, c)) });
        },
        update: async () => {
          const size = await chain.checkpointNow();
          return logical({ tree_size: size });
        },
      },
    }),
    route({
      path: 'audit-log/export',
      auth: 'sudo',
      fields: EXPORT_FIELDS,
      auditOmitsResponseData: true,
      help: 'A page of audit entries (canonical bytes, base64) with their chain hashes, for `secrethub audit export`.',
      handlers: {
        read: async (ctx) => {
          const { after, limit } = page(ctx, MAX_EXPORT_PAGE);
          const rows = await log.entries(after, limit);
          const head = await log.head();
          return logical({
            log_id: head.logId.toString('hex'),
            head_sequence: head.sequence,
            entries: rows.map((r) => ({
              kind: 'entry',
              sequence_number: r.sequence,
              timestamp: r.timestamp.toISOString(),
              entry: r.entryBytes.toString('base64'),
              previous_hash: r.previousHash.toString('hex'),
              current_hash: r.currentHash.toString('hex'),
            })),
          });
        },
      },
    }),
    route({
      path: 'audit/*path',
      auth: 'sudo',
      fields: ENABLE_FIELDS,
      help: 'Enable (PUT/POST) or disable (DELETE) an audit device.',
      handlers: {
        update: async (ctx) => {
          const d = ctx.data;
          const path = devicePath(ctx.params.path);
          if (path.split('/')[0] === RESERVED_DEVICE_PATH) throw reservedDevicePath();
          await broker.enable(path, { type: d.type, description: d.description ?? '', options: d.options ?? {}, local: d.local ?? false });
          return null;
        },
        delete: async (ctx) => {
          await broker.disable(devicePath(ctx.params.path));
          return null;
        },
      },
    }),
  ];
}
