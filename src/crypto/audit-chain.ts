/**
 * The audit log's hash chain, Merkle frontier and signed checkpoints (format v1). Shared by the
 * server (which appends) and the offline verifier (which recomputes); both must agree byte for byte.
 *
 *   genesis          = SHA-256("secrethub-audit-genesis-v1" || log_id)
 *   leaf(entry)      = SHA-256(0x00 || entry)            (RFC 6962 leaf; entry = canonical JSON bytes)
 *   chain(seq, prev, entry) = SHA-256("secrethub-audit-chain-v1" || u64be(seq) || prev || leaf(entry))
 *
 * Sequence numbers start at 1; entry `seq` is leaf `seq - 1` of the Merkle tree, and a checkpoint of
 * tree size n covers sequences 1..n. The frontier is the list of roots of the perfect subtrees that
 * make up a tree of n leaves (largest first, one per set bit of n); folding it right to left gives
 * the RFC 6962 tree head, so a checkpoint never needs the whole log in memory.
 *
 * A checkpoint is signed with Ed25519 over its note (C2SP-style text):
 *   secrethub-audit-checkpoint-v1\n<log_id hex>\n<tree_size>\n<root base64>\n<chain_hash hex>\n<time ISO-8601>\n
 */
import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, sign, verify, type KeyObject } from 'node:crypto';
import { leafHash, nodeHash } from './merkle';

const GENESIS_DOMAIN = Buffer.from('secrethub-audit-genesis-v1');
const CHAIN_DOMAIN = Buffer.from('secrethub-audit-chain-v1');
export const CHECKPOINT_ORIGIN = 'secrethub-audit-checkpoint-v1';
export const HASH_BYTES = 32;

const sha256 = (...parts: Uint8Array[]): Buffer => {
  const h = createHash('sha256');
  for (const p of parts) h.update(p);
  return h.digest();
};

export function genesisHash(logId: Buffer): Buffer {
  return sha256(GENESIS_DOMAIN, logId);
}

export function chainHash(sequence: number, previous: Buffer, leaf: Buffer): Buffer {
  if (!Number.isSafeInteger(sequence) || sequence < 1) throw new RangeError(`bad sequence ${sequence}`);
  const seq = Buffer.alloc(8);
  seq.writeBigUInt64BE(BigInt(sequence));
  return sha256(CHAIN_DOMAIN, seq, previous, leaf);
}

export { leafHash };

/** Appends one leaf hash to the frontier of a tree of `size` leaves (returns the new frontier). */
export function frontierAppend(frontier: readonly Buffer[], size: number, leaf: Buffer): Buffer[] {
  const next = [...frontier];
  let node = leaf;
  // Each trailing 1-bit of `size` is a perfect subtree of the same height as `node`: merge them.
  for (let s = size; s % 2 === 1; s = Math.floor(s / 2)) node = nodeHash(next.pop() as Buffer, node);
  next.push(node);
  return next;
}

/** The RFC 6962 tree head of the tree the frontier describes. */
export function frontierRoot(frontier: readonly Buffer[]): Buffer {
  if (frontier.length === 0) return sha256();
  let root = frontier[frontier.length - 1];
  for (let i = frontier.length - 2; i >= 0; i--) root = nodeHash(frontier[i], root);
  return root;
}

export interface Checkpoint {
  logId: string;
  treeSize: number;
  /** RFC 6962 tree head over leaves 1..treeSize, base64. */
  root: string;
  /** The chain hash of entry treeSize (the genesis hash for an empty log), hex. */
  chainHash: string;
  time: string;
  /** Ed25519 signature over checkpointNote(), base64. */
  signature: string;
}

export function checkpointNote(c: Omit<Checkpoint, 'signature'>): Buffer {
  return Buffer.from(`${CHECKPOINT_ORIGIN}\n${c.logId}\n${c.treeSize}\n${c.root}\n${c.chainHash}\n${c.time}\n`, 'utf8');
}

export function signCheckpoint(c: Omit<Checkpoint, 'signature'>, privateKey: KeyObject): Checkpoint {
  return { ...c, signature: sign(null, checkpointNote(c), privateKey).toString('base64') };
}

export function verifyCheckpoint(c: Checkpoint, publicKey: KeyObject): boolean {
  try {
    return verify(null, checkpointNote(c), publicKey, Buffer.from(c.signature, 'base64'));
  } catch {
    return false;
  }
}

/** A new Ed25519 signing key as PKCS#8 DER (stored only as barrier ciphertext). */
export function newSigningKey(): Buffer {
  return generateKeyPairSync('ed25519').privateKey.export({ format: 'der', type: 'pkcs8' });
}

export function signingKeyFromDer(der: Buffer): KeyObject {
  return createPrivateKey({ key: der, format: 'der', type: 'pkcs8' });
}

/** The public half as PEM (SPKI), what `secrethub audit public-key` prints and auditors pin. */
export function publicKeyPem(privateKey: KeyObject): string {
  return createPublicKey(privateKey).export({ format: 'pem', type: 'spki' }).toString();
}

export function publicKeyFromPem(pem: string): KeyObject {
  const key = createPublicKey(pem);
  if (key.asymmetricKeyType !== 'ed25519') throw new Error('the audit public key must be an Ed25519 key');
  return key;
}
