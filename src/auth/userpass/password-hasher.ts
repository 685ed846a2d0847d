/**
 * Password hashing: argon2id through node-argon2 (native, prebuilt). The parameters follow OWASP's
 * password storage guidance (m = 19 MiB, t = 2, p = 1); docs/decisions.md has the measured cost.
 *
 * Invariant: a login runs exactly one `verify`, for a known user against its hash and for an
 * unknown one against a dummy hash made once with the same parameters, so both cost the same work.
 */
import { randomBytes } from 'node:crypto';
import { argon2id, hash as argon2Hash, verify as argon2Verify } from 'argon2';

export interface PasswordHasher {
  hash(password: string): Promise<string>;
  /** False for a wrong password and for a malformed hash (never throws on either). */
  verify(digest: string, password: string): Promise<boolean>;
}

export const ARGON2_OPTIONS = { type: argon2id, memoryCost: 19 * 1024, timeCost: 2, parallelism: 1 } as const;

export class Argon2Hasher implements PasswordHasher {
  hash(password: string): Promise<string> {
    return argon2Hash(password, ARGON2_OPTIONS);
  }

  async verify(digest: string, password: string): Promise<boolean> {
    try {
      return await argon2Verify(digest, password);
    } catch {
      return false;
    }
  }
}

/** A hash of a random password nobody knows, made once: what unknown users are verified against. */
export function dummyHash(hasher: PasswordHasher): Promise<string> {
  return hasher.hash(randomBytes(32).toString('base64'));
}
