/**
 * SQL for leases. Due leases are claimed with FOR UPDATE SKIP LOCKED inside a short transaction
 * that pushes their next attempt forward and records the claimer, so several nodes share the expiry
 * work without revoking one lease twice at once; a claim whose process stopped heartbeating in the
 * node registry (killed mid-revocation) is taken over without waiting for the claim to run out.
 */
import type { DataSource } from 'typeorm';
import { entityNames, type EntityNames } from '../../database/entity-names';
import { affectedRows, returningRows } from '../../database/sql';
import type { Barrier } from '../barrier/barrier';
import { type Ciphertext, SealedColumn } from '../barrier/sealed-column';
import { LEASE_CREDENTIALS, LEASE_SOURCE_IP } from '../barrier/sealed-columns';
import { HaNodeEntity } from '../cluster/ha.entity';
import { TokenEntity } from '../token/token.entity';
import { LeaseEntity } from './lease.entity';

export interface LeaseRow {
  leaseId: string;
  secretPath: string;
  mountUuid: string;
  engineType: string;
  tokenHmac: Buffer | null;
  displayName: string;
  issuedAt: Date;
  expiresAt: Date;
  maxExpiresAt: Date;
  ttlSeconds: number;
  renewable: boolean;
  renewedCount: number;
  lastRenewedAt: Date | null;
  revoked: boolean;
  revokedAt: Date | null;
  revocationReason: string | null;
  /** The engine's `internal` data, sealed: internalOf opens it. */
  credentialsCiphertext: Ciphertext;
  engineMetadata: Record<string, unknown>;
  /** The client's address, sealed (base64): personal data, gone with the record. */
  sourceIp: string | null;
  correlationId: string | null;
  revokeAttempts: number;
  lastError: string | null;
  irrevocable: boolean;
}

function toRow(r: Record<string, unknown>): LeaseRow {
  return {
    leaseId: r.lease_id as string,
    secretPath: r.secret_path as string,
    mountUuid: r.mount_uuid as string,
    engineType: r.engine_type as string,
    tokenHmac: r.token_hmac as Buffer | null,
    displayName: r.display_name as string,
    issuedAt: r.issued_at as Date,
    expiresAt: r.expires_at as Date,
    maxExpiresAt: r.max_expires_at as Date,
    ttlSeconds: Number(r.ttl_seconds),
    renewable: r.renewable as boolean,
    renewedCount: Number(r.renewed_count),
    lastRenewedAt: r.last_renewed_at as Date | null,
    revoked: r.revoked as boolean,
    revokedAt: r.revoked_at as Date | null,
    revocationReason: r.revocation_reason as string | null,
    credentialsCiphertext: r.credentials_ciphertext as Ciphertext,
    engineMetadata: r.engine_metadata as Record<string, unknown>,
    sourceIp: r.source_ip as string | null,
    correlationId: r.correlation_id as string | null,
    revokeAttempts: Number(r.revoke_attempts),
    lastError: r.last_error as string | null,
    irrevocable: r.irrevocable as boolean,
  };
}

