/**
 * The transit engine's scenarios (issue 28), on a `transit/` mount made once per run with one key
 * per scenario, each request with a token whose policy allows only that path:
 *
 *   transit-encrypt         POST transit/encrypt/bench-aes, 1 KiB plaintext, 32 connections; against
 *                           the floor's HTTP + AES-256-GCM + audit INSERT (bench/floor/server.ts)
 *   transit-sign-ed25519    POST transit/sign/bench-ed25519 with 1 KiB `input`, 32 connections;
 *   transit-sign-ecdsa-p256 likewise with an ecdsa-p256 key (sha2-256, asn1); against node:crypto's
 *                           signing limit for the same key type
 *   transit-batch           POST transit/encrypt/bench-aes with batch_input of 250 × 1 KiB, 8
 *                           connections; items/s against node:crypto's AES-256-GCM 1 KiB limit.
 *                           Last: its large bodies grow the server's heap, which would count in
 *                           the RSS of the scenarios after it (one server runs them all).
 *
 * The ratios to the crypto limit compare with ONE core while the server shares two with PostgreSQL
 * and the load generator: they say how much of a request is the cryptography, not a target.
 */
import { randomBytes } from 'node:crypto';
import { once, policyToken, tokenHeader } from './lib/fixtures';
import type { LoadPlan } from './lib/load';
import type { BenchContext, Scenario } from './scenarios';

const MOUNT = 'transit';
export const TRANSIT_BATCH_ITEMS = 250;
/** 1 KiB of plaintext (or signature input), base64 as Vault takes it. */
const KIB_BASE64 = randomBytes(1024).toString('base64');

/** The transit mount (once per run), the key `name` of `type` and a token allowed `update` on `path` only. */
async function transitKey(ctx: BenchContext, name: string, type: string, path: string): Promise<string> {
  await once(ctx, 'transit mount', () => ctx.api.ok('POST', `sys/mounts/${MOUNT}`, { type: 'transit' }));
  await once(ctx, `transit key ${name}`, () => ctx.api.ok('POST', `${MOUNT}/keys/${name}`, { type }));
  return once(ctx, `transit token ${path}`, () =>
    policyToken(ctx.api, `bench-${path.replace(/\//g, '-')}`, `path "${MOUNT}/${path}" { capabilities = ["update"] }`),
  );
}

function postPlan(path: string, token: string, body: unknown): LoadPlan {
  return { requests: [{ method: 'POST', path, headers: { ...tokenHeader(token), 'content-type': 'application/json' }, body: JSON.stringify(body) }] };
}

const data = (b: Record<string, unknown>) => (b.data ?? {}) as Record<string, unknown>;
const isCiphertext = (v: unknown) => typeof v === 'string' && /^vault:v1:[A-Za-z0-9+/]+=*$/.test(v);

function signScenario(keyType: 'ed25519' | 'ecdsa-p256', primitive: string): Scenario {
  return {
    name: `transit-sign-${keyType}`,
    description: `POST ${MOUNT}/sign/bench-${keyType}: a ${keyType} signature of 1 KiB input${keyType === 'ed25519' ? '' : ' (sha2-256, asn1)'}`,
    connections: 32,
    primitive,
    async setup(ctx) {
      const name = `bench-${keyType}`;
      const token = await transitKey(ctx, name, keyType, `sign/${name}`);
      return {
        secrethub: postPlan(`/v1/${MOUNT}/sign/${name}`, token, { input: KIB_BASE64 }),
        checkBody: (b) => (/^vault:v1:/.test(String(data(b).signature)) ? undefined : `unexpected sign body: ${JSON.stringify(b).slice(0, 200)}`),
      };
    },
  };
}

export const TRANSIT_SCENARIOS: Scenario[] = [
  {
    name: 'transit-encrypt',
    description: `POST ${MOUNT}/encrypt/bench-aes: AES-256-GCM (aes256-gcm96 key) of 1 KiB plaintext`,
    connections: 32,
    primitive: 'aes-256-gcm-1k-encrypt',
    async setup(ctx) {
      const token = await transitKey(ctx, 'bench-aes', 'aes256-gcm96', 'encrypt/bench-aes');
      const body = { plaintext: KIB_BASE64 };
      return {
        secrethub: postPlan(`/v1/${MOUNT}/encrypt/bench-aes`, token, body),
        floor: postPlan(`/v1/${MOUNT}/encrypt/bench-aes`, ctx.floorToken, body),
        checkBody: (b) => (isCiphertext(data(b).ciphertext) ? undefined : `unexpected encrypt body: ${JSON.stringify(b).slice(0, 200)}`),
      };
    },
  },
  signScenario('ed25519', 'ed25519-sign-1k'),
  signScenario('ecdsa-p256', 'ecdsa-p256-sha256-sign-1k'),
  {
    name: 'transit-batch',
    description: `POST ${MOUNT}/encrypt/bench-aes with batch_input of ${TRANSIT_BATCH_ITEMS} × 1 KiB plaintexts`,
    connections: 8,
    primitive: 'aes-256-gcm-1k-encrypt',
    itemsPerRequest: TRANSIT_BATCH_ITEMS,
    async setup(ctx) {
      const token = await transitKey(ctx, 'bench-aes', 'aes256-gcm96', 'encrypt/bench-aes');
      const body = { batch_input: Array.from({ length: TRANSIT_BATCH_ITEMS }, () => ({ plaintext: KIB_BASE64 })) };
      return {
        secrethub: postPlan(`/v1/${MOUNT}/encrypt/bench-aes`, token, body),
        checkBody: (b) => {
          const results = data(b).batch_results;
          const ok =
            Array.isArray(results) && results.length === TRANSIT_BATCH_ITEMS && results.every((r) => isCiphertext((r as { ciphertext?: unknown }).ciphertext));
          return ok ? undefined : `unexpected batch body: ${JSON.stringify(b).slice(0, 200)}`;
        },
        notes: [`request body ${Math.round(JSON.stringify(body).length / 1024)} KiB of JSON`],
      };
    },
  },
];
