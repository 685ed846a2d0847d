/**
 * What a request learns about its token (internal: never sent as is): the token store's row, keyed
 * by the HMAC of the token. Declared here, below the kernel, so routes and backends can name it
 * without importing the kernel (docs/architecture.md, Layers); the kernel's TokenRow/TokenInfo are this type.
 */
import type { Ciphertext } from './ciphertext';

export interface TokenInfo {
  tokenHmac: Buffer;
  accessorHmac: Buffer;
  /** Opened only by the token repository (TokenStore.accessorOf); empty for batch tokens. */
  accessorCiphertext: Ciphertext;
  parentTokenHmac: Buffer | null;
  policies: string[];
  tokenType: string;
  displayName: string;
  creationPath: string;
  createdAt: Date;
  expiresAt: Date | null;
  maxExpiresAt: Date | null;
  orphan: boolean;
  ttlSeconds: number;
  explicitMaxTtlSeconds: number;
  periodSeconds: number;
  /** null: unlimited uses. */
  usesRemaining: number | null;
  numUsesInitial: number;
  renewable: boolean;
  meta: Record<string, string>;
  boundCidrs: string[];
  /** The token role it was created through, if any. */
  roleName: string | null;
}
