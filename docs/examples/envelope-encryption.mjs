#!/usr/bin/env node
/**
 * Envelope encryption with transit (KEK/DEK): the key-encryption key never leaves SecretHub; each
 * file gets its own data-encryption key from `datakey/plaintext`, used here with AES-256-GCM and
 * then forgotten; only its wrapped form (`vault:v<N>:…`) is stored beside the ciphertext.
 *
 *   VAULT_ADDR=http://127.0.0.1:8200 VAULT_TOKEN=… node docs/examples/envelope-encryption.mjs encrypt in.txt out.json
 *   VAULT_ADDR=… VAULT_TOKEN=… node docs/examples/envelope-encryption.mjs decrypt out.json
 *
 * KEY (default `files`) names the transit key on the `transit/` mount (TRANSIT_MOUNT to change).
 * Node 20+, no packages.
 */
/* global process, fetch, Buffer */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';

const address = process.env.VAULT_ADDR ?? 'http://127.0.0.1:8200';
const token = process.env.VAULT_TOKEN;
const mount = process.env.TRANSIT_MOUNT ?? 'transit';
const key = process.env.KEY ?? 'files';

async function transit(path, body) {
  const res = await fetch(`${address}/v1/${mount}/${path}`, {
    method: 'POST',
    headers: { 'X-Vault-Token': token, 'Content-Type': 'application/json' },
    body: JSON.stringify(body),
  });
  const answer = await res.json();
  if (!res.ok) throw new Error(`${path}: HTTP ${res.status}: ${(answer.errors ?? []).join('; ')}`);
  return answer.data;
}

async function encrypt(input, output) {
  // A fresh DEK: its plaintext for this process only, its wrapped form (under the KEK) to keep.
  const { plaintext, ciphertext } = await transit(`datakey/plaintext/${key}`, { bits: 256 });
  const dek = Buffer.from(plaintext, 'base64');
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', dek, iv);
  const body = Buffer.concat([cipher.update(readFileSync(input)), cipher.final()]);
  dek.fill(0);
  const envelope = { wrapped_dek: ciphertext, iv: iv.toString('base64'), tag: cipher.getAuthTag().toString('base64'), body: body.toString('base64') };
  writeFileSync(output, JSON.stringify(envelope, null, 2));
}

async function decrypt(input) {
  const envelope = JSON.parse(readFileSync(input, 'utf8'));
  // Only SecretHub can unwrap the DEK; a rotated KEK still opens older wrapped DEKs (rewrap them with `rewrap/`).
  const { plaintext } = await transit(`decrypt/${key}`, { ciphertext: envelope.wrapped_dek });
  const dek = Buffer.from(plaintext, 'base64');
  const decipher = createDecipheriv('aes-256-gcm', dek, Buffer.from(envelope.iv, 'base64'));
  decipher.setAuthTag(Buffer.from(envelope.tag, 'base64'));
  const out = Buffer.concat([decipher.update(Buffer.from(envelope.body, 'base64')), decipher.final()]);
  dek.fill(0);
  process.stdout.write(out);
}

const [command, input, output] = process.argv.slice(2);
if (!token || !['encrypt', 'decrypt'].includes(command) || !input || (command === 'encrypt' && !output)) {
  process.stderr.write('usage: VAULT_TOKEN=… envelope-encryption.mjs encrypt <in> <out.json> | decrypt <in.json>\n');
  process.exit(2);
}
await (command === 'encrypt' ? encrypt(input, output) : decrypt(input));
