/**
 * Sealed columns: the only way a repository turns plaintext into a stored value and back.
 *
 * Invariants:
 * - a column's barrier AAD (its location) is formed in one place, its declaration
 *   (sealed-columns.ts); `seal` and `open` of a column use that location and nothing else, so a
 *   value moved to another row (another row key) or another column fails to open;
 * - a `Ciphertext` comes from `seal` or from reading the column it was sealed for: plaintext does
 *   not type-check where a sealed column's value is expected, and a Ciphertext is never sent
 *   anywhere but its column.
 */
import type { Ciphertext } from '../../framework/ciphertext';
import type { Barrier } from './barrier';

/** Barrier ciphertext (`version | term | nonce | ciphertext | tag`) as stored in a sealed column. */
export type { Ciphertext };

/** One sealed column: where it is, and the location (AAD) of the value of the row with key `K`. */
export interface SealedColumnDeclaration<K> {
  readonly table: string;
  readonly column: string;
  readonly location: (key: K) => string;
}

export function declareSealedColumn<K>(table: string, column: string, location: (key: K) => string): SealedColumnDeclaration<K> {
  return Object.freeze({ table, column, location });
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

  /** Throws IntegrityError when `ciphertext` was not sealed for this row of this column (or was altered). */
  open(key: K, ciphertext: Ciphertext): Buffer {
    return this.barrier.decrypt(this.declaration.location(key), ciphertext);
  }

  /** JSON in, JSON out: most sealed columns hold a JSON document. */
  sealJson(key: K, value: unknown): Promise<Ciphertext> {
    return this.seal(key, Buffer.from(JSON.stringify(value), 'utf8'));
  }

  openJson<T>(key: K, ciphertext: Ciphertext): T {
    return JSON.parse(this.open(key, ciphertext).toString('utf8')) as T;
  }
}
