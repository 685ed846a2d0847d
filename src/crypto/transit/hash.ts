/**
 * Vault's hash algorithm names (keysutil HashTypeMap, transit's `hash` endpoint) and the node:crypto
 * digests they stand for.
 *
 * Invariant: the same name always means the same digest; names not listed are not hashes here.
 */
import { createHash } from 'node:crypto';

/** The `hash` endpoint's algorithms (Vault: sha2-* and sha3-*; sha1 only for signatures and HMAC). */
export const TRANSIT_HASH_ALGORITHMS = {
  'sha2-224': 'sha224',
  'sha2-256': 'sha256',
  'sha2-384': 'sha384',
  'sha2-512': 'sha512',
  'sha3-224': 'sha3-224',
  'sha3-256': 'sha3-256',
  'sha3-384': 'sha3-384',
  'sha3-512': 'sha3-512',
} as const;
export type TransitHashAlgorithm = keyof typeof TRANSIT_HASH_ALGORITHMS;

export function isTransitHashAlgorithm(name: string): name is TransitHashAlgorithm {
  return Object.hasOwn(TRANSIT_HASH_ALGORITHMS, name);
}

/** The digest of `input` under one of TRANSIT_HASH_ALGORITHMS. */
export function transitHash(algorithm: TransitHashAlgorithm, input: Buffer): Buffer {
  return createHash(TRANSIT_HASH_ALGORITHMS[algorithm]).update(input).digest();
}
