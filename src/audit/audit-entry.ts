/**
 * Audit entries in Vault's audit format (`type`, `time`, `auth`, `request`, `response`, `error`),
 * built field by field from an allow-list: nothing reaches an entry unless named here, and every
 * field that may carry a secret goes through the device's hasher (see redaction.ts). Source
 * addresses and user agents arrive already sealed under the month's key (address-keys.ts).
 */
import { redactData, redactValue, type Hasher } from './redaction';

export interface AuditTokenView {
  accessor: string;
  displayName: string;
  policies: string[];
  tokenType: string;
  ttlSeconds: number;
  issueTime: Date;
  meta: Record<string, string>;
}

/** What the pipeline learned about one request, filled in as it goes. */
export interface AuditTrace {
  requestId: string;
  time: Date;
  operation: string;
  path: string;
  mount?: { path: string; type: string; accessor: string; class: string; clearRequestKeys: string[]; clearResponseKeys: string[] };
  clientToken?: string;
  token?: AuditTokenView;
  /** The request's data: the body for writes, the query parameters otherwise. */
  data?: Record<string, unknown>;
  policy?: { allowed: boolean; matched?: string; reason?: string };
  /** Sealed under the month key (never clear here). */
  sealedRemoteAddress: string;
  sealedUserAgent?: string;
}

export interface AuditOutcome {
  status: number;
  data?: Record<string, unknown> | null;
  warnings?: string[] | null;
  auth?: Record<string, unknown> | null;
  error?: string;
}

export type AuditEntry = Record<string, unknown>;

/** Response `auth` keys that stay clear; every other key (client_token, accessor, metadata...) is hashed. */
const CLEAR_AUTH_KEYS = new Set(['policies', 'token_policies', 'identity_policies', 'lease_duration', 'renewable', 'entity_id', 'token_type', 'orphan', 'num_uses', 'mfa_requirement']);

function redactAuth(auth: Record<string, unknown>, hash: Hasher): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(auth)) out[k] = CLEAR_AUTH_KEYS.has(k) ? v : redactValue(v, hash);
  return out;
}

function authBlock(trace: AuditTrace, hash: Hasher): Record<string, unknown> | undefined {
  const t = trace.token;
  if (!t) return trace.policy ? { policy_results: { allowed: trace.policy.allowed } } : undefined;
  return {
    client_token: trace.clientToken ? hash(trace.clientToken) : undefined,
    accessor: t.accessor ? hash(t.accessor) : undefined,
    display_name: t.displayName,
    policies: t.policies,
    token_policies: t.policies,
    metadata: Object.keys(t.meta).length ? redactValue(t.meta, hash) : undefined,
    token_type: t.tokenType,
    token_ttl: t.ttlSeconds,
    token_issue_time: t.issueTime.toISOString(),
    policy_results: trace.policy ? { allowed: trace.policy.allowed, ...(trace.policy.matched ? { matched_path: trace.policy.matched } : {}) } : undefined,
  };
}

function requestBlock(trace: AuditTrace, hash: Hasher): Record<string, unknown> {
  return {
    id: trace.requestId,
    operation: trace.operation,
    mount_point: trace.mount?.path,
    mount_type: trace.mount?.type,
    mount_accessor: trace.mount?.accessor,
    mount_class: trace.mount?.class,
    client_token: trace.clientToken ? hash(trace.clientToken) : undefined,
    client_token_accessor: trace.token?.accessor ? hash(trace.token.accessor) : undefined,
    namespace: { id: 'root' },
    path: trace.path,
    data: redactData(trace.data && Object.keys(trace.data).length ? trace.data : undefined, hash, trace.mount?.clearRequestKeys),
    remote_address: trace.sealedRemoteAddress,
    headers: trace.sealedUserAgent ? { 'user-agent': [trace.sealedUserAgent] } : undefined,
  };
}

/**
 * Entries may hold undefined fields: both serialisations used (RFC 8785 `canonicalize` for the chain,
 * JSON.stringify for files) omit them, so the bytes are the same as without them.
 */
