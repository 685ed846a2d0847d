/**
 * One PKCS#11 token, logged in as CKU_USER through one read-write session: find and generate keys,
 * AES-GCM, RSA-OAEP, and RSA and ECDSA signatures on the token. Knows nothing of its callers (the
 * seal, PKI, transit).
 *
 * Invariants (the session's are pkcs11-token-base.ts's):
 * - every public method runs its PKCS#11 calls under the token's operation lock (`exclusive`), so
 *   the one session never serves two operations at once, even while C_Sign runs on a worker thread;
 * - generated private and secret keys never leave the token (pkcs11-keys.ts's templates);
 * - signatures are the token's bytes unchanged: PKCS#1 v1.5 or PSS for RSA, r ‖ s for ECDSA (the
 *   caller encodes them; pkcs11-signer.ts does so for X.509); ECDSA is computed over a digest
 *   made here with node:crypto, RSA mechanisms hash on the token;
 * - every failure is an HsmError, one line, never containing the PIN.
 */
import { createHash, createPublicKey, type KeyObject } from 'node:crypto';
import { readSingleElement } from '../crypto/x509/der';
import { fromPkcs11Error, HsmError, oneLine, type Pkcs11ErrorContext } from './hsm-error';
import { CKS_RO_USER_FUNCTIONS, CKS_RW_USER_FUNCTIONS } from './pkcs11-binding';
import {
  aesKeyTemplate,
  attributeBool,
  attributeUlong,
  curveOfParams,
  EC_CURVES,
  ecKeyPairTemplates,
  gcmMechanism,
  GCM_IV_BYTES,
  GCM_TAG_BYTES,
  keyName,
  keyTypeName,
  OAEP_HASHES,
  oaepMechanism,
  RSA_MAX_BYTES,
  rsaKeyPairTemplates,
  SIGN_HASHES,
  signMechanism,
  type EcCurve,
  type OaepHash,
  type Pkcs11KeyInfo,
  type Pkcs11KeyQuery,
  type Pkcs11KeyRef,
  type Pkcs11SignMechanism,
} from './pkcs11-keys';
import { Pkcs11Library } from './pkcs11-library';
import { Pkcs11TokenBase, type HsmHealth, type Pkcs11TokenOptions } from './pkcs11-token-base';

export type { EcCurve, OaepHash, Pkcs11KeyInfo, Pkcs11KeyQuery, Pkcs11KeyRef, Pkcs11SignMechanism, SignHash } from './pkcs11-keys';
export type { HsmHealth, Pkcs11TokenOptions } from './pkcs11-token-base';

const TAG_OCTET_STRING = 0x04;

/** A GCM or OAEP decryption whose input does not decrypt: the token's answer varies (SoftHSM: CKR_GENERAL_ERROR). */
const NOT_AUTHENTIC = ['CKR_GENERAL_ERROR', 'CKR_ENCRYPTED_DATA_INVALID', 'CKR_ENCRYPTED_DATA_LEN_RANGE'];

export class Pkcs11Token extends Pkcs11TokenBase {
  constructor(options: Pkcs11TokenOptions) {
    super(options);
  }

  /** Loads the library, finds the slot, opens a read-write session and logs in. Idempotent. */
  async open(): Promise<void> {
    return this.exclusive(() => this.openNow());
  }

  /** Closes the session and releases the library (finalised when no other token uses it). Idempotent. */
  async close(): Promise<void> {
    return this.exclusive(() => this.release());
  }

  /**
   * Closes the session, reinitialises the library (C_Finalize + C_Initialize: every session of the
   * library, of every token, becomes stale) and opens again: recovery after the token went away
   * and came back. On failure the object is closed; `reopen()` may be called again.
   */
  async reopen(): Promise<void> {
    return this.exclusive(() => {
      const lib = this.lib ?? Pkcs11Library.acquire(this.options.lib);
      this.lib = lib;
      this.dropSession();
      this.opened = false;
      try {
        lib.reinitialize();
      } catch (err) {
        this.release();
        throw err;
      }
      this.openNow();
    });
  }

  private openNow(): void {
    if (!this.lib) this.lib = Pkcs11Library.acquire(this.options.lib);
    this.opened = true;
    try {
      this.session();
    } catch (err) {
      this.release();
      throw err;
    }
  }

