/**
 * AppRole storage: `roles` (one row per role per mount), `secret_ids` and `secret_id_tombstones`
 * (HMACs only, see the migrations). Every query is scoped by mount or by role, so a secret ID is
 * only ever found through the role it was issued for.
 *
 * Invariant: a secret ID stays known to its role (a login presenting it is told apart from a
 * guess) from its creation until it is destroyed, or until the first tidy a day after it stopped
 * being usable (used up or expired): a statement that deletes a used-up or expired row writes its
 * tombstone in the same statement, so a concurrent login sees the row or the tombstone, never neither.
 * A secret ID's accessor is also kept sealed in SECRET_ID_ACCESSOR (for listing): it goes in and
 * comes out of this class in the clear only.
 */
import type { DataSource } from 'typeorm';
import { affectedRows, returningRows } from '../../database/sql';
import type { Barrier } from '../../kernel/barrier/barrier';
import { type Ciphertext, SealedColumn } from '../../kernel/barrier/sealed-column';
import { SECRET_ID_ACCESSOR } from '../../kernel/barrier/sealed-columns';
import type { TokenSettings } from '../../shared/token/token-fields';
import type { AppRole } from './approle-role';

/** A stored role with its row key. */
export interface StoredRole extends AppRole {
  pk: string;
}

interface SecretIdFields {
  secretIdHmac: Buffer;
  accessorHmac: Buffer;
  /** Null: unlimited. */
  usesRemaining: number | null;
  ttlSeconds: number;
  cidrList: string[];
  tokenBoundCidrs: string[];
  metadata: Record<string, string>;
}

/** A secret ID to store, its accessor in the clear (this class seals it). */
export interface NewSecretId extends SecretIdFields {
  accessor: string;
}

export interface SecretIdRow extends SecretIdFields {
  pk: string;
  /** Sealed: openAccessor opens it. */
  accessorCiphertext: Ciphertext;
  expiresAt: Date | null;
  createdAt: Date;
  lastUpdatedAt: Date;
}

export class RoleIdConflictError extends Error {}
export class SecretIdConflictError extends Error {}

interface RoleRecord {
  pk: string;
  role_name: string;
  role_id: string;
  token_policies: string[];
  ttl_seconds: number;
  max_ttl_seconds: number;
  bind_secret_id: boolean;
  secret_id_num_uses: number;
  secret_id_ttl_seconds: number;
  bound_cidr_list: string[];
  token_settings: TokenSettings;
}

/** The role columns, qualified by a table alias (`r.`) where a query joins. */
function roleColumns(alias = ''): string {
  return `${alias}id::text AS pk, ${['role_name', 'role_id', 'token_policies', 'ttl_seconds', 'max_ttl_seconds', 'bind_secret_id', 'secret_id_num_uses', 'secret_id_ttl_seconds', 'bound_cidr_list', 'token_settings'].map((c) => alias + c).join(', ')}`;
}

const SECRET_ID_COLUMNS = `id::text AS "pk", secret_id_hmac AS "secretIdHmac", accessor_hmac AS "accessorHmac",
  accessor_ciphertext AS "accessorCiphertext", uses_remaining AS "usesRemaining", ttl_seconds AS "ttlSeconds",
  expires_at AS "expiresAt", cidr_list AS "cidrList", token_bound_cidrs AS "tokenBoundCidrs", metadata,
  created_at AS "createdAt", last_updated_at AS "lastUpdatedAt"`;

/** A secret ID is live while not expired (on the database clock) and not used up. */
function live(alias = ''): string {
  return `(${alias}expires_at IS NULL OR ${alias}expires_at > now()) AND (${alias}uses_remaining IS NULL OR ${alias}uses_remaining > 0)`;
}
const LIVE = live();

/** How long a tombstone outlives its secret ID (tidy removes it after that). */
const TOMBSTONE_RETENTION = "interval '1 day'";

/** When a row that is not live stopped being usable: its last use, else its expiry. */
function retiredAt(alias = ''): string {
  return `CASE WHEN ${alias}uses_remaining = 0 THEN ${alias}last_updated_at ELSE ${alias}expires_at END`;
}