const compact = (entry: Record<string, unknown>): AuditEntry => entry;

/**
 * The `auth` and `request` blocks of a trace's entries under one device's salt. A request and its
 * response carry the same two blocks, so they are built once per trace and device (the trace is
 * complete when the request entry is written: token and policy decision are known by then).
 */
export interface EntryBlocks {
  auth: Record<string, unknown> | undefined;
  request: Record<string, unknown>;
}

export function entryBlocks(trace: AuditTrace, hash: Hasher): EntryBlocks {
  return { auth: authBlock(trace, hash), request: requestBlock(trace, hash) };
}

export function requestEntry(trace: AuditTrace, blocks: EntryBlocks): AuditEntry {
  return compact({
    time: trace.time.toISOString(),
    type: 'request',
    auth: blocks.auth,
    request: blocks.request,
    error: trace.policy && !trace.policy.allowed ? 'permission denied' : undefined,
  });
}

export function responseEntry(trace: AuditTrace, blocks: EntryBlocks, outcome: AuditOutcome, hash: Hasher, time: Date): AuditEntry {
  return compact({
    time: time.toISOString(),
    type: 'response',
    auth: blocks.auth,
    request: blocks.request,
    response: {
      mount_point: trace.mount?.path,
      mount_type: trace.mount?.type,
      mount_accessor: trace.mount?.accessor,
      status_code: outcome.status,
      data: redactData(outcome.data ?? undefined, hash, trace.mount?.clearResponseKeys),
      warnings: outcome.warnings ?? undefined,
      auth: outcome.auth ? redactAuth(outcome.auth, hash) : undefined,
    },
    error: outcome.error,
  });
}

/** The queryable projection stored next to the hashed bytes in `audit_logs` (all clear or already hashed). */
export interface AuditColumns {
  eventId: string;
  eventType: string;
  actorType: string | null;
  actorId: string | null;
  actorName: string | null;
  secretPath: string | null;
  secretMount: string | null;
  operation: string | null;
  accessGranted: boolean | null;
  policyMatched: string | null;
  denialReason: string | null;
  sourceIp: string | null;
  correlationId: string | null;
}

export function entryColumns(trace: AuditTrace, entry: AuditEntry, eventId: string): AuditColumns {
  const auth = entry.auth as Record<string, unknown> | undefined;
  return {
    eventId,
    eventType: String(entry.type),
    actorType: trace.token ? 'token' : null,
    actorId: (auth?.accessor as string | undefined) ?? null,
    actorName: trace.token?.displayName ?? null,
    secretPath: trace.path,
    secretMount: trace.mount?.path ?? null,
    operation: trace.operation,
    accessGranted: trace.policy ? trace.policy.allowed : null,
    policyMatched: trace.policy?.matched ?? null,
    denialReason: trace.policy && !trace.policy.allowed ? (trace.policy.reason ?? 'permission denied') : null,
    sourceIp: trace.sealedRemoteAddress,
    correlationId: trace.requestId,
  };
}

type Block = Record<string, unknown> | undefined;

/**
 * The `event_data` JSONB: the entry's fields worth querying that the columns do not hold. It leaves
 * out response data, warnings, the token and accessor hashes (actor_id has the accessor's) and the
 * sealed address and user agent (source_ip has the address): the full entry is `entry_bytes`, and a
 * second copy of it in JSONB was half of the database's cost per entry.
 */
export function entryProjection(entry: AuditEntry): Record<string, unknown> {
  const auth = entry.auth as Block;
  const request = entry.request as Block;
  const response = entry.response as Block;
  return {
    type: entry.type,
    error: entry.error,
    auth: auth && { display_name: auth.display_name, policies: auth.policies, metadata: auth.metadata, token_type: auth.token_type, policy_results: auth.policy_results },
    request: request && { operation: request.operation, path: request.path, mount_type: request.mount_type, data: request.data },
    response: response && { status_code: response.status_code, auth: response.auth },
  };
}