  /**
   * The secret key or RSA or EC private key with this label and/or id (at least one), or undefined;
   * HsmError 'key-ambiguous' when several keys match.
   */
  async findKey(query: Pkcs11KeyQuery): Promise<Pkcs11KeyRef | undefined> {
    if (!query.label && !(query.id && query.id.length > 0)) throw new TypeError('findKey: give a label or an id');
    return this.exclusive(() => {
      const s = this.session();
      const found = this.findKeys(s, query);
      if (found.length === 0) return undefined;
      if (found.length > 1) throw new HsmError('key-ambiguous', `${found.length} keys on ${this.name} match ${keyName(query)}: give both label and id`);
      const [{ cls, handle }] = found;
      const [label, id] = this.attributes(s, handle, [this.p.CKA_LABEL, this.p.CKA_ID], `reading ${keyName(query)} on ${this.name}`);
      const ref: Pkcs11KeyRef = { class: cls, label: label.value.toString('utf8'), id: Buffer.from(id.value) };
      this.remember(ref, handle);
      return ref;
    });
  }

  /** Generates a 256-bit AES key on the token (sensitive, not extractable); 'key-ambiguous' if the label or id is taken. */
  async generateAesKey(label: string, id?: Buffer): Promise<Pkcs11KeyRef> {
    return this.exclusive(() => {
      const s = this.session();
      const keyId = this.newKeyId(s, label, id);
      const what = `generating AES ${keyName({ label, id: keyId })} on ${this.name}`;
      const handle = this.call(what, () => this.m.C_GenerateKey(s.handle, { mechanism: this.p.CKM_AES_KEY_GEN }, aesKeyTemplate(this.p, label, keyId)));
      const ref: Pkcs11KeyRef = { class: 'secret', label, id: keyId };
      this.remember(ref, handle);
      return ref;
    });
  }

  /** Generates an RSA key pair (exponent 65537) on the token, the private key sensitive and not extractable. */
  async generateRsaKeyPair(label: string, bits: number, id?: Buffer): Promise<Pkcs11KeyRef> {
    if (!Number.isInteger(bits) || bits < 1024 || bits > RSA_MAX_BYTES * 8)
      throw new TypeError(`generateRsaKeyPair: ${bits} is not a supported modulus length`);
    return this.exclusive(() => {
      const s = this.session();
      const keyId = this.newKeyId(s, label, id);
      const what = `generating RSA-${bits} ${keyName({ label, id: keyId })} on ${this.name}`;
      const t = rsaKeyPairTemplates(this.p, label, bits, keyId);
      const pair = this.call(what, () => this.m.C_GenerateKeyPair(s.handle, { mechanism: this.p.CKM_RSA_PKCS_KEY_PAIR_GEN }, t.publicKey, t.privateKey));
      const ref: Pkcs11KeyRef = { class: 'rsa', label, id: keyId };
      this.remember(ref, pair.privateKey, pair.publicKey);
      return ref;
    });
  }

  /** Generates an EC key pair on a named curve, the private key sign-only, sensitive and not extractable. */
  async generateEcKeyPair(label: string, curve: EcCurve, id?: Buffer): Promise<Pkcs11KeyRef> {
    if (!Object.hasOwn(EC_CURVES, curve)) throw new TypeError(`generateEcKeyPair: ${String(curve)} is not one of ${Object.keys(EC_CURVES).join(', ')}`);
    return this.exclusive(() => {
      const s = this.session();
      const keyId = this.newKeyId(s, label, id);
      const what = `generating EC ${curve} ${keyName({ label, id: keyId })} on ${this.name}`;
      const t = ecKeyPairTemplates(this.p, label, curve, keyId);
      const pair = this.call(what, () => this.m.C_GenerateKeyPair(s.handle, { mechanism: this.p.CKM_EC_KEY_PAIR_GEN }, t.publicKey, t.privateKey));
      const ref: Pkcs11KeyRef = { class: 'ec', label, id: keyId };
      this.remember(ref, pair.privateKey, pair.publicKey);
      return ref;
    });
  }

