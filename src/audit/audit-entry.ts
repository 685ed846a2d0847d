/**
 * Audit entries in Vault's audit format (`type`, `time`, `auth`, `request`, `response`, `error`),
 * built field by field from an allow-list: nothing reaches an entry unless named here, and every
 * field that may carry a secret goes through the device's hasher (see redaction.ts). Source
 * addresses and user agents appear only sealed under the month's key (address-seal.ts).
 */
import type { AuditSource, SealedSource } from './address-seal';
import { storableNullableText, storableText } from './jsonb-safe';
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
  /** Clear, with the month key: entries hold them only sealed (entry-render.ts seals them). */
  source: AuditSource;
}

export interface AuditOutcome {
  status: number;
  data?: Record<string, unknown> | null;
  warnings?: string[] | null;
  auth?: Record<string, unknown> | null;
  error?: string;
  /** A wrapped response's wrap_info (its token and accessors are hashed in the entry). */
  wrapInfo?: { token: string; accessor: string; ttl: number; creation_time: string; creation_path: string; wrapped_accessor: string };
}

export type AuditEntry = Record<string, unknown>;

/** Response `auth` keys that stay clear; every other key (client_token, accessor, metadata...) is hashed. */
const CLEAR_AUTH_KEYS = new Set([
  'policies',
  'token_policies',
  'identity_policies',
  'lease_duration',
  'renewable',
  'entity_id',
  'token_type',
  'orphan',
  'num_uses',
  'mfa_requirement',
]);

function redactAuth(auth: Record<string, unknown>, hash: Hasher): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const k of Object.keys(auth).sort()) out[k] = CLEAR_AUTH_KEYS.has(k) ? auth[k] : redactValue(auth[k], hash);
  return out;
}

/*
 * Every object below is written with its keys in UTF-16 order (and redaction keeps data maps in
 * order), so that the canonical form is plain JSON.stringify (see crypto/canonical-json.ts).
 */

function wrapInfoBlock(w: NonNullable<AuditOutcome['wrapInfo']>, hash: Hasher): Record<string, unknown> {
  return {
    accessor: hash(w.accessor),
    creation_path: w.creation_path,
    creation_time: w.creation_time,
    token: hash(w.token),
    ttl: w.ttl,
    wrapped_accessor: w.wrapped_accessor ? hash(w.wrapped_accessor) : '',
  };
}

function policyResults(trace: AuditTrace): Record<string, unknown> | undefined {
  return trace.policy ? { allowed: trace.policy.allowed, matched_path: trace.policy.matched } : undefined;
}

function authBlock(trace: AuditTrace, tokenHash: string | undefined, accessorHash: string | undefined, hash: Hasher): Record<string, unknown> | undefined {
  const t = trace.token;
  if (!t) return trace.policy ? { policy_results: { allowed: trace.policy.allowed } } : undefined;
  return {
    accessor: accessorHash,
    client_token: tokenHash,
    display_name: t.displayName,
    metadata: Object.keys(t.meta).length ? redactValue(t.meta, hash) : undefined,
    policies: t.policies,
    policy_results: policyResults(trace),
    token_issue_time: t.issueTime.toISOString(),
    token_policies: t.policies,
    token_ttl: t.ttlSeconds,
    token_type: t.tokenType,
  };
}

function requestBlock(
  trace: AuditTrace,
  sealed: SealedSource,
  tokenHash: string | undefined,
  accessorHash: string | undefined,
  hash: Hasher,
): Record<string, unknown> {
  return {
    client_token: tokenHash,
    client_token_accessor: accessorHash,
    data: redactData(trace.data && Object.keys(trace.data).length ? trace.data : undefined, hash, trace.mount?.clearRequestKeys),
    headers: sealed.userAgent ? { 'user-agent': [sealed.userAgent] } : undefined,
    id: trace.requestId,
    mount_accessor: trace.mount?.accessor,
    mount_class: trace.mount?.class,
    mount_point: trace.mount?.path,
    mount_type: trace.mount?.type,
    namespace: { id: 'root' },
    operation: trace.operation,
    path: trace.path,
    remote_address: sealed.remoteAddress,
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

export function entryBlocks(trace: AuditTrace, sealed: SealedSource, hash: Hasher): EntryBlocks {
  const tokenHash = trace.clientToken ? hash(trace.clientToken) : undefined;
  const accessorHash = trace.token?.accessor ? hash(trace.token.accessor) : undefined;
  return { auth: authBlock(trace, tokenHash, accessorHash, hash), request: requestBlock(trace, sealed, tokenHash, accessorHash, hash) };
}

export function requestEntry(trace: AuditTrace, blocks: EntryBlocks): AuditEntry {
  return compact({
    auth: blocks.auth,
    error: trace.policy && !trace.policy.allowed ? 'permission denied' : undefined,
    request: blocks.request,
    time: trace.time.toISOString(),
    type: 'request',
  });
}

export function responseEntry(trace: AuditTrace, blocks: EntryBlocks, outcome: AuditOutcome, hash: Hasher, time: Date): AuditEntry {
  return compact({
    auth: blocks.auth,
    error: outcome.error,
    request: blocks.request,
    response: {
      auth: outcome.auth ? redactAuth(outcome.auth, hash) : undefined,
      data: redactData(outcome.data ?? undefined, hash, trace.mount?.clearResponseKeys),
      mount_accessor: trace.mount?.accessor,
      mount_point: trace.mount?.path,
      mount_type: trace.mount?.type,
      status_code: outcome.status,
      warnings: outcome.warnings ?? undefined,
      wrap_info: outcome.wrapInfo ? wrapInfoBlock(outcome.wrapInfo, hash) : undefined,
    },
    time: time.toISOString(),
    type: 'response',
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

/** The columns of an entry that is not about a request (a prune record; entries written directly in tests). */
export function bareColumns(eventType: string, eventId: string): AuditColumns {
  return {
    eventId,
    eventType,
    actorType: null,
    actorId: null,
    actorName: null,
    secretPath: null,
    secretMount: null,
    operation: null,
    accessGranted: null,
    policyMatched: null,
    denialReason: null,
    sourceIp: null,
    correlationId: null,
  };
}

export function entryColumns(trace: AuditTrace, sealed: SealedSource, entry: AuditEntry, eventId: string): AuditColumns {
  const auth = entry.auth as Record<string, unknown> | undefined;
  return {
    eventId,
    eventType: String(entry.type),
    actorType: trace.token ? 'token' : null,
    actorId: (auth?.accessor as string | undefined) ?? null,
    actorName: storableNullableText(trace.token?.displayName ?? null),
    secretPath: storableText(trace.path),
    secretMount: storableNullableText(trace.mount?.path ?? null),
    operation: trace.operation,
    accessGranted: trace.policy ? trace.policy.allowed : null,
    policyMatched: storableNullableText(trace.policy?.matched ?? null),
    denialReason: trace.policy && !trace.policy.allowed ? storableText(trace.policy.reason ?? 'permission denied') : null,
    sourceIp: sealed.remoteAddress,
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
    auth: auth && {
      display_name: auth.display_name,
      policies: auth.policies,
      metadata: auth.metadata,
      token_type: auth.token_type,
      policy_results: auth.policy_results,
    },
    request: request && { operation: request.operation, path: request.path, mount_type: request.mount_type, data: request.data },
    response: response && { status_code: response.status_code, auth: response.auth },
  };
}
