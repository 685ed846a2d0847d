/**
 * sys/audit/anomalies: the credential anomalies found by the job over the audit log (list, read,
 * resolve, scan now). Sudo, as the rest of sys/audit.
 *
 * These routes share the prefix of `sys/audit/*path` (enable/disable a device): they are exact
 * paths or declared before it, and the pipeline tries exact routes first and patterns in
 * declaration order, so they win; a device can no longer be enabled at `anomalies` (see
 * audit.paths.ts).
 */
import { logical, type RequestContext, route, type RouteDefinition } from '../../framework/route';
import type { Fields } from '../../framework/fields';
import { badRequest, notFound } from '../../kernel/errors';
import type { TokenStore } from '../../kernel/token/token-store.service';
import type { AuditBroker } from '../../audit/audit-broker';
import { ANOMALY_KINDS, SEVERITIES } from '../../audit/anomaly-detectors';
import type { AnomalyRepository, AnomalyRow } from '../../audit/anomaly.repository';
import type { AnomalyScanner } from '../../audit/anomaly-scanner';

/** The first path segment under sys/audit/ that no device may use. */
export const RESERVED_DEVICE_PATH = 'anomalies';
export const reservedDevicePath = () => badRequest(`"${RESERVED_DEVICE_PATH}" is reserved for sys/audit/anomalies and cannot be an audit device path`);
const MAX_LISTED = 10_000;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

const LIST_FIELDS = {
  resolved: { type: 'bool', query: true, description: 'Only resolved (true) or open (false) anomalies.' },
  severity: { type: 'string', query: true, allowed: SEVERITIES, description: 'Only this severity: low, medium, high or critical.' },
  kind: {
    type: 'string',
    query: true,
    allowed: ANOMALY_KINDS,
    description: 'Only this kind: request_rate, error_rate, source_ips, unusual_hours or login_bruteforce.',
  },
} as const satisfies Fields;

const RESOLVE_FIELDS = {
  resolved: { type: 'bool', required: true, description: 'Must be true: marks the anomaly resolved (once; later calls change nothing).' },
  note: { type: 'string', description: 'What was found or done.' },
} as const satisfies Fields;

export interface AnomalyPathDeps {
  repository: AnomalyRepository;
  scanner: AnomalyScanner;
  broker: AuditBroker;
  tokens: TokenStore;
}

function anomalyData(a: AnomalyRow): Record<string, unknown> {
  return {
    id: a.id,
    kind: a.kind,
    subject_type: a.subjectType,
    subject: a.subject,
    severity: a.severity,
    window_start: a.windowStart.toISOString(),
    window_end: a.windowEnd.toISOString(),
    observed: a.observed,
    threshold: a.threshold,
    details: a.details,
    first_sequence: a.firstSequence,
    last_sequence: a.lastSequence,
    detected_at: a.detectedAt.toISOString(),
    updated_at: a.updatedAt.toISOString(),
    resolved: a.resolved,
    resolved_at: a.resolvedAt?.toISOString() ?? null,
    resolved_by: a.resolvedBy,
    resolved_by_accessor: a.resolvedByAccessor,
    resolution_note: a.resolutionNote,
  };
}

function anomalyId(ctx: RequestContext): string {
  const id = ctx.params.id;
  if (!UUID.test(id)) throw badRequest('anomaly id must be a UUID');
  return id.toLowerCase();
}

export function auditAnomalyPaths(deps: AnomalyPathDeps): RouteDefinition[] {
  /** Who resolves: the token's display name, and its accessor as the database device hashes it (what `actor_id` holds). */
  const resolver = (ctx: RequestContext) => {
    const token = ctx.token;
    if (!token) throw badRequest('a token is required');
    const chainDevice = deps.broker.list().find((d) => d.type === 'database');
    const accessor = deps.tokens.accessorOf(token);
    return { displayName: token.displayName, accessorHash: chainDevice && accessor ? deps.broker.hash(chainDevice.path, accessor) : null };
  };
  return [
    route({
      path: 'audit/anomalies',
      auth: 'sudo',
      fields: LIST_FIELDS,
      help: 'List credential anomalies, most recent first (filters: resolved, severity, kind).',
      handlers: {
        list: async (ctx) => {
          const d = ctx.data;
          const rows = await deps.repository.list({ resolved: d.resolved, severity: d.severity, kind: d.kind }, MAX_LISTED + 1);
          const shown = rows.slice(0, MAX_LISTED);
          const keyInfo = Object.fromEntries(
            shown.map((a) => [
              a.id,
              {
                kind: a.kind,
                subject_type: a.subjectType,
                subject: a.subject,
                severity: a.severity,
                detected_at: a.detectedAt.toISOString(),
                resolved: a.resolved,
              },
            ]),
          );
          const warnings =
            rows.length > MAX_LISTED ? [`only the ${MAX_LISTED} most recent anomalies are listed; narrow with resolved, severity or kind`] : undefined;
          return logical({ keys: shown.map((a) => a.id), key_info: keyInfo }, warnings);
        },
        update: async () => {
          throw reservedDevicePath();
        },
      },
    }),
    {
      path: 'audit/anomalies/scan',
      auth: 'sudo',
      help: 'Run the anomaly scan now over the closed windows not yet scanned.',
      handlers: {
        update: async () => {
          const report = await deps.scanner.scanNow();
          if (!report) return logical({ scanned: false, reason: 'another node is scanning' });
          return logical({
            scanned: true,
            entries: report.entries,
            new_anomalies: report.newAnomalies,
            updated_anomalies: report.updatedAnomalies,
            last_sequence: report.lastSequence,
          });
        },
      },
    },
    route({
      path: 'audit/anomalies/:id',
      auth: 'sudo',
      fields: RESOLVE_FIELDS,
      help: 'Read an anomaly (GET), or resolve it (PUT resolved=true, note).',
      handlers: {
        read: async (ctx) => {
          const found = await deps.repository.get(anomalyId(ctx));
          if (!found) throw notFound();
          return logical(anomalyData(found));
        },
        update: async (ctx) => {
          const id = anomalyId(ctx);
          if (ctx.data.resolved !== true) throw badRequest('resolved must be true: a resolved anomaly is not reopened');
          const note = ctx.data.note;
          const resolved = await deps.repository.resolve(id, resolver(ctx), note === undefined || note === '' ? null : note);
          if (!resolved) throw notFound();
          return logical(anomalyData(resolved));
        },
      },
    }),
  ];
}
