/**
 * The barrier keyring: numbered key terms, the highest active. Pure data; key bytes are Buffers
 * that `zero()` overwrites. Serialised in a small binary form so no key passes through a string.
 *
 * Layout: "SHKR" | version u8 (1) | count u32 | count × (term u32 | installedAt f64 ms | key 32 bytes)
 */
import { AEAD_KEY_BYTES } from '../../crypto/aead';

export interface KeyTerm {
  term: number;
  installedAt: Date;
  key: Buffer;
}

const MAGIC = Buffer.from('SHKR');
const ENTRY_BYTES = 4 + 8 + AEAD_KEY_BYTES;

export class Keyring {
  private readonly byTerm = new Map<number, KeyTerm>();
  readonly active: KeyTerm;

  constructor(terms: KeyTerm[]) {
    if (terms.length === 0) throw new Error('keyring must have at least one term');
    for (const t of terms) {
      if (t.key.length !== AEAD_KEY_BYTES) throw new Error('keyring key must be 32 bytes');
      if (this.byTerm.has(t.term)) throw new Error(`duplicate keyring term ${t.term}`);
      this.byTerm.set(t.term, t);
    }
    this.active = [...terms].sort((a, b) => b.term - a.term)[0];
  }

  get terms(): KeyTerm[] {
    return [...this.byTerm.values()].sort((a, b) => a.term - b.term);
  }

  keyFor(term: number): Buffer | undefined {
    return this.byTerm.get(term)?.key;
  }

  /** A new keyring sharing this one's key Buffers plus a new active term. */
  withNewTerm(key: Buffer, installedAt: Date): Keyring {
    return new Keyring([...this.terms, { term: this.active.term + 1, installedAt, key }]);
  }

  serialize(): Buffer {
    const terms = this.terms;
    const out = Buffer.alloc(MAGIC.length + 1 + 4 + terms.length * ENTRY_BYTES);
    MAGIC.copy(out, 0);
    out.writeUInt8(1, 4);
    out.writeUInt32BE(terms.length, 5);
    let at = 9;
    for (const t of terms) {
      out.writeUInt32BE(t.term, at);
      out.writeDoubleBE(t.installedAt.getTime(), at + 4);
      t.key.copy(out, at + 12);
      at += ENTRY_BYTES;
    }
    return out;
  }

  static deserialize(buf: Buffer): Keyring {
    if (buf.length < 9 || !buf.subarray(0, 4).equals(MAGIC) || buf.readUInt8(4) !== 1) throw new Error('malformed keyring');
    const count = buf.readUInt32BE(5);
    if (buf.length !== 9 + count * ENTRY_BYTES) throw new Error('malformed keyring');
    const terms: KeyTerm[] = [];
    for (let i = 0, at = 9; i < count; i++, at += ENTRY_BYTES) {
      terms.push({
        term: buf.readUInt32BE(at),
        installedAt: new Date(buf.readDoubleBE(at + 4)),
        key: Buffer.from(buf.subarray(at + 12, at + 12 + AEAD_KEY_BYTES)),
      });
    }
    return new Keyring(terms);
  }

  zero(): void {
    for (const t of this.byTerm.values()) t.key.fill(0);
  }
}