/** Tombstones for the rows a DELETE … RETURNING gave as `gone` (a later retirement wins). */
const BURY = `INSERT INTO secret_id_tombstones AS t (role_pk, secret_id_hmac, retired_at)
  SELECT role_pk, secret_id_hmac, retired_at FROM gone WHERE retired_at > now() - ${TOMBSTONE_RETENTION}
  ON CONFLICT (role_pk, secret_id_hmac) DO UPDATE SET retired_at = GREATEST(t.retired_at, EXCLUDED.retired_at)`;

function toRole(r: RoleRecord): StoredRole {
  const s = r.token_settings;
  return {
    pk: r.pk,
    name: r.role_name,
    roleId: r.role_id,
    bindSecretId: r.bind_secret_id,
    secretIdBoundCidrs: r.bound_cidr_list,
    secretIdNumUses: r.secret_id_num_uses,
    secretIdTtl: r.secret_id_ttl_seconds,
    tokenPolicies: r.token_policies,
    tokenTtl: r.ttl_seconds,
    tokenMaxTtl: r.max_ttl_seconds,
    tokenBoundCidrs: s.tokenBoundCidrs,
    tokenExplicitMaxTtl: s.tokenExplicitMaxTtl,
    tokenNoDefaultPolicy: s.tokenNoDefaultPolicy,
    tokenNumUses: s.tokenNumUses,
    tokenPeriod: s.tokenPeriod,
    tokenType: s.tokenType,
  };
}

function isUniqueViolation(err: unknown, constraint: string): boolean {
  const e = err as { code?: string; constraint?: string; driverError?: { constraint?: string } };
  return e.code === '23505' && (e.constraint ?? e.driverError?.constraint) === constraint;
}

export class AppRoleRepository {
  private readonly accessors: SealedColumn<Buffer>;

  constructor(
    private readonly dataSource: DataSource,
    barrier: Barrier,
  ) {
    this.accessors = new SealedColumn(SECRET_ID_ACCESSOR, barrier);
  }

  /** A secret ID's accessor, opened. */
  openAccessor(row: Pick<SecretIdRow, 'secretIdHmac' | 'accessorCiphertext'>): string {
    return this.accessors.open(row.secretIdHmac, row.accessorCiphertext).toString();
  }

  async getRole(mountUuid: string, name: string): Promise<StoredRole | undefined> {
    const rows: RoleRecord[] = await this.dataSource.query(`SELECT ${roleColumns()} FROM roles WHERE mount_uuid = $1 AND role_name = $2`, [mountUuid, name]);
    return rows[0] && toRole(rows[0]);
  }

  async roleNames(mountUuid: string): Promise<string[]> {
    const rows: { role_name: string }[] = await this.dataSource.query('SELECT role_name FROM roles WHERE mount_uuid = $1 ORDER BY role_name', [mountUuid]);
    return rows.map((r) => r.role_name);
  }