  /** Label, id, type, length and the protection attributes of a key (of the private key for RSA and EC). */
  async keyInfo(ref: Pkcs11KeyRef): Promise<Pkcs11KeyInfo> {
    return this.exclusive(() => {
      const p = this.p;
      return this.withKey(ref, `reading the attributes of ${keyName(ref)} on ${this.name}`, (s, key) => {
        const [label, id, type, sensitive, extractable] = this.attributes(s, key.handle, [
          p.CKA_LABEL,
          p.CKA_ID,
          p.CKA_KEY_TYPE,
          p.CKA_SENSITIVE,
          p.CKA_EXTRACTABLE,
        ]);
        const info: Pkcs11KeyInfo = {
          label: label.value.toString('utf8'),
          id: Buffer.from(id.value),
          keyType: keyTypeName(p, attributeUlong(type)),
          sensitive: attributeBool(sensitive),
          extractable: attributeBool(extractable),
        };
        try {
          // Public attributes even of a sensitive key; a token may still not report them.
          if (ref.class === 'secret') info.bits = attributeUlong(this.attributes(s, key.handle, [p.CKA_VALUE_LEN])[0]) * 8;
          else if (ref.class === 'rsa') info.bits = this.attributes(s, key.handle, [p.CKA_MODULUS])[0].value.length * 8;
          else {
            const curve = curveOfParams(this.attributes(s, key.handle, [p.CKA_EC_PARAMS])[0].value);
            info.bits = curve === undefined ? undefined : EC_CURVES[curve].bits;
          }
        } catch {
          info.bits = undefined;
        }
        return info;
      });
    });
  }

  /** The public key of an RSA reference, for software encryption and verification. */
  async rsaPublicKey(ref: Pkcs11KeyRef): Promise<KeyObject> {
    this.requireClass(ref, 'rsa', 'an RSA public key');
    return this.publicKey(ref);
  }

  /**
   * The public key of an RSA or EC reference as a KeyObject. EC: CKA_EC_PARAMS must name P-256,
   * P-384 or P-521; CKA_EC_POINT is the uncompressed point, DER OCTET STRING-wrapped as PKCS#11
   * requires (SoftHSM) or bare as some tokens give it.
   */
  async publicKey(ref: Pkcs11KeyRef): Promise<KeyObject> {
    this.requireClass(ref, ['rsa', 'ec'], 'a public key');
    return this.exclusive(() =>
      this.withKey(ref, `reading the public key of ${keyName(ref)} on ${this.name}`, (s, key) => {
        const handle = this.publicHandle(s, ref, key);
        if (ref.class === 'rsa') {
          const [n, e] = this.attributes(s, handle, [this.p.CKA_MODULUS, this.p.CKA_PUBLIC_EXPONENT]);
          return createPublicKey({ key: { kty: 'RSA', n: n.value.toString('base64url'), e: e.value.toString('base64url') }, format: 'jwk' });
        }
        const [params, point] = this.attributes(s, handle, [this.p.CKA_EC_PARAMS, this.p.CKA_EC_POINT]);
        const curve = curveOfParams(params.value);
        if (curve === undefined) throw new HsmError('mechanism', `${keyName(ref)} on ${this.name} is not on P-256, P-384 or P-521`);
        return ecPublicKey(curve, point.value, `the EC point of ${keyName(ref)} on ${this.name}`);
      }),
    );
  }

  /**
   * The signature of `data` by the private key of `ref`: RSA PKCS#1 v1.5 or PSS (salt as long as
   * the hash, MGF1 of the same hash) hashing on the token, or ECDSA over `data`'s digest made here,
   * as r ‖ s. C_Sign runs on a worker thread (pkcs11js's callback form), off the event loop.
   */
  async sign(ref: Pkcs11KeyRef, mechanism: Pkcs11SignMechanism, data: Buffer): Promise<Buffer> {
    const { algorithm, hash } = mechanism;
    this.requireClass(ref, algorithm === 'ecdsa' ? 'ec' : 'rsa', `${algorithm} signing`);
    if (!SIGN_HASHES.includes(hash)) throw new HsmError('mechanism', `signing with ${String(hash)} is not supported (one of ${SIGN_HASHES.join(', ')})`);
    const what = `${algorithm}-${hash} signing with ${keyName(ref)} on ${this.name}`;
    // pkcs11js passes an empty Buffer as a NULL pointer; a digest is never empty.
    const input = algorithm === 'ecdsa' ? createHash(hash).update(data).digest() : data;
    if (input.length === 0) throw new HsmError('operation', `${what} failed: the data is empty`);
    return this.exclusive(() =>
      this.withKey(ref, what, async (s, key) => {
        this.call(what, () => this.m.C_SignInit(s.handle, signMechanism(this.p, mechanism), key.handle), unsupportedMechanism(`${algorithm} with ${hash}`));
        const signature = await new Promise<Buffer>((resolve, reject) => {
          this.m.C_Sign(s.handle, input, Buffer.alloc(RSA_MAX_BYTES), (err, out) => (err ? reject(err) : resolve(out)));
        });
        return Buffer.from(signature);
      }),
    );
  }
  /** AES-GCM on the token: `iv (12) ‖ ciphertext ‖ tag (16)`, the IV from the token's C_GenerateRandom; the plaintext must not be empty. */
  async encryptAesGcm(ref: Pkcs11KeyRef, plaintext: Buffer, aad?: Buffer): Promise<Buffer> {
    this.requireClass(ref, 'secret', 'AES-GCM');
    const what = `AES-GCM encryption with ${keyName(ref)} on ${this.name}`;
    // pkcs11js passes an empty Buffer as a NULL pointer, which tokens refuse (SoftHSM: CKR_ARGUMENTS_BAD).
    if (plaintext.length === 0) throw new HsmError('operation', `${what} failed: the plaintext is empty`);
    return this.exclusive(() =>
      this.withKey(ref, what, (s, key) => {
        // A random 96-bit IV per encryption (NIST SP 800-38D: at most 2^32 encryptions per key; seal operations are rare).
        const iv = Buffer.from(this.m.C_GenerateRandom(s.handle, Buffer.alloc(GCM_IV_BYTES)));
        this.m.C_EncryptInit(s.handle, gcmMechanism(this.p, iv, aad), key.handle);
        const sealed = this.m.C_Encrypt(s.handle, plaintext, Buffer.alloc(plaintext.length + GCM_TAG_BYTES));
        if (sealed.length !== plaintext.length + GCM_TAG_BYTES)
          throw new HsmError('operation', `AES-GCM encryption on ${this.name} returned ${sealed.length} bytes, not ciphertext and tag`);
        return Buffer.concat([iv, sealed]);
      }),
    );
  }

