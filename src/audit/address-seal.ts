/**
 * The sealed form of a source address or user agent in audit entries:
 * `enc:v1:YYYY-MM:<base64 AES-256-GCM blob>`, under the month's key and bound to its month by the
 * AAD (address-keys.ts keeps the keys). Pure: sealed as the entries are rendered.
 */
import { aeadDecrypt, aeadEncrypt } from '../crypto/aead';

export const SEALED_ADDRESS = /^enc:v1:(\d{4}-\d{2}):([A-Za-z0-9+/=]+)$/;

export const addressLocation = (month: string) => `audit/address/${month}`;

/** A request's client address and user agent, clear, with the key of the month they are sealed under in its entries. */
export interface AuditSource {
  remoteAddress: string;
  userAgent?: string;
  month: string;
  key: Buffer;
}

export interface SealedSource {
  remoteAddress: string;
  userAgent?: string;
}

export function sealAddress(key: Buffer, month: string, value: string): string {
  return `enc:v1:${month}:${aeadEncrypt(key, 0, Buffer.from(value, 'utf8'), addressLocation(month)).toString('base64')}`;
}

/** Both values sealed (a fresh nonce each). */
export function sealSource(source: AuditSource): SealedSource {
  return {
    remoteAddress: sealAddress(source.key, source.month, source.remoteAddress),
    userAgent: source.userAgent ? sealAddress(source.key, source.month, source.userAgent) : undefined,
  };
}

/** The clear value of a sealed one of `month`; throws when it does not authenticate. */
export function openAddress(key: Buffer, month: string, blob: string): string {
  return aeadDecrypt(key, Buffer.from(blob, 'base64'), addressLocation(month)).toString('utf8');
}
