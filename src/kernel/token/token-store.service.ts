/**
 * Token store.
 *
 * Invariants:
 * - tokens and accessors are stored only as HMAC-SHA256 under a key kept in the barrier
 *   (`kernel_secrets/token_hmac_key`); the accessor is also kept sealed (the token repository seals
 *   and opens it) so it can be listed and shown; lookups go through the HMAC primary key, never plaintext;
 * - an over-long token is refused before any storage lookup;
 * - an expired token is invalid at once (checked on every lookup, not by a sweeper);
 * - a limited-use token is consumed with one atomic UPDATE, so N uses means exactly N requests;
 * - revoking a token revokes its non-orphan descendants in the same statement;
 * - a child never outlives its parent (see token-ttl.ts).
 */
import type { EntityManager } from 'typeorm';
import { hmacSha256, zero } from '../../crypto/hmac';
import { randomBase62, randomKey } from '../../crypto/random';
import type { Barrier } from '../barrier/barrier';
import type { InvalidationBus } from '../cluster/invalidation-bus';
import type { KernelSecretsRepository } from '../kernel-secrets.repository';
import type { NewTokenRow, TokenRepository, TokenRow } from './token.repository';
import { BATCH_PREFIX, batchTokenRow, decodeBatchToken, encodeBatchToken, type BatchFields } from './batch-token';
import { initialTtl, renewedExpiry } from './token-ttl';

export const TOKEN_HMAC_KEY_NAME = 'token_hmac_key';
/** Longer than any token this server issues (service tokens are 28 characters, batch tokens at most this). */
export const MAX_TOKEN_LENGTH = 2048;

/** What a request learns about its token (internal: never sent as is; declared in the framework). */
export type TokenInfo = TokenRow;

export interface NewToken {
  id?: string;
  policies: string[];
  parent?: TokenInfo;
  orphan: boolean;
  displayName: string;
  creationPath: string;
  meta: Record<string, string>;
  renewable: boolean;
  ttlSeconds?: number;
  explicitMaxTtlSeconds?: number;
  /** The max TTL of the auth role or mount issuing the token (not shown as explicit_max_ttl). */
  maxTtlSeconds?: number;
  periodSeconds?: number;
  numUses?: number;
  boundCidrs?: string[];
  /** Default service. */
  tokenType?: 'service' | 'batch';
  roleName?: string;
}

export function newServiceTokenId(): string {
  return `hvs.${randomBase62(24)}`;
}

function buildRow(hmacKey: Buffer, token: string, spec: NewToken, now: number): NewTokenRow {
  const accessor = randomBase62(24);
  const tokenHmac = hmacSha256(hmacKey, token);
  const root = spec.policies.includes('root') && !spec.ttlSeconds && !spec.periodSeconds && !spec.explicitMaxTtlSeconds && !spec.parent?.expiresAt;
  const ttl = root
    ? { ttlSeconds: 0, expiresAt: null, maxExpiresAt: null }
    : initialTtl({
        now,
        ttlSeconds: spec.ttlSeconds,
        explicitMaxTtlSeconds: spec.explicitMaxTtlSeconds,
        maxTtlSeconds: spec.maxTtlSeconds,
        periodSeconds: spec.periodSeconds,
        parentExpiresAt: spec.parent?.expiresAt?.getTime() ?? null,
      });
  return {
    accessor,
    tokenHmac,
    accessorHmac: hmacSha256(hmacKey, `accessor:${accessor}`),
    parentTokenHmac: spec.orphan || !spec.parent ? null : spec.parent.tokenHmac,
    policies: spec.policies,
    tokenType: 'service',
    displayName: spec.displayName,
    creationPath: spec.creationPath,
    expiresAt: ttl.expiresAt === null ? null : new Date(ttl.expiresAt),
    maxExpiresAt: ttl.maxExpiresAt === null ? null : new Date(ttl.maxExpiresAt),
    orphan: spec.orphan || !spec.parent,
    ttlSeconds: ttl.ttlSeconds,
    explicitMaxTtlSeconds: spec.explicitMaxTtlSeconds ?? 0,
    periodSeconds: spec.periodSeconds ?? 0,
    usesRemaining: spec.numUses ? spec.numUses : null,
    numUsesInitial: spec.numUses ?? 0,
    renewable: root ? false : spec.renewable,
    meta: spec.meta,
    boundCidrs: spec.boundCidrs ?? [],
    roleName: spec.roleName ?? null,
  };
}

/** Most token records this node keeps in memory. */
const CACHE_LIMIT = 10_000;

export class TokenStore {
  private hmacKey: Buffer | null = null;
  /**
   * Records of unlimited-use service tokens by HMAC (hex). Served only while the invalidation bus
   * is live; limited-use tokens are never cached (their count lives in the database).
   */
  private readonly cache = new Map<string, TokenRow>();
  /** Decrypted accessors of cached records (audit needs one per request); they go with their record. */
  private readonly accessorCache = new WeakMap<TokenRow, string>();
  /** Each copy of a cached row handed out points at the cached row, which keeps the decrypted accessor for all of them. */
  private readonly copiedFrom = new WeakMap<TokenRow, TokenRow>();