  /** Opens what encryptAesGcm sealed; HsmError 'operation' when it does not authenticate (wrong key, AAD or bytes). */
  async decryptAesGcm(ref: Pkcs11KeyRef, blob: Buffer, aad?: Buffer): Promise<Buffer> {
    this.requireClass(ref, 'secret', 'AES-GCM');
    const what = `AES-GCM decryption with ${keyName(ref)} on ${this.name}`;
    if (blob.length < GCM_IV_BYTES + GCM_TAG_BYTES)
      throw new HsmError('operation', `${what} failed: the ciphertext is ${blob.length} bytes, shorter than IV and tag`);
    const iv = blob.subarray(0, GCM_IV_BYTES);
    const sealed = blob.subarray(GCM_IV_BYTES);
    return this.exclusive(() =>
      this.withKey(ref, what, (s, key) => {
        this.m.C_DecryptInit(s.handle, gcmMechanism(this.p, iv, aad), key.handle);
        // The output buffer has the input's length: some tokens want room for the tag too.
        return Buffer.from(
          this.call(what, () => this.m.C_Decrypt(s.handle, sealed, Buffer.alloc(sealed.length)), notAuthentic('the ciphertext did not authenticate')),
        );
      }),
    );
  }

  /** RSA-OAEP encryption on the token with the public key, MGF1 with the same hash. */
  async encryptRsaOaep(ref: Pkcs11KeyRef, plaintext: Buffer, hash: OaepHash): Promise<Buffer> {
    this.requireClass(ref, 'rsa', 'RSA-OAEP');
    const what = `RSA-OAEP-${hash} encryption with ${keyName(ref)} on ${this.name}`;
    return this.exclusive(() =>
      this.withKey(ref, what, (s, key) => {
        const pub = this.publicHandle(s, ref, key);
        this.call(what, () => this.m.C_EncryptInit(s.handle, oaepMechanism(this.p, checkedHash(hash)), pub), unsupportedOaep(hash));
        return Buffer.from(this.m.C_Encrypt(s.handle, plaintext, Buffer.alloc(RSA_MAX_BYTES)));
      }),
    );
  }

  /** RSA-OAEP decryption on the token with the private key. */
  async decryptRsaOaep(ref: Pkcs11KeyRef, ciphertext: Buffer, hash: OaepHash): Promise<Buffer> {
    this.requireClass(ref, 'rsa', 'RSA-OAEP');
    const what = `RSA-OAEP-${hash} decryption with ${keyName(ref)} on ${this.name}`;
    return this.exclusive(() =>
      this.withKey(ref, what, (s, key) => {
        this.call(what, () => this.m.C_DecryptInit(s.handle, oaepMechanism(this.p, checkedHash(hash)), key.handle), unsupportedOaep(hash));
        return Buffer.from(
          this.call(what, () => this.m.C_Decrypt(s.handle, ciphertext, Buffer.alloc(RSA_MAX_BYTES)), notAuthentic('the ciphertext does not decrypt')),
        );
      }),
    );
  }

