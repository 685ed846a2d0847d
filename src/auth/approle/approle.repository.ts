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
 *
 * Admin operations (roles, secret IDs, tidy's tombstone purge) go through the entity API. SQL with
 * the entities' names, built once per instance: the statements every login runs (findLogin's two
 * reads, consumeUse; the entity API costs measurable CPU per call there), and the two statements
 * that replace secret IDs by their tombstones (a DELETE … RETURNING feeding an upsert, which must
 * stay one statement). `live` is one SQL fragment, shared by those statements and the query builders.
 */
import { Raw, type DataSource, type Repository } from 'typeorm';
import { entityNames, type EntityNames } from '../../database/entity-names';
import { returningRows } from '../../database/sql';
import type { Barrier } from '../../kernel/barrier/barrier';
import { type Ciphertext, SealedColumn } from '../../kernel/barrier/sealed-column';
import { SECRET_ID_ACCESSOR } from '../../kernel/barrier/sealed-columns';
import type { TokenSettings } from '../../shared/token/token-fields';
import type { AppRole } from './approle-role';
import { AppRoleRoleEntity, SecretIdEntity, SecretIdTombstoneEntity } from './approle.entity';

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

/** The role columns of a StoredRole. */
const ROLE_COLUMNS = {
  id: true,
  roleName: true,
  roleId: true,
  tokenPolicies: true,
  ttlSeconds: true,
  maxTtlSeconds: true,
  bindSecretId: true,
  secretIdNumUses: true,
  secretIdTtlSeconds: true,
  boundCidrList: true,
  tokenSettings: true,
} as const;

/** The secret ID columns of a SecretIdRow. */
const SECRET_ID_COLUMNS = {
  id: true,
  secretIdHmac: true,
  accessorHmac: true,
  accessorCiphertext: true,
  usesRemaining: true,
  ttlSeconds: true,
  expiresAt: true,
  cidrList: true,
  tokenBoundCidrs: true,
  metadata: true,
  createdAt: true,
  lastUpdatedAt: true,
} as const;

type SecretIdNames = EntityNames<SecretIdEntity>;

/** A secret ID (row `a` of secret_ids) is live while not expired (on the database clock) and not used up. */
function live({ col }: SecretIdNames, a: string): string {
  return `(${a}.${col.expiresAt} IS NULL OR ${a}.${col.expiresAt} > now()) AND (${a}.${col.usesRemaining} IS NULL OR ${a}.${col.usesRemaining} > 0)`;
}

/** How long a tombstone outlives its secret ID (tidy removes it after that). */
const TOMBSTONE_RETENTION = "interval '1 day'";

/** When a row `a` that is not live stopped being usable: its last use, else its expiry. */
function retiredAt({ col }: SecretIdNames, a: string): string {
  return `CASE WHEN ${a}.${col.usesRemaining} = 0 THEN ${a}.${col.lastUpdatedAt} ELSE ${a}.${col.expiresAt} END`;
}

/** Tombstones for the rows a DELETE … RETURNING gave as `gone` (a later retirement wins). */
function bury({ table, col }: EntityNames<SecretIdTombstoneEntity>): string {
  return `INSERT INTO ${table} AS t (${col.rolePk}, ${col.secretIdHmac}, ${col.retiredAt})
  SELECT role_pk, secret_id_hmac, retired_at FROM gone WHERE retired_at > now() - ${TOMBSTONE_RETENTION}
  ON CONFLICT (${col.rolePk}, ${col.secretIdHmac}) DO UPDATE SET ${col.retiredAt} = GREATEST(t.${col.retiredAt}, EXCLUDED.${col.retiredAt})`;
}

/** `gone`: the rows a DELETE of secret_ids `s` removed, as (role_pk, secret_id_hmac, retired_at). */
function gone(s: SecretIdNames, del: string): string {
  return `gone (role_pk, secret_id_hmac, retired_at) AS (${del} RETURNING s.${s.col.rolePk}, s.${s.col.secretIdHmac}, ${retiredAt(s, 's')})`;
}