  /** Creates or replaces the role named `role.name`; throws RoleIdConflictError when its role_id is another role's. */
  async putRole(mountUuid: string, role: AppRole): Promise<void> {
    const settings: TokenSettings = {
      tokenBoundCidrs: role.tokenBoundCidrs,
      tokenExplicitMaxTtl: role.tokenExplicitMaxTtl,
      tokenNoDefaultPolicy: role.tokenNoDefaultPolicy,
      tokenNumUses: role.tokenNumUses,
      tokenPeriod: role.tokenPeriod,
      tokenType: role.tokenType,
    };
    try {
      await this.dataSource.query(
        `INSERT INTO roles (mount_uuid, role_name, role_id, policies, token_policies, ttl_seconds, max_ttl_seconds, bind_secret_id,
                            secret_id_num_uses, secret_id_ttl_seconds, bound_cidr_list, token_settings)
         VALUES ($1, $2, $3, $4, $4, $5, $6, $7, $8, $9, $10, $11::jsonb)
         ON CONFLICT (mount_uuid, role_name) DO UPDATE SET
           role_id = EXCLUDED.role_id, policies = EXCLUDED.policies, token_policies = EXCLUDED.token_policies,
           ttl_seconds = EXCLUDED.ttl_seconds, max_ttl_seconds = EXCLUDED.max_ttl_seconds, bind_secret_id = EXCLUDED.bind_secret_id,
           secret_id_num_uses = EXCLUDED.secret_id_num_uses, secret_id_ttl_seconds = EXCLUDED.secret_id_ttl_seconds,
           bound_cidr_list = EXCLUDED.bound_cidr_list, token_settings = EXCLUDED.token_settings, updated_at = now()`,
        [
          mountUuid,
          role.name,
          role.roleId,
          role.tokenPolicies,
          role.tokenTtl,
          role.tokenMaxTtl,
          role.bindSecretId,
          role.secretIdNumUses,
          role.secretIdTtl,
          role.secretIdBoundCidrs,
          JSON.stringify(settings),
        ],
      );
    } catch (err) {
      if (isUniqueViolation(err, 'roles_mount_uuid_role_id_key')) throw new RoleIdConflictError('role_id already in use');
      throw err;
    }
  }

  /** Deletes the role; its secret IDs go with it (ON DELETE CASCADE). */
  async deleteRole(mountUuid: string, name: string): Promise<boolean> {
    return (await affectedRows(this.dataSource, 'DELETE FROM roles WHERE mount_uuid = $1 AND role_name = $2', [mountUuid, name])) > 0;
  }

  async insertSecretId(rolePk: string, s: NewSecretId): Promise<void> {
    const accessorCiphertext = await this.accessors.seal(s.secretIdHmac, Buffer.from(s.accessor));
    try {
      await this.dataSource.query(
        `INSERT INTO secret_ids (role_pk, secret_id_hmac, accessor_hmac, accessor_ciphertext, uses_remaining, ttl_seconds, expires_at, cidr_list, token_bound_cidrs, metadata)
         VALUES ($1, $2, $3, $4, $5, $6, CASE WHEN $6::integer > 0 THEN now() + make_interval(secs => $6::integer) END, $7, $8, $9::jsonb)`,
        [rolePk, s.secretIdHmac, s.accessorHmac, accessorCiphertext, s.usesRemaining, s.ttlSeconds, s.cidrList, s.tokenBoundCidrs, JSON.stringify(s.metadata)],
      );
    } catch (err) {
      if (isUniqueViolation(err, 'secret_ids_role_pk_secret_id_hmac_key')) throw new SecretIdConflictError('SecretID is already registered');
      throw err;
    }
  }

  /** A live secret ID of the role, by the HMAC of the secret ID or of its accessor. */
  async findSecretId(rolePk: string, by: 'secret_id_hmac' | 'accessor_hmac', hmac: Buffer): Promise<SecretIdRow | undefined> {
    const rows: SecretIdRow[] = await this.dataSource.query(`SELECT ${SECRET_ID_COLUMNS} FROM secret_ids WHERE role_pk = $1 AND ${by} = $2 AND ${LIVE}`, [
      rolePk,
      hmac,
    ]);
    return rows[0];
  }

  async deleteSecretId(rolePk: string, by: 'secret_id_hmac' | 'accessor_hmac', hmac: Buffer): Promise<boolean> {
    return (await affectedRows(this.dataSource, `DELETE FROM secret_ids WHERE role_pk = $1 AND ${by} = $2`, [rolePk, hmac])) > 0;
  }

  /** The accessors of the role's live secret IDs, opened. */
  async liveAccessors(rolePk: string): Promise<string[]> {
    const rows: Pick<SecretIdRow, 'secretIdHmac' | 'accessorCiphertext'>[] = await this.dataSource.query(
      `SELECT secret_id_hmac AS "secretIdHmac", accessor_ciphertext AS "accessorCiphertext" FROM secret_ids WHERE role_pk = $1 AND ${LIVE}`,
      [rolePk],
    );
    return rows.map((r) => this.openAccessor(r));
  }