  /**
   * Whether the token answers: the session is logged in, the token readable, its RNG works, and
   * (with `key`) the key is still there. Cheap; never throws. After an outage it stays not ok until
   * the library is reinitialised (`reopen()`): SoftHSM, for one, sees neither the token nor its keys
   * again before that.
   */
  async health(key?: Pkcs11KeyRef): Promise<HsmHealth> {
    return this.exclusive(() => this.healthNow(key));
  }

  private async healthNow(key?: Pkcs11KeyRef): Promise<HsmHealth> {
    try {
      const s = this.session();
      const state = this.call(`checking the session on ${this.name}`, () => this.m.C_GetSessionInfo(s.handle).state);
      if (state !== CKS_RW_USER_FUNCTIONS && state !== CKS_RO_USER_FUNCTIONS)
        throw new HsmError('not-logged-in', `the session on ${this.name} is not logged in (state ${state})`);
      this.checkTokenReadable(s);
      this.call(`drawing random bytes on ${this.name}`, () => this.m.C_GenerateRandom(s.handle, Buffer.alloc(1)));
      if (key) await this.withKey(key, `checking ${keyName(key)} on ${this.name}`, (s2, k) => this.attributes(s2, k.handle, [this.p.CKA_CLASS]));
      return { ok: true };
    } catch (err) {
      return { ok: false, error: fromPkcs11Error(err, `health check of ${this.name}`) };
    }
  }
}

function checkedHash(hash: OaepHash): OaepHash {
  if (!OAEP_HASHES.includes(hash)) throw new HsmError('mechanism', `RSA-OAEP with ${String(hash)} is not supported (one of ${OAEP_HASHES.join(', ')})`);
  return hash;
}

function notAuthentic(hint: string): Pkcs11ErrorContext {
  return { kinds: Object.fromEntries(NOT_AUTHENTIC.map((c) => [c, 'operation'])), hints: Object.fromEntries(NOT_AUTHENTIC.map((c) => [c, hint])) };
}

/** SoftHSM 2.6.1 answers CKR_ARGUMENTS_BAD for OAEP with any hash but SHA-1 (SoftHSMv2 #474). */
function unsupportedOaep(hash: OaepHash): Pkcs11ErrorContext {
  const hint = `the token does not support RSA-OAEP with ${hash} and MGF1-${hash}`;
  const codes = ['CKR_ARGUMENTS_BAD', 'CKR_MECHANISM_INVALID', 'CKR_MECHANISM_PARAM_INVALID'];
  return { kinds: Object.fromEntries(codes.map((c) => [c, 'mechanism'])), hints: Object.fromEntries(codes.map((c) => [c, hint])) };
}

/** Any token error from C_SignInit that means "not this mechanism or these parameters". */
function unsupportedMechanism(what: string): Pkcs11ErrorContext {
  const hint = `the token does not support ${what} for this key`;
  const codes = ['CKR_ARGUMENTS_BAD', 'CKR_MECHANISM_INVALID', 'CKR_MECHANISM_PARAM_INVALID'];
  return { kinds: Object.fromEntries(codes.map((c) => [c, 'mechanism'])), hints: Object.fromEntries(codes.map((c) => [c, hint])) };
}

/** The KeyObject of an uncompressed point on `curve`, bare (04 ‖ X ‖ Y) or in a DER OCTET STRING. */
function ecPublicKey(curve: EcCurve, point: Buffer, what: string): KeyObject {
  const size = EC_CURVES[curve].coordinateBytes;
  let raw = point;
  if (point.length !== 1 + 2 * size) {
    try {
      raw = point.subarray(readSingleElement(point, TAG_OCTET_STRING, 'EC point').contentStart);
    } catch (err) {
      throw new HsmError('operation', `${what} is not an OCTET STRING: ${(err as Error).message}`);
    }
  }
  if (raw.length !== 1 + 2 * size || raw[0] !== 0x04) throw new HsmError('operation', `${what} is not an uncompressed ${curve} point`);
  const coordinate = (i: number) => raw.subarray(1 + i * size, 1 + (i + 1) * size).toString('base64url');
  try {
    return createPublicKey({ key: { kty: 'EC', crv: curve, x: coordinate(0), y: coordinate(1) }, format: 'jwk' });
  } catch (err) {
    throw new HsmError('operation', `${what} is not a valid ${curve} point: ${oneLine((err as Error).message)}`);
  }
}