interface Statements {
  /**
   * $1 mount uuid, $2 role_id, $3 secret ID HMAC: the enabled role (its ROLE_COLUMNS under their
   * property names) with `secret_pk` (the row with this HMAC, null: none), `secret_live` and
   * `tombstoned`. At most one row (role_id is unique per mount, the HMAC per role).
   */
  findLogin: string;
  /** $1 secret ID pk: its SECRET_ID_COLUMNS under their property names. */
  secretIdByPk: string;
  /** $1 secret ID pk: spends one use if live; RETURNING `uses_remaining` (no row: not live). */
  consumeUse: string;
  /** $1 secret ID pk: deletes it if used up, leaving its tombstone. */
  retireUsedUp: string;
  /** $1 mount uuid: replaces the mount's secret IDs that are not live by tombstones; gives their count as `n`. */
  retireDead: string;
}

/** `a.column AS "property"` for each of `properties`. */
function asProperties<T>({ col }: EntityNames<T>, a: string, properties: readonly (keyof T & string)[]): string {
  return properties.map((p) => `${a}.${col[p]} AS "${p}"`).join(', ');
}

function statements(s: SecretIdNames, roles: EntityNames<AppRoleRoleEntity>, tombstones: EntityNames<SecretIdTombstoneEntity>): Statements {
  const r = roles.col;
  const t = tombstones.col;
  return {
    findLogin: `SELECT ${asProperties(roles, 'r', Object.keys(ROLE_COLUMNS) as (keyof typeof ROLE_COLUMNS)[])},
              s.${s.col.id} AS secret_pk, (s.${s.col.id} IS NOT NULL AND ${live(s, 's')}) AS secret_live,
              EXISTS (SELECT 1 FROM ${tombstones.table} t WHERE t.${t.rolePk} = r.${r.id} AND t.${t.secretIdHmac} = $3) AS tombstoned
         FROM ${roles.table} r LEFT JOIN ${s.table} s ON s.${s.col.rolePk} = r.${r.id} AND s.${s.col.secretIdHmac} = $3
        WHERE r.${r.mountUuid} = $1 AND r.${r.roleId} = $2 AND r.${r.enabled}`,
    secretIdByPk: `SELECT ${asProperties(s, 's', Object.keys(SECRET_ID_COLUMNS) as (keyof typeof SECRET_ID_COLUMNS)[])} FROM ${s.table} s WHERE s.${s.col.id} = $1`,
    consumeUse: `UPDATE ${s.table} s SET ${s.col.usesRemaining} = s.${s.col.usesRemaining} - 1, ${s.col.lastUpdatedAt} = now()
        WHERE s.${s.col.id} = $1 AND ${live(s, 's')} RETURNING s.${s.col.usesRemaining} AS uses_remaining`,
    retireUsedUp: `WITH ${gone(s, `DELETE FROM ${s.table} s WHERE s.${s.col.id} = $1 AND s.${s.col.usesRemaining} = 0`)} ${bury(tombstones)}`,
    retireDead: `WITH ${gone(
      s,
      `DELETE FROM ${s.table} s USING ${roles.table} r WHERE s.${s.col.rolePk} = r.${roles.col.id} AND r.${roles.col.mountUuid} = $1 AND NOT (${live(s, 's')})`,
    )}, buried AS (${bury(tombstones)}) SELECT count(*)::int AS n FROM gone`,
  };
}

function toRole(r: Pick<AppRoleRoleEntity, keyof typeof ROLE_COLUMNS>): StoredRole {
  const s = r.tokenSettings as unknown as TokenSettings;
  return {
    pk: r.id,
    name: r.roleName,
    roleId: r.roleId,
    bindSecretId: r.bindSecretId,
    secretIdBoundCidrs: r.boundCidrList,
    secretIdNumUses: r.secretIdNumUses,
    secretIdTtl: r.secretIdTtlSeconds,
    tokenPolicies: r.tokenPolicies,
    tokenTtl: r.ttlSeconds,
    tokenMaxTtl: r.maxTtlSeconds,
    tokenBoundCidrs: s.tokenBoundCidrs,
    tokenExplicitMaxTtl: s.tokenExplicitMaxTtl,
    tokenNoDefaultPolicy: s.tokenNoDefaultPolicy,
    tokenNumUses: s.tokenNumUses,
    tokenPeriod: s.tokenPeriod,
    tokenType: s.tokenType,
  };
}

