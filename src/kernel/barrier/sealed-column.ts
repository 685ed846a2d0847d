/**
 * Sealed columns: the only way a repository turns plaintext into a stored value and back.
 *
 * Invariants:
 * - a column's barrier AAD (its location) is formed in one place, its declaration
 *   (sealed-columns.ts): `table/column/row key`, the row key as it is when it has one part and as
 *   a JSON array when it has several (so distinct keys give distinct locations); a value moved to
 *   another row or another column fails to open;
 * - `seal` always uses that location; `open` tries it, then the column's legacy location (the
 *   grammar its values were first written with) if it has one: the reseal job (reseal-job.ts)
 *   rewrites legacy rows after unseal, and until it has, both must open;
 * - a `Ciphertext` comes from `seal` or from reading the column it was sealed for: plaintext does
 *   not type-check where a sealed column's value is expected.
 */
import { IntegrityError } from '../../crypto/aead';
import { zero } from '../../crypto/hmac';
import type { Ciphertext } from '../../framework/ciphertext';
import type { Barrier } from './barrier';

/** Barrier ciphertext (`version | term | nonce | ciphertext | tag`) as stored in a sealed column. */
export type { Ciphertext };

export type RowKeyParts = string | readonly (string | number)[];

/** How the reseal job finds a legacy column's rows: SQL fragments (trusted, written here), the sealed table aliased `t`. */
export interface ResealScan<K> {
  /** FROM clause; joins may add what the row key needs. */
  readonly from: string;
  /** The rows holding a value, beyond `t.<column> IS NOT NULL`. */
  readonly where?: string;
  /** t's primary key columns: keyset order and the UPDATE's row identity. */
  readonly primaryKey: readonly string[];
  /** Select list of the row key's fields. */
  readonly keyColumns: string;
  readonly keyOf: (row: Record<string, unknown>) => K;
  /** `base64`: the column is text holding base64 ciphertext. Default bytea. */
  readonly encoding?: 'base64';
}

export interface LegacyGrammar<K> {
  readonly location: (key: K) => string;
  readonly scan: ResealScan<K>;
}

/** One sealed column: where it is, the location (AAD) of the value of the row with key `K`, and its legacy grammar if any. */
export interface SealedColumnDeclaration<K> {
  readonly table: string;
  readonly column: string;
  readonly location: (key: K) => string;
  readonly legacy?: LegacyGrammar<K>;
}

/** `table/column/row key`. */
export function tableColumnLocation(table: string, column: string, rowKey: RowKeyParts): string {
  return `${table}/${column}/${typeof rowKey === 'string' ? rowKey : JSON.stringify(rowKey)}`;
}

export function declareSealedColumn<K>(table: string, column: string, rowKey: (key: K) => RowKeyParts, legacy?: LegacyGrammar<K>): SealedColumnDeclaration<K> {
  return Object.freeze({ table, column, location: (key: K) => tableColumnLocation(table, column, rowKey(key)), legacy });
}

/** A value whose location is fixed (not a table column: batch tokens). */
export function declareFixedLocation(table: string, column: string, location: string): SealedColumnDeclaration<void> {
  return Object.freeze({ table, column, location: () => location });
}

/** A declaration bound to the barrier that seals and opens its values. */
export class SealedColumn<K> {
  constructor(
    readonly declaration: SealedColumnDeclaration<K>,
    private readonly barrier: Barrier,
  ) {}

  location(key: K): string {
    return this.declaration.location(key);
  }

  async seal(key: K, plaintext: Buffer): Promise<Ciphertext> {
    return (await this.barrier.encrypt(this.declaration.location(key), plaintext)) as Ciphertext;
  }

  /**
   * Throws IntegrityError when `ciphertext` was not sealed for this row of this column (or was
   * altered). A value under a term newer than this node's (another node rotated, and its
   * notification has not arrived yet) is opened after reloading the keyring once.
   */
  async open(key: K, ciphertext: Ciphertext): Promise<Buffer> {
    await this.ready(ciphertext);
    return this.openLoaded(key, ciphertext);
  }

  /** Loads the keyring when `ciphertext` is under a term newer than this node's (see `open`). */
  async ready(ciphertext: Ciphertext): Promise<void> {
    if (this.barrier.newerTerm(ciphertext)) await this.barrier.reloadKeyring();
  }

  /** `open` for a value its repository has made `ready` since reading it (callers that cannot wait). */
  openLoaded(key: K, ciphertext: Ciphertext): Buffer {
    try {
      return this.barrier.decrypt(this.declaration.location(key), ciphertext);
    } catch (err) {
      const legacy = this.declaration.legacy;
      if (!legacy || !(err instanceof IntegrityError)) throw err;
      return this.barrier.decrypt(legacy.location(key), ciphertext);
    }
  }

  /**
   * For the reseal job: `current` when the value already opens under the column's location, else
   * the value re-sealed there from its legacy location, or `unreadable` when it opens under neither.
   */
  async reseal(key: K, ciphertext: Ciphertext): Promise<'current' | 'unreadable' | { resealed: Ciphertext }> {
    const legacy = this.declaration.legacy;
    let plaintext: Buffer;
    if (this.barrier.newerTerm(ciphertext)) await this.barrier.reloadKeyring();
    try {
      zero(this.barrier.decrypt(this.declaration.location(key), ciphertext));
      return 'current';
    } catch (err) {
      if (!(err instanceof IntegrityError)) throw err;
    }
    if (!legacy) return 'unreadable';
    try {
      plaintext = this.barrier.decrypt(legacy.location(key), ciphertext);
    } catch (err) {
      if (!(err instanceof IntegrityError)) throw err;
      return 'unreadable';
    }
    try {
      return { resealed: await this.seal(key, plaintext) };
    } finally {
      zero(plaintext);
    }
  }

  /** JSON in, JSON out: most sealed columns hold a JSON document. */
  sealJson(key: K, value: unknown): Promise<Ciphertext> {
    return this.seal(key, Buffer.from(JSON.stringify(value), 'utf8'));
  }

  async openJson<T>(key: K, ciphertext: Ciphertext): Promise<T> {
    return JSON.parse((await this.open(key, ciphertext)).toString('utf8')) as T;
  }
}
