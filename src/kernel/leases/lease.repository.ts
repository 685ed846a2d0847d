/**
 * SQL for leases. Due leases are claimed with FOR UPDATE SKIP LOCKED inside a short transaction
 * that pushes their next attempt forward, so several nodes share the expiry work without revoking
 * one lease twice at once.
 */
import type { DataSource } from 'typeorm';
import { affectedRows, returningRows } from '../../database/sql';
import type { Barrier } from '../barrier/barrier';
import { type Ciphertext, SealedColumn } from '../barrier/sealed-column';
import { LEASE_CREDENTIALS, LEASE_SOURCE_IP } from '../barrier/sealed-columns';

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

const COLUMNS = `lease_id, secret_path, mount_uuid::text, engine_type, token_hmac, display_name, issued_at, expires_at, max_expires_at,
  ttl_seconds, renewable, renewed_count, last_renewed_at, revoked, revoked_at, revocation_reason, credentials_ciphertext,
  engine_metadata, source_ip, correlation_id, revoke_attempts, last_error, irrevocable`;

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

export class LeaseRepository {
  private readonly credentials: SealedColumn<string>;
  private readonly sourceIps: SealedColumn<string>;

  constructor(
    private readonly dataSource: DataSource,
    barrier: Barrier,
  ) {
    this.credentials = new SealedColumn(LEASE_CREDENTIALS, barrier);
    this.sourceIps = new SealedColumn(LEASE_SOURCE_IP, barrier);
  }

  /** The engine's `internal` data of the lease, opened. */
  internalOf(lease: Pick<LeaseRow, 'leaseId' | 'credentialsCiphertext'>): Record<string, unknown> {
    return this.credentials.openJson<Record<string, unknown>>(lease.leaseId, lease.credentialsCiphertext);
  }

  async insert(l: NewLease): Promise<void> {
    const credentials = await this.credentials.sealJson(l.leaseId, l.internal);
    const sourceIp = l.sourceIp === null ? null : (await this.sourceIps.seal(l.leaseId, Buffer.from(l.sourceIp, 'utf8'))).toString('base64');
    await this.dataSource.query(
      `INSERT INTO leases (lease_id, secret_path, mount_uuid, engine_type, token_hmac, display_name, issued_at, expires_at, max_expires_at,
         ttl_seconds, renewable, credentials_ciphertext, engine_metadata, source_ip, correlation_id)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13::jsonb, $14, $15)`,
      [
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
      ],
    );
  }

  async get(leaseId: string): Promise<LeaseRow | undefined> {
    const rows: Record<string, unknown>[] = await this.dataSource.query(`SELECT ${COLUMNS} FROM leases WHERE lease_id = $1`, [leaseId]);
    return rows[0] ? toRow(rows[0]) : undefined;
  }

  /** Ids of the unrevoked leases under a prefix (all of them: revoke-prefix needs every one). */
  async idsWithPrefix(prefix: string): Promise<string[]> {
    const rows: { lease_id: string }[] = await this.dataSource.query(
      "SELECT lease_id FROM leases WHERE lease_id LIKE $1 ESCAPE '\\' AND NOT revoked ORDER BY lease_id",
      [likePrefix(prefix)],
    );
    return rows.map((r) => r.lease_id);
  }

  /** The engine metadata of a mount's unrevoked leases whose metadata contains `match`. */
  async liveMetadata(mountUuid: string, match: Record<string, unknown>): Promise<Record<string, unknown>[]> {
    const rows: { engine_metadata: Record<string, unknown> }[] = await this.dataSource.query(
      'SELECT engine_metadata FROM leases WHERE mount_uuid = $1 AND NOT revoked AND engine_metadata @> $2::jsonb',
      [mountUuid, JSON.stringify(match)],
    );
    return rows.map((r) => r.engine_metadata);
  }