function toSecretId(r: Pick<SecretIdEntity, keyof typeof SECRET_ID_COLUMNS>): SecretIdRow {
  return {
    pk: r.id,
    secretIdHmac: r.secretIdHmac,
    accessorHmac: r.accessorHmac,
    accessorCiphertext: r.accessorCiphertext as Ciphertext,
    usesRemaining: r.usesRemaining,
    ttlSeconds: r.ttlSeconds,
    expiresAt: r.expiresAt,
    cidrList: r.cidrList,
    tokenBoundCidrs: r.tokenBoundCidrs,
    metadata: r.metadata,
    createdAt: r.createdAt,
    lastUpdatedAt: r.lastUpdatedAt,
  };
}

function isUniqueViolation(err: unknown, constraint: string): boolean {
  const e = err as { code?: string; constraint?: string; driverError?: { constraint?: string } };
  return e.code === '23505' && (e.constraint ?? e.driverError?.constraint) === constraint;
}

export class AppRoleRepository {
  private readonly accessors: SealedColumn<Buffer>;
  private sql?: Statements;

  constructor(
    private readonly dataSource: DataSource,
    barrier: Barrier,
  ) {
    this.accessors = new SealedColumn(SECRET_ID_ACCESSOR, barrier);
  }

  private get roles(): Repository<AppRoleRoleEntity> {
    return this.dataSource.getRepository(AppRoleRoleEntity);
  }

  private get secretIds(): Repository<SecretIdEntity> {
    return this.dataSource.getRepository(SecretIdEntity);
  }

  private get names(): SecretIdNames {
    return entityNames(this.dataSource, SecretIdEntity);
  }

  private get statements(): Statements {
    this.sql ??= statements(this.names, entityNames(this.dataSource, AppRoleRoleEntity), entityNames(this.dataSource, SecretIdTombstoneEntity));
    return this.sql;
  }

  /** A secret ID's accessor, opened. */
  async openAccessor(row: Pick<SecretIdRow, 'secretIdHmac' | 'accessorCiphertext'>): Promise<string> {
    return (await this.accessors.open(row.secretIdHmac, row.accessorCiphertext)).toString();
  }

  async getRole(mountUuid: string, name: string): Promise<StoredRole | undefined> {
    const row = await this.roles.findOne({ select: ROLE_COLUMNS, where: { mountUuid, roleName: name } });
    return row ? toRole(row) : undefined;
  }