  constructor(
    private readonly tokens: TokenRepository,
    private readonly secrets: KernelSecretsRepository,
    private readonly barrier: Barrier,
    private readonly bus?: InvalidationBus,
  ) {
    bus?.subscribe((i) => {
      if (i.topic !== undefined && i.topic !== 'token') return;
      if (i.key === undefined) this.cache.clear();
      else this.cache.delete(i.key);
    });
  }

  /** The record for an HMAC, from the cache when it may serve, else from the database. */
  private async fetch(tokenHmac: Buffer): Promise<TokenRow | undefined> {
    const key = tokenHmac.toString('hex');
    if (this.bus?.live) {
      const hit = this.cache.get(key);
      if (hit) {
        const copy = { ...hit };
        this.copiedFrom.set(copy, hit);
        return copy;
      }
    }
    const generation = this.bus?.generation;
    const row = await this.tokens.findByHmac(tokenHmac);
    // Cache only if no invalidation arrived while reading: the row could predate it.
    if (row && row.usesRemaining === null && this.bus?.live && this.bus.generation === generation) {
      if (this.cache.size >= CACHE_LIMIT) this.cache.delete(this.cache.keys().next().value as string);
      this.cache.set(key, { ...row });
    }
    return row;
  }

  private async invalidate(hmacs: Buffer[] | 'all'): Promise<void> {
    if (!this.bus) return;
    if (hmacs === 'all') return this.bus.publish('token');
    for (const h of hmacs) await this.bus.publish('token', h.toString('hex'));
  }

  /** Called after unseal: loads the HMAC key from the barrier. */
  async open(): Promise<void> {
    const hmacKey = await this.secrets.get(TOKEN_HMAC_KEY_NAME);
    if (!hmacKey) throw new Error('token HMAC key missing from kernel_secrets');
    this.close();
    this.hmacKey = hmacKey;
  }

  close(): void {
    zero(this.hmacKey);
    this.hmacKey = null;
    this.cache.clear();
  }

  private key(): Buffer {
    if (!this.hmacKey) throw new Error('token store is sealed');
    return this.hmacKey;
  }

  /** Part of the init transaction: creates the HMAC key and the root token, sealed by `barrier` (init's). Returns the root token. */
  static async initialise(
    manager: EntityManager,
    barrier: Barrier,
    tokens: TokenRepository,
    secrets: KernelSecretsRepository,
    rootTokenId?: string,
  ): Promise<string> {
    const hmacKey = randomKey();
    try {
      await secrets.withBarrier(barrier).insert(manager, TOKEN_HMAC_KEY_NAME, hmacKey);
      const token = rootTokenId ?? newServiceTokenId();
      const spec: NewToken = { policies: ['root'], orphan: true, displayName: 'root', creationPath: 'sys/init', meta: {}, renewable: false };
      await tokens.withBarrier(barrier).insert(buildRow(hmacKey, token, spec, Date.now()), manager);
      return token;
    } finally {
      zero(hmacKey);
    }
  }

  async create(spec: NewToken): Promise<{ token: string; accessor: string; info: TokenInfo }> {
    if (spec.tokenType === 'batch') return this.createBatch(spec);
    const token = spec.id ?? newServiceTokenId();
    const now = Date.now();
    const { accessor, ...fields } = buildRow(this.key(), token, spec, now);
    let row: Omit<TokenRow, 'createdAt'>;
    try {
      row = await this.tokens.insert({ accessor, ...fields });
    } catch (err) {
      if ((err as { code?: string }).code === '23505') throw new TokenConflictError();
      throw err;
    }
    return { token, accessor, info: { ...row, createdAt: new Date(now) } };
  }

  private async createBatch(spec: NewToken): Promise<{ token: string; accessor: string; info: TokenInfo }> {
    const now = Date.now();
    const ttl = initialTtl({
      now,
      ttlSeconds: spec.ttlSeconds,
      explicitMaxTtlSeconds: spec.explicitMaxTtlSeconds,
      maxTtlSeconds: spec.maxTtlSeconds,
      parentExpiresAt: spec.parent?.expiresAt?.getTime() ?? null,
    });
    if (ttl.expiresAt === null) throw new Error('batch tokens always expire');
    const fields: BatchFields = {
      policies: spec.policies,
      parentTokenHmac: spec.orphan || !spec.parent ? null : spec.parent.tokenHmac,
      createdAt: new Date(now),
      expiresAt: new Date(ttl.expiresAt),
      ttlSeconds: ttl.ttlSeconds,
      displayName: spec.displayName,
      creationPath: spec.creationPath,
      meta: spec.meta,
      boundCidrs: spec.boundCidrs ?? [],
      roleName: spec.roleName ?? null,
    };
    const token = await encodeBatchToken(this.barrier, fields);
    if (token.length > MAX_TOKEN_LENGTH) throw new BatchTokenTooLargeError();
    return { token, accessor: '', info: batchTokenRow(fields, hmacSha256(this.key(), token)) };
  }