  /**
   * Sets the new expiry of a live renewable lease; the updated row, or undefined when it was not
   * live. `ttl_seconds` keeps the TTL granted at issue: it is the default increment of every renewal.
   */
  async renew(leaseId: string, expiresAt: Date, now: Date): Promise<LeaseRow | undefined> {
    const rows = await returningRows<Record<string, unknown>>(
      this.dataSource,
      `UPDATE leases SET expires_at = $2, renewed_count = renewed_count + 1, last_renewed_at = $3
        WHERE lease_id = $1 AND renewable AND NOT revoked AND expires_at > $3 RETURNING ${COLUMNS}`,
      [leaseId, expiresAt, now],
    );
    return rows[0] ? toRow(rows[0]) : undefined;
  }

  /** The irrevocable leases (at most `limit`, oldest first) and how many there are in all. */
  async irrevocable(limit: number): Promise<{ total: number; leases: { leaseId: string; mountUuid: string; lastError: string | null }[] }> {
    const [{ total }]: { total: number }[] = await this.dataSource.query('SELECT count(*)::int AS total FROM leases WHERE irrevocable AND NOT revoked');
    const rows: { lease_id: string; mount_uuid: string; last_error: string | null }[] = await this.dataSource.query(
      'SELECT lease_id, mount_uuid::text, last_error FROM leases WHERE irrevocable AND NOT revoked ORDER BY expires_at, lease_id LIMIT $1',
      [limit],
    );
    return { total, leases: rows.map((r) => ({ leaseId: r.lease_id, mountUuid: r.mount_uuid, lastError: r.last_error })) };
  }

  async markRevoked(leaseId: string, reason: string, now: Date): Promise<void> {
    await this.dataSource.query(
      'UPDATE leases SET revoked = true, revoked_at = $3, revocation_reason = $2, irrevocable = false, next_attempt_at = NULL WHERE lease_id = $1 AND NOT revoked',
      [leaseId, reason, now],
    );
  }

  /** A failed revocation: the next attempt after `retryAt`, or irrevocable (no more automatic attempts). */
  async recordFailure(leaseId: string, error: string, retryAt: Date, irrevocable: boolean): Promise<void> {
    await this.dataSource.query(
      'UPDATE leases SET revoke_attempts = revoke_attempts + 1, last_error = $2, next_attempt_at = $3, irrevocable = $4 WHERE lease_id = $1 AND NOT revoked',
      [leaseId, error, retryAt, irrevocable],
    );
  }

  /**
   * Claims up to `limit` due leases: expired, or issued by a token that is gone or expired. Each
   * claimed lease's next attempt moves `leaseSeconds` ahead, so another node skips it meanwhile.
   */
  async claimDue(now: Date, limit: number, leaseSeconds: number): Promise<string[]> {
    const rows = await returningRows<{ lease_id: string }>(
      this.dataSource,
      `WITH due AS (
         SELECT l.lease_id FROM leases l
          WHERE NOT l.revoked AND NOT l.irrevocable AND (l.next_attempt_at IS NULL OR l.next_attempt_at <= $1)
            AND (l.expires_at <= $1 OR (l.token_hmac IS NOT NULL AND NOT EXISTS (
                  SELECT 1 FROM tokens t WHERE t.token_hmac = l.token_hmac AND (t.expires_at IS NULL OR t.expires_at > $1))))
          ORDER BY l.expires_at LIMIT $2 FOR UPDATE OF l SKIP LOCKED)
       UPDATE leases SET next_attempt_at = $1::timestamptz + make_interval(secs => $3::float8)
        WHERE lease_id IN (SELECT lease_id FROM due) RETURNING lease_id`,
      [now, limit, leaseSeconds],
    );
    return rows.map((r) => r.lease_id);
  }

  /** Removes the records (revoke-force): the engine is not asked. Gives how many. */
  async deleteWithPrefix(prefix: string): Promise<number> {
    return affectedRows(this.dataSource, "DELETE FROM leases WHERE lease_id LIKE $1 ESCAPE '\\'", [likePrefix(prefix)]);
  }

  /** Drops revoked records older than `before`. */
  async tidy(before: Date): Promise<number> {
    return affectedRows(this.dataSource, 'DELETE FROM leases WHERE revoked AND revoked_at < $1', [before]);
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
