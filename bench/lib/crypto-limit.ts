/**
 * The crypto limit: how many times per second one core runs a scenario's primitive through
 * node:crypto, measured in this process before any load starts. No request can go faster.
 */
import { createCipheriv, createDecipheriv, createHmac, generateKeyPairSync, randomBytes, sign } from 'node:crypto';

export interface Primitive {
  name: string;
  description: string;
  /** Builds the operation (setup outside the timed loop). */
  prepare(): () => void;
}

const KIB = randomBytes(1024);
const KEY = randomBytes(32);
const AAD = Buffer.from('secrets/00000000-0000-0000-0000-000000000000/kv-v2/v1/bench/read-000');

function seal(plain: Buffer): { nonce: Buffer; body: Buffer; tag: Buffer } {
  const nonce = randomBytes(12);
  const c = createCipheriv('aes-256-gcm', KEY, nonce, { authTagLength: 16 });
  c.setAAD(AAD);
  const body = Buffer.concat([c.update(plain), c.final()]);
  return { nonce, body, tag: c.getAuthTag() };
}

export const PRIMITIVES: Record<string, Primitive> = {
  'aes-256-gcm-1k-decrypt': {
    name: 'aes-256-gcm-1k-decrypt',
    description: 'AES-256-GCM decrypt of 1 KiB (with AAD)',
    prepare() {
      const { nonce, body, tag } = seal(KIB);
      return () => {
        const d = createDecipheriv('aes-256-gcm', KEY, nonce, { authTagLength: 16 });
        d.setAAD(AAD);
        d.setAuthTag(tag);
        Buffer.concat([d.update(body), d.final()]);
      };
    },
  },
  'aes-256-gcm-1k-encrypt': {
    name: 'aes-256-gcm-1k-encrypt',
    description: 'AES-256-GCM encrypt of 1 KiB (random nonce, with AAD)',
    prepare: () => () => void seal(KIB),
  },
  'hmac-sha256-token': {
    name: 'hmac-sha256-token',
    description: 'HMAC-SHA256 of a 28-character token',
    prepare() {
      const token = 'hvs.' + 'a'.repeat(24);
      return () => void createHmac('sha256', KEY).update(token).digest();
    },
  },
  'ed25519-sign-1k': {
    name: 'ed25519-sign-1k',
    description: 'Ed25519 signature of 1 KiB',
    prepare() {
      const { privateKey } = generateKeyPairSync('ed25519');
      return () => void sign(null, KIB, privateKey);
    },
  },
  'ecdsa-p256-sha256-sign-1k': {
    name: 'ecdsa-p256-sha256-sign-1k',
    description: 'ECDSA P-256 signature (SHA-256, DER) of 1 KiB',
    prepare() {
      const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
      return () => void sign('sha256', KIB, privateKey);
    },
  },
};

/** Operations per second of `primitive` on this thread, over about `seconds`. */
export function measurePrimitive(primitive: Primitive, seconds = 1): number {
  const op = primitive.prepare();
  for (let i = 0; i < 2000; i++) op(); // warm-up: JIT and OpenSSL contexts
  const deadline = process.hrtime.bigint() + BigInt(Math.round(seconds * 1e9));
  const started = process.hrtime.bigint();
  let count = 0;
  let now = started;
  while (now < deadline) {
    for (let i = 0; i < 500; i++) op();
    count += 500;
    now = process.hrtime.bigint();
  }
  return Math.round(count / (Number(now - started) / 1e9));
}