  /**
   * What a login needs in one read: the enabled role with this role_id on the mount and, if the
   * role has one, its live secret ID with this HMAC (one query whether or not either exists).
   * `retired`: the HMAC is of a secret ID the role issued that is no longer usable (a row that is
   * not live, a tombstone, or a live row spent between the two reads).
   */
  async findLogin(
    mountUuid: string,
    roleId: string,
    secretIdHmac: Buffer,
  ): Promise<{ role: StoredRole; secretId?: SecretIdRow; retired: boolean } | undefined> {
    const rows: (RoleRecord & { secret_pk: string | null; secret_live: boolean; tombstoned: boolean })[] = await this.dataSource.query(
      `SELECT ${roleColumns('r.')}, s.id::text AS secret_pk, (s.id IS NOT NULL AND ${live('s.')}) AS secret_live,
              EXISTS (SELECT 1 FROM secret_id_tombstones t WHERE t.role_pk = r.id AND t.secret_id_hmac = $3) AS tombstoned
         FROM roles r LEFT JOIN secret_ids s ON s.role_pk = r.id AND s.secret_id_hmac = $3
        WHERE r.mount_uuid = $1 AND r.role_id = $2 AND r.enabled`,
      [mountUuid, roleId, secretIdHmac],
    );
    const row = rows[0];
    if (!row) return undefined;
    const role = toRole(row);
    if (row.secret_pk === null || !row.secret_live) return { role, retired: row.secret_pk !== null || row.tombstoned };
    const secret: SecretIdRow[] = await this.dataSource.query(`SELECT ${SECRET_ID_COLUMNS} FROM secret_ids WHERE id = $1`, [row.secret_pk]);
    return secret[0] ? { role, secretId: secret[0], retired: false } : { role, retired: true };
  }

  /**
   * Spends one use of a live secret ID in one conditional UPDATE, so N uses admit exactly N
   * logins however many race. Returns the uses left (null: unlimited), or undefined when it was
   * no longer live. A secret ID whose last use this was is replaced by its tombstone.
   */
  async consumeUse(secretPk: string): Promise<number | null | undefined> {
    const rows = await returningRows<{ uses_remaining: number | null }>(
      this.dataSource,
      `UPDATE secret_ids SET uses_remaining = uses_remaining - 1, last_updated_at = now()
        WHERE id = $1 AND ${LIVE} RETURNING uses_remaining`,
      [secretPk],
    );
    if (rows.length === 0) return undefined;
    const left = rows[0].uses_remaining;
    if (left === 0) {
      await this.dataSource.query(
        `WITH gone AS (DELETE FROM secret_ids WHERE id = $1 AND uses_remaining = 0 RETURNING role_pk, secret_id_hmac, ${retiredAt()} AS retired_at) ${BURY}`,
        [secretPk],
      );
    }
    return left;
  }

  /**
   * Replaces the mount's expired and used-up secret IDs by tombstones, and deletes the tombstones
   * retired more than TOMBSTONE_RETENTION ago; gives how many of each went.
   */
  async tidy(mountUuid: string): Promise<{ secretIds: number; tombstones: number }> {
    const [{ n }]: { n: number }[] = await this.dataSource.query(
      `WITH gone AS (
         DELETE FROM secret_ids s USING roles r
          WHERE s.role_pk = r.id AND r.mount_uuid = $1 AND NOT (${live('s.')})
          RETURNING s.role_pk, s.secret_id_hmac, ${retiredAt('s.')} AS retired_at),
       buried AS (${BURY})
       SELECT count(*)::int AS n FROM gone`,
      [mountUuid],
    );
    const tombstones = await affectedRows(
      this.dataSource,
      `DELETE FROM secret_id_tombstones t USING roles r
        WHERE t.role_pk = r.id AND r.mount_uuid = $1 AND t.retired_at <= now() - ${TOMBSTONE_RETENTION}`,
      [mountUuid],
    );
    return { secretIds: n, tombstones };
  }
}
