/**
 * Batch tokens (`hvb.`): the token is its own record, barrier-encrypted, never stored. They have no
 * accessor, cannot be renewed, revoked one by one, limited in uses or used to create tokens; a
 * non-orphan batch token dies with its parent (checked on every lookup).
 */
import type { Barrier } from '../barrier/barrier';
import { type Ciphertext, SealedColumn } from '../barrier/sealed-column';
import { BATCH_TOKEN } from '../barrier/sealed-columns';
import type { TokenRow } from './token.repository';

export const BATCH_PREFIX = 'hvb.';
/**
 * Not a repository, yet it seals: the ciphertext is the token, held by clients, not stored. Its
 * location is the fixed `tokens/batch` (BATCH_TOKEN), which can never change: a ciphertext made for
 * anything else never decodes as a batch token.
 */
const sealedBy = (barrier: Barrier) => new SealedColumn(BATCH_TOKEN, barrier);
/** Batch tokens have no accessor: an empty value, which nothing opens (accessorOf answers '' for them). */
const NO_ACCESSOR = Buffer.alloc(0) as Ciphertext;

interface BatchPayload {
  v: 1;
  policies: string[];
  parent: string | null;
  created: number;
  expires: number;
  ttl: number;
  name: string;
  path: string;
  meta: Record<string, string>;
  cidrs: string[];
  role: string | null;
}

/** What a batch token carries; the rest of TokenRow is fixed for batch tokens. */
export type BatchFields = Pick<
  TokenRow,
  'policies' | 'parentTokenHmac' | 'createdAt' | 'ttlSeconds' | 'displayName' | 'creationPath' | 'meta' | 'boundCidrs' | 'roleName'
> & { expiresAt: Date };

export async function encodeBatchToken(barrier: Barrier, f: BatchFields): Promise<string> {
  const payload: BatchPayload = {
    v: 1,
    policies: f.policies,
    parent: f.parentTokenHmac ? f.parentTokenHmac.toString('base64') : null,
    created: f.createdAt.getTime(),
    expires: f.expiresAt.getTime(),
    ttl: f.ttlSeconds,
    name: f.displayName,
    path: f.creationPath,
    meta: f.meta,
    cidrs: f.boundCidrs,
    role: f.roleName,
  };
  const ciphertext = await sealedBy(barrier).sealJson(undefined, payload);
  return BATCH_PREFIX + ciphertext.toString('base64url');
}

/** The record a batch token stands for (fixed values for everything batch tokens cannot have). */
export function batchTokenRow(f: BatchFields, tokenHmac: Buffer): TokenRow {
  return {
    ...f,
    tokenHmac,
    accessorHmac: Buffer.alloc(0),
    accessorCiphertext: NO_ACCESSOR,
    tokenType: 'batch',
    maxExpiresAt: f.expiresAt,
    orphan: f.parentTokenHmac === null,
    explicitMaxTtlSeconds: 0,
    periodSeconds: 0,
    usesRemaining: null,
    numUsesInitial: 0,
    renewable: false,
  };
}

/** The token's record, or undefined when it does not decrypt or parse (forged, truncated, another cluster's). */
export async function decodeBatchToken(barrier: Barrier, token: string, tokenHmac: Buffer): Promise<TokenRow | undefined> {
  let payload: BatchPayload;
  try {
    payload = await sealedBy(barrier).openJson<BatchPayload>(undefined, Buffer.from(token.slice(BATCH_PREFIX.length), 'base64url') as Ciphertext);
  } catch {
    return undefined;
  }
  if (payload.v !== 1) return undefined;
  return batchTokenRow(
    {
      policies: payload.policies,
      parentTokenHmac: payload.parent ? Buffer.from(payload.parent, 'base64') : null,
      createdAt: new Date(payload.created),
      expiresAt: new Date(payload.expires),
      ttlSeconds: payload.ttl,
      displayName: payload.name,
      creationPath: payload.path,
      meta: payload.meta,
      boundCidrs: payload.cidrs,
      roleName: payload.role,
    },
    tokenHmac,
  );
}
