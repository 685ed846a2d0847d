/**
 * GDPR: source addresses and user agents in audit entries are encrypted under a key per calendar
 * month (UTC), kept in the barrier as kernel secret `audit_address_key/YYYY-MM`. Destroying a
 * month's key (crypto-shredding) makes that month's addresses unreadable for good while the audit
 * chain, which hashes the ciphertext, still verifies.
 *
 * Sealed form: `enc:v1:YYYY-MM:<base64 AES-256-GCM blob>`, bound to its month by the AAD.
 */
import { openAddress, SEALED_ADDRESS, type AuditSource } from './address-seal';
import { randomKey } from '../crypto/random';
import { zero } from '../crypto/hmac';
import type { KernelSecretsRepository } from '../kernel/kernel-secrets.repository';

const KEY_PREFIX = 'audit_address_key/';

export function monthOf(time: Date): string {
  return time.toISOString().slice(0, 7);
}

/** The first instant after the month (UTC). */
function endOfMonth(month: string): Date {
  const [y, m] = month.split('-').map(Number);
  return new Date(Date.UTC(y, m, 1));
}

export class AuditAddressKeys {
  private readonly keys = new Map<string, Buffer>();
  private readonly pending = new Map<string, Promise<Buffer>>();

  constructor(
    private readonly secrets: KernelSecretsRepository,
    private readonly retentionSeconds: number,
  ) {}

  private async keyFor(month: string): Promise<Buffer> {
    const known = this.keys.get(month);
    if (known) return known;
    let loading = this.pending.get(month);
    if (!loading) {
      loading = this.load(month).finally(() => this.pending.delete(month));
      this.pending.set(month, loading);
    }
    return loading;
  }

  private async load(month: string): Promise<Buffer> {
    const name = KEY_PREFIX + month;
    if (endOfMonth(month).getTime() + this.retentionSeconds * 1000 <= Date.now()) throw new Error(`audit address key ${month} is past retention`);
    const key = await this.secrets.getOrCreate(name, randomKey);
    this.keys.set(month, key);
    return key;
  }

  /**
   * A request's address and user agent with the key of `time`'s month (the cached key itself:
   * it is zeroed only at seal, after the audit renderer has finished every job; see decision 83).
   */
  async source(remoteAddress: string, userAgent: string | undefined, time: Date): Promise<AuditSource> {
    const month = monthOf(time);
    return { remoteAddress, userAgent, month, key: await this.keyFor(month) };
  }

  /** The month's key: cached, or read from storage (`owned`: the caller zeroes it); undefined once destroyed. Never creates one. */
  private async existingKey(month: string): Promise<{ key: Buffer; owned: boolean } | undefined> {
    const cached = this.keys.get(month);
    if (cached) return { key: cached, owned: false };
    const key = await this.secrets.get(KEY_PREFIX + month);
    return key ? { key, owned: true } : undefined;
  }

  /** The clear value, or undefined once the month's key is destroyed. */
  async open(sealed: string): Promise<string | undefined> {
    const m = SEALED_ADDRESS.exec(sealed);
    if (!m) throw new Error('not a sealed audit address');
    const [, month, blob] = m;
    const found = await this.existingKey(month);
    if (!found) return undefined;
    try {
      return openAddress(found.key, month, blob);
    } finally {
      if (found.owned) zero(found.key);
    }
  }

  /**
   * Opens many values, reading each month's key once; keys read here are zeroed before returning.
   * A value that is missing, malformed, fails to authenticate or belongs to a destroyed month gives
   * undefined: callers that only count addresses treat it as unknown.
   */
  async openAll(sealed: readonly (string | null)[]): Promise<(string | undefined)[]> {
    const keys = new Map<string, { key: Buffer; owned: boolean } | undefined>();
    try {
      const opened: (string | undefined)[] = [];
      for (const value of sealed) {
        const m = value ? SEALED_ADDRESS.exec(value) : null;
        if (!m) {
          opened.push(undefined);
          continue;
        }
        const [, month, blob] = m;
        if (!keys.has(month)) keys.set(month, await this.existingKey(month));
        const found = keys.get(month);
        try {
          opened.push(found ? openAddress(found.key, month, blob) : undefined);
        } catch {
          opened.push(undefined);
        }
      }
      return opened;
    } finally {
      for (const found of keys.values()) if (found?.owned) zero(found.key);
    }
  }

  /** Destroys every month key whose month ended more than the retention period ago; gives the months shredded. */
  async shred(now = new Date()): Promise<string[]> {
    const shredded: string[] = [];
    for (const name of await this.secrets.namesWithPrefix(KEY_PREFIX)) {
      const month = name.slice(KEY_PREFIX.length);
      if (endOfMonth(month).getTime() + this.retentionSeconds * 1000 > now.getTime()) continue;
      await this.secrets.delete(name);
      const cached = this.keys.get(month);
      this.keys.delete(month);
      zero(cached);
      shredded.push(month);
    }
    return shredded;
  }

  clear(): void {
    for (const k of this.keys.values()) zero(k);
    this.keys.clear();
  }
}