  /** The token's record, or undefined for unknown, expired or malformed tokens. */
  async lookup(token: string): Promise<TokenInfo | undefined> {
    if (!this.hmacKey || token.length === 0 || token.length > MAX_TOKEN_LENGTH) return undefined;
    const tokenHmac = hmacSha256(this.hmacKey, token);
    if (token.startsWith(BATCH_PREFIX)) {
      const batch = this.live(await decodeBatchToken(this.barrier, token, tokenHmac));
      // A non-orphan batch token lives only as long as its parent.
      if (!batch || (batch.parentTokenHmac && !this.live(await this.fetch(batch.parentTokenHmac)))) return undefined;
      return batch;
    }
    return this.live(await this.fetch(tokenHmac));
  }

  async lookupAccessor(accessor: string): Promise<TokenInfo | undefined> {
    if (!this.hmacKey || accessor.length === 0 || accessor.length > MAX_TOKEN_LENGTH) return undefined;
    return this.live(await this.tokens.findByAccessorHmac(hmacSha256(this.hmacKey, `accessor:${accessor}`)));
  }

  private live(row: TokenRow | undefined): TokenInfo | undefined {
    if (!row) return undefined;
    if (row.expiresAt && row.expiresAt.getTime() <= Date.now()) return undefined;
    if (row.usesRemaining === 0) return undefined;
    return row;
  }

  accessorOf(info: TokenInfo): string {
    if (info.tokenType === 'batch') return '';
    const row = this.copiedFrom.get(info) ?? info;
    let accessor = this.accessorCache.get(row);
    if (accessor === undefined) {
      accessor = this.tokens.openAccessor(info);
      this.accessorCache.set(row, accessor);
    }
    return accessor;
  }

  /** Spends one use. False when a limited token has none left (then it is revoked). */
  async use(info: TokenInfo): Promise<boolean> {
    if (info.usesRemaining === null) return true;
    const left = await this.tokens.consumeUse(info.tokenHmac);
    if (left === undefined) {
      await this.invalidate(await this.tokens.deleteTree(info.tokenHmac));
      return false;
    }
    info.usesRemaining = left;
    return true;
  }

  /** Revokes a token whose last use was just spent (after the request that spent it). */
  async revokeIfSpent(info: TokenInfo): Promise<void> {
    if (info.usesRemaining === 0) await this.invalidate(await this.tokens.deleteTree(info.tokenHmac));
  }

  /** Renews a token; returns the new TTL in seconds. The caller checks renewability. */
  async renew(info: TokenInfo, incrementSeconds: number): Promise<number> {
    const now = Date.now();
    const expiresAt = renewedExpiry(
      now,
      { ttlSeconds: info.ttlSeconds, periodSeconds: info.periodSeconds, maxExpiresAt: info.maxExpiresAt?.getTime() ?? null },
      incrementSeconds,
    );
    await this.tokens.setExpiry(info.tokenHmac, new Date(expiresAt));
    await this.invalidate([info.tokenHmac]);
    info.expiresAt = new Date(expiresAt);
    return Math.max(0, Math.round((expiresAt - now) / 1000));
  }

  /** Revokes the token and all its non-orphan descendants. */
  async revoke(info: TokenInfo): Promise<number> {
    const removed = await this.tokens.deleteTree(info.tokenHmac);
    await this.invalidate(removed);
    return removed.length;
  }

  async revokeOrphan(info: TokenInfo): Promise<void> {
    await this.tokens.deleteOrphaningChildren(info.tokenHmac);
    // The children's records changed too (now orphans): drop every cached record.
    await this.invalidate('all');
  }

  /** After tokens were deleted in bulk (an auth mount disabled). */
  async invalidateAll(): Promise<void> {
    await this.invalidate('all');
  }

  /** Deletes expired and spent tokens (auth/token/tidy). */
  async tidy(): Promise<number> {
    return this.tokens.deleteExpired(new Date());
  }

  async accessors(): Promise<string[]> {
    return this.tokens.accessors();
  }

  /** Remaining TTL in whole seconds (0 for tokens that never expire). */
  static remainingTtl(info: TokenInfo, now = Date.now()): number {
    return info.expiresAt ? Math.max(0, Math.round((info.expiresAt.getTime() - now) / 1000)) : 0;
  }
}

export class BatchTokenTooLargeError extends Error {
  constructor() {
    super(`batch token would be longer than ${MAX_TOKEN_LENGTH} characters: use fewer policies or less metadata`);
    this.name = 'BatchTokenTooLargeError';
  }
}

export class TokenConflictError extends Error {
  constructor() {
    super('cannot create a token with a duplicate ID');
    this.name = 'TokenConflictError';
  }
}