  async roleNames(mountUuid: string): Promise<string[]> {
    const rows = await this.roles.find({ select: { id: true, roleName: true }, where: { mountUuid }, order: { roleName: 'ASC' } });
    return rows.map((r) => r.roleName);
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
      await this.roles.upsert(
        {
          mountUuid,
          roleName: role.name,
          roleId: role.roleId,
          policies: role.tokenPolicies,
          tokenPolicies: role.tokenPolicies,
          ttlSeconds: role.tokenTtl,
          maxTtlSeconds: role.tokenMaxTtl,
          bindSecretId: role.bindSecretId,
          secretIdNumUses: role.secretIdNumUses,
          secretIdTtlSeconds: role.secretIdTtl,
          boundCidrList: role.secretIdBoundCidrs,
          tokenSettings: settings as object,
          updatedAt: () => 'now()',
        },
        ['mountUuid', 'roleName'],
      );
    } catch (err) {
      if (isUniqueViolation(err, 'roles_mount_uuid_role_id_key')) throw new RoleIdConflictError('role_id already in use');
      throw err;
    }
  }

  /** Deletes the role; its secret IDs go with it (ON DELETE CASCADE). */
  async deleteRole(mountUuid: string, name: string): Promise<boolean> {
    return ((await this.roles.delete({ mountUuid, roleName: name })).affected ?? 0) > 0;
  }

  async insertSecretId(rolePk: string, s: NewSecretId): Promise<void> {
    const accessorCiphertext = await this.accessors.seal(s.secretIdHmac, Buffer.from(s.accessor));
    try {
      await this.secretIds
        .createQueryBuilder()
        .insert()
        .values({
          rolePk,
          secretIdHmac: s.secretIdHmac,
          accessorHmac: s.accessorHmac,
          accessorCiphertext,
          usesRemaining: s.usesRemaining,
          ttlSeconds: s.ttlSeconds,
          expiresAt: () => 'CASE WHEN CAST(:ttl AS integer) > 0 THEN now() + make_interval(secs => CAST(:ttl AS integer)) END',
          cidrList: s.cidrList,
          tokenBoundCidrs: s.tokenBoundCidrs,
          metadata: s.metadata,
        })
        .setParameter('ttl', s.ttlSeconds)
        .updateEntity(false)
        .execute();
    } catch (err) {
      if (isUniqueViolation(err, 'secret_ids_role_pk_secret_id_hmac_key')) throw new SecretIdConflictError('SecretID is already registered');
      throw err;
    }
  }

  /** A live secret ID of the role, by the HMAC of the secret ID or of its accessor. */
  async findSecretId(rolePk: string, by: 'secretIdHmac' | 'accessorHmac', hmac: Buffer): Promise<SecretIdRow | undefined> {
    const row = await this.secretIds
      .createQueryBuilder('s')
      .select(Object.keys(SECRET_ID_COLUMNS).map((property) => `s.${property}`))
      .where({ rolePk, [by]: hmac })
      .andWhere(live(this.names, 's'))
      .getOne();
    return row ? toSecretId(row) : undefined;
  }

  async deleteSecretId(rolePk: string, by: 'secretIdHmac' | 'accessorHmac', hmac: Buffer): Promise<boolean> {
    return ((await this.secretIds.delete({ rolePk, [by]: hmac })).affected ?? 0) > 0;
  }

  /** The accessors of the role's live secret IDs, opened. */
  async liveAccessors(rolePk: string): Promise<string[]> {
    const rows = await this.secretIds
      .createQueryBuilder('s')
      .select(['s.id', 's.secretIdHmac', 's.accessorCiphertext'])
      .where({ rolePk })
      .andWhere(live(this.names, 's'))
      .getMany();
    return Promise.all(rows.map((r) => this.openAccessor({ secretIdHmac: r.secretIdHmac, accessorCiphertext: r.accessorCiphertext as Ciphertext })));
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
    type LoginRow = Pick<AppRoleRoleEntity, keyof typeof ROLE_COLUMNS> & { secret_pk: string | null; secret_live: boolean; tombstoned: boolean };
    const [row]: LoginRow[] = await this.dataSource.query(this.statements.findLogin, [mountUuid, roleId, secretIdHmac]);
    if (!row) return undefined;
    const role = toRole(row);
    if (row.secret_pk === null || !row.secret_live) return { role, retired: row.secret_pk !== null || row.tombstoned };
    const [secret]: Pick<SecretIdEntity, keyof typeof SECRET_ID_COLUMNS>[] = await this.dataSource.query(this.statements.secretIdByPk, [row.secret_pk]);
    return secret ? { role, secretId: toSecretId(secret), retired: false } : { role, retired: true };
  }

  /**
   * Spends one use of a live secret ID in one conditional UPDATE, so N uses admit exactly N
   * logins however many race. Returns the uses left (null: unlimited), or undefined when it was
   * no longer live. A secret ID whose last use this was is replaced by its tombstone.
   */
  async consumeUse(secretPk: string): Promise<number | null | undefined> {
    const rows = await returningRows<{ uses_remaining: number | null }>(this.dataSource, this.statements.consumeUse, [secretPk]);
    if (rows.length === 0) return undefined;
    const left = rows[0].uses_remaining;
    if (left === 0) await this.dataSource.query(this.statements.retireUsedUp, [secretPk]);
    return left;
  }

  /**
   * Replaces the mount's expired and used-up secret IDs by tombstones, and deletes the tombstones
   * retired more than TOMBSTONE_RETENTION ago; gives how many of each went.
   */
  async tidy(mountUuid: string): Promise<{ secretIds: number; tombstones: number }> {
    const [{ n }]: { n: number }[] = await this.dataSource.query(this.statements.retireDead, [mountUuid]);
    const tombstones = entityNames(this.dataSource, SecretIdTombstoneEntity);
    const ofMount = this.roles
      .createQueryBuilder('r')
      .select('1')
      .where(`r.id = ${tombstones.table}.${tombstones.col.rolePk}`)
      .andWhere('r.mountUuid = :mountUuid');
    const result = await this.dataSource
      .getRepository(SecretIdTombstoneEntity)
      .createQueryBuilder()
      .delete()
      .where({ retiredAt: Raw((retired) => `${retired} <= now() - ${TOMBSTONE_RETENTION}`) })
      .andWhere(`EXISTS (${ofMount.getQuery()})`)
      .setParameter('mountUuid', mountUuid)
      .execute();
    return { secretIds: n, tombstones: result.affected ?? 0 };
  }
}