/** `LIKE` pattern for a literal prefix. */
const likePrefix = (prefix: string) => `${prefix.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;

/** A lease to record: its engine data and the client's address in the clear (this class seals them). */
export type NewLease = Omit<
  LeaseRow,
  'renewedCount' | 'lastRenewedAt' | 'revoked' | 'revokedAt' | 'revocationReason' | 'revokeAttempts' | 'lastError' | 'irrevocable' | 'credentialsCiphertext'
> & { internal: Record<string, unknown> };

type LeaseSql = ReturnType<typeof leaseSql>;

/** Rows are read by toRow under the aliases given here, whatever the column names. */
function leaseSql({ table, col }: EntityNames<LeaseEntity>, tokens: EntityNames<TokenEntity>, nodes: EntityNames<HaNodeEntity>) {
  const rowColumns = `${col.leaseId} AS lease_id, ${col.secretPath} AS secret_path, ${col.mountUuid}::text AS mount_uuid,
  ${col.engineType} AS engine_type, ${col.tokenHmac} AS token_hmac, ${col.displayName} AS display_name, ${col.issuedAt} AS issued_at,
  ${col.expiresAt} AS expires_at, ${col.maxExpiresAt} AS max_expires_at, ${col.ttlSeconds} AS ttl_seconds, ${col.renewable} AS renewable,
  ${col.renewedCount} AS renewed_count, ${col.lastRenewedAt} AS last_renewed_at, ${col.revoked} AS revoked, ${col.revokedAt} AS revoked_at,
  ${col.revocationReason} AS revocation_reason, ${col.credentialsCiphertext} AS credentials_ciphertext, ${col.engineMetadata} AS engine_metadata,
  ${col.sourceIp} AS source_ip, ${col.correlationId} AS correlation_id, ${col.revokeAttempts} AS revoke_attempts, ${col.lastError} AS last_error,
  ${col.irrevocable} AS irrevocable`;
  return {
    insert: `INSERT INTO ${table} (${col.leaseId}, ${col.secretPath}, ${col.mountUuid}, ${col.engineType}, ${col.tokenHmac}, ${col.displayName},
         ${col.issuedAt}, ${col.expiresAt}, ${col.maxExpiresAt}, ${col.ttlSeconds}, ${col.renewable}, ${col.credentialsCiphertext}, ${col.engineMetadata},
         ${col.sourceIp}, ${col.correlationId})
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13::jsonb, $14, $15)`,
    get: `SELECT ${rowColumns} FROM ${table} WHERE ${col.leaseId} = $1`,
    idsWithPrefix: `SELECT ${col.leaseId} AS lease_id FROM ${table}
       WHERE ${col.leaseId} LIKE $1 ESCAPE '\\' AND NOT ${col.revoked} ORDER BY ${col.leaseId}`,
    liveMetadata: `SELECT ${col.engineMetadata} AS engine_metadata FROM ${table}
       WHERE ${col.mountUuid} = $1 AND NOT ${col.revoked} AND ${col.engineMetadata} @> $2::jsonb`,
    renew: `UPDATE ${table} SET ${col.expiresAt} = $2, ${col.renewedCount} = ${col.renewedCount} + 1, ${col.lastRenewedAt} = $3
        WHERE ${col.leaseId} = $1 AND ${col.renewable} AND NOT ${col.revoked} AND ${col.expiresAt} > $3 RETURNING ${rowColumns}`,
    irrevocableCount: `SELECT count(*)::int AS total FROM ${table} WHERE ${col.irrevocable} AND NOT ${col.revoked}`,
    irrevocable: `SELECT ${col.leaseId} AS lease_id, ${col.mountUuid}::text AS mount_uuid, ${col.lastError} AS last_error FROM ${table}
       WHERE ${col.irrevocable} AND NOT ${col.revoked} ORDER BY ${col.expiresAt}, ${col.leaseId} LIMIT $1`,
    markRevoked: `UPDATE ${table} SET ${col.revoked} = true, ${col.revokedAt} = $3, ${col.revocationReason} = $2, ${col.irrevocable} = false,
       ${col.nextAttemptAt} = NULL WHERE ${col.leaseId} = $1 AND NOT ${col.revoked}`,
    recordFailure: `UPDATE ${table} SET ${col.revokeAttempts} = ${col.revokeAttempts} + 1, ${col.lastError} = $2, ${col.nextAttemptAt} = $3,
       ${col.irrevocable} = $4 WHERE ${col.leaseId} = $1 AND NOT ${col.revoked}`,
    claimDue: `WITH due AS (
         SELECT l.${col.leaseId} FROM ${table} l
          WHERE NOT l.${col.revoked} AND NOT l.${col.irrevocable}
            AND (l.${col.nextAttemptAt} IS NULL OR l.${col.nextAttemptAt} <= $1 OR (l.${col.claimedNodeId} IS NOT NULL AND NOT EXISTS (
                  SELECT 1 FROM ${nodes.table} n WHERE n.${nodes.col.nodeId} = l.${col.claimedNodeId} AND n.${nodes.col.workerId} = l.${col.claimedWorkerId}
                     AND n.${nodes.col.lastEcho} > now() - make_interval(secs => $6::float8))))
            AND (l.${col.expiresAt} <= $1 OR (l.${col.tokenHmac} IS NOT NULL AND NOT EXISTS (
                  SELECT 1 FROM ${tokens.table} t WHERE t.${tokens.col.tokenHmac} = l.${col.tokenHmac}
                     AND (t.${tokens.col.expiresAt} IS NULL OR t.${tokens.col.expiresAt} > $1))))
          ORDER BY l.${col.expiresAt} LIMIT $2 FOR UPDATE OF l SKIP LOCKED)
       UPDATE ${table} SET ${col.nextAttemptAt} = $1::timestamptz + make_interval(secs => $3::float8), ${col.claimedNodeId} = $4, ${col.claimedWorkerId} = $5
        WHERE ${col.leaseId} IN (SELECT ${col.leaseId} FROM due) RETURNING ${col.leaseId} AS lease_id`,
    deleteWithPrefix: `DELETE FROM ${table} WHERE ${col.leaseId} LIKE $1 ESCAPE '\\'`,
    tidy: `DELETE FROM ${table} WHERE ${col.revoked} AND ${col.revokedAt} < $1`,
  };
}

export class LeaseRepository {
  private readonly credentials: SealedColumn<string>;
  private readonly sourceIps: SealedColumn<string>;
  private sql?: LeaseSql;

  constructor(
    private readonly dataSource: DataSource,
    barrier: Barrier,
  ) {
    this.credentials = new SealedColumn(LEASE_CREDENTIALS, barrier);
    this.sourceIps = new SealedColumn(LEASE_SOURCE_IP, barrier);
  }

  private get statements(): LeaseSql {
    return (this.sql ??= leaseSql(
      entityNames(this.dataSource, LeaseEntity),
      entityNames(this.dataSource, TokenEntity),
      entityNames(this.dataSource, HaNodeEntity),
    ));
  }

  /** The engine's `internal` data of the lease, opened. */
  internalOf(lease: Pick<LeaseRow, 'leaseId' | 'credentialsCiphertext'>): Promise<Record<string, unknown>> {
    return this.credentials.openJson<Record<string, unknown>>(lease.leaseId, lease.credentialsCiphertext);
  }

  async insert(l: NewLease): Promise<void> {
    const credentials = await this.credentials.sealJson(l.leaseId, l.internal);
    const sourceIp = l.sourceIp === null ? null : (await this.sourceIps.seal(l.leaseId, Buffer.from(l.sourceIp, 'utf8'))).toString('base64');
    await this.dataSource.query(this.statements.insert, [
      l.leaseId,
      l.secretPath,
      l.mountUuid,
      l.engineType,
      l.tokenHmac,
      l.displayName,
      l.issuedAt,
      l.expiresAt,
      l.maxExpiresAt,
      l.ttlSeconds,
      l.renewable,
      credentials,
      JSON.stringify(l.engineMetadata),
      sourceIp,
      l.correlationId,
    ]);
  }

  async get(leaseId: string): Promise<LeaseRow | undefined> {
    const rows: Record<string, unknown>[] = await this.dataSource.query(this.statements.get, [leaseId]);
    return rows[0] ? toRow(rows[0]) : undefined;
  }

  /** Ids of the unrevoked leases under a prefix (all of them: revoke-prefix needs every one). */
  async idsWithPrefix(prefix: string): Promise<string[]> {
    const rows: { lease_id: string }[] = await this.dataSource.query(this.statements.idsWithPrefix, [likePrefix(prefix)]);
    return rows.map((r) => r.lease_id);
  }

  /** The engine metadata of a mount's unrevoked leases whose metadata contains `match`. */
  async liveMetadata(mountUuid: string, match: Record<string, unknown>): Promise<Record<string, unknown>[]> {
    const rows: { engine_metadata: Record<string, unknown> }[] = await this.dataSource.query(this.statements.liveMetadata, [mountUuid, JSON.stringify(match)]);
    return rows.map((r) => r.engine_metadata);
  }

  /**
   * Sets the new expiry of a live renewable lease; the updated row, or undefined when it was not
   * live. `ttl_seconds` keeps the TTL granted at issue: it is the default increment of every renewal.
   */
  async renew(leaseId: string, expiresAt: Date, now: Date): Promise<LeaseRow | undefined> {
    const rows = await returningRows<Record<string, unknown>>(this.dataSource, this.statements.renew, [leaseId, expiresAt, now]);
    return rows[0] ? toRow(rows[0]) : undefined;
  }

  /** The irrevocable leases (at most `limit`, oldest first) and how many there are in all. */
  async irrevocable(limit: number): Promise<{ total: number; leases: { leaseId: string; mountUuid: string; lastError: string | null }[] }> {
    const [{ total }]: { total: number }[] = await this.dataSource.query(this.statements.irrevocableCount);
    const rows: { lease_id: string; mount_uuid: string; last_error: string | null }[] = await this.dataSource.query(this.statements.irrevocable, [limit]);
    return { total, leases: rows.map((r) => ({ leaseId: r.lease_id, mountUuid: r.mount_uuid, lastError: r.last_error })) };
  }

  async markRevoked(leaseId: string, reason: string, now: Date): Promise<void> {
    await this.dataSource.query(this.statements.markRevoked, [leaseId, reason, now]);
  }

  /** A failed revocation: the next attempt after `retryAt`, or irrevocable (no more automatic attempts). */
  async recordFailure(leaseId: string, error: string, retryAt: Date, irrevocable: boolean): Promise<void> {
    await this.dataSource.query(this.statements.recordFailure, [leaseId, error, retryAt, irrevocable]);
  }

  /**
   * Claims up to `limit` due leases for `claimer`: expired, or issued by a token that is gone or
   * expired. Each claimed lease's next attempt moves `leaseSeconds` ahead, so another node skips it
   * meanwhile — unless the claimer's registry heartbeat is older than `claimerSilentSeconds`.
   */
  async claimDue(
    now: Date,
    limit: number,
    leaseSeconds: number,
    claimer: { nodeId: string; workerId: number },
    claimerSilentSeconds: number,
  ): Promise<string[]> {
    const rows = await returningRows<{ lease_id: string }>(this.dataSource, this.statements.claimDue, [
      now,
      limit,
      leaseSeconds,
      claimer.nodeId,
      claimer.workerId,
      claimerSilentSeconds,
    ]);
    return rows.map((r) => r.lease_id);
  }

  /** Removes the records (revoke-force): the engine is not asked. Gives how many. */
  async deleteWithPrefix(prefix: string): Promise<number> {
    return affectedRows(this.dataSource, this.statements.deleteWithPrefix, [likePrefix(prefix)]);
  }

  /** Drops revoked records older than `before`. */
  async tidy(before: Date): Promise<number> {
    return affectedRows(this.dataSource, this.statements.tidy, [before]);
  }

  /** The keys one level below `prefix` among unrevoked leases (Vault's LIST shape). */
  async listKeys(prefix: string): Promise<string[]> {
    const keys = new Set<string>();
    for (const id of await this.idsWithPrefix(prefix)) {
      const rest = id.slice(prefix.length);
      const slash = rest.indexOf('/');
      keys.add(slash >= 0 ? rest.slice(0, slash + 1) : rest);
    }
    return [...keys].sort();
  }
}
