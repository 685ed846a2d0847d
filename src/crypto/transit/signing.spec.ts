import { createHash, createPrivateKey, createPublicKey, hkdfSync, publicDecrypt, sign, verify, constants, type KeyObject } from 'node:crypto';
import { bigintBytes, curve } from './digest-signing';
import { generateKeyVersion, type KeyVersionMaterial, type TransitKeyType } from './key-types';
import {
  HASH_ALGORITHMS,
  checkSignatureOptions,
  computeHmac,
  decodeSignature,
  ed25519PublicBytes,
  ed25519Refusal,
  encodeSignature,
  hmacKeyOf,
  hmacMatches,
  parseSaltLength,
  signInput,
  signingKey,
  verificationKey,
  verifyInput,
  type HashAlgorithm,
  type SignatureOptions,
} from './signing';
import { MISSING_CONTEXT } from './symmetric';

const INPUT = Buffer.from('the quick brown fox');
const HASHES = Object.keys(HASH_ALGORITHMS).filter((h) => h !== 'none') as HashAlgorithm[];
const NO_CONTEXT = Buffer.alloc(0);

function options(change: Partial<SignatureOptions> = {}): SignatureOptions {
  return { hashAlgorithm: 'sha2-256', prehashed: false, signatureAlgorithm: '', marshaling: 'asn1', saltLength: 0, ...change };
}

const materials = new Map<TransitKeyType, KeyVersionMaterial>();
function material(t: TransitKeyType): KeyVersionMaterial {
  let m = materials.get(t);
  if (!m) {
    m = generateKeyVersion(t).material;
    materials.set(t, m);
  }
  return m;
}

function keys(t: TransitKeyType): { priv: KeyObject; pub: KeyObject } {
  const m = material(t);
  return { priv: signingKey(t, m, false, NO_CONTEXT), pub: verificationKey(t, m, undefined, false, NO_CONTEXT) };
}

function digest(hash: HashAlgorithm, data: Buffer): Buffer {
  return createHash(HASH_ALGORITHMS[hash] as string)
    .update(data)
    .digest();
}

/** A byte of the signature flipped. */
function tampered(sig: Buffer, at = 10): Buffer {
  const copy = Buffer.from(sig);
  copy[at] ^= 0x01;
  return copy;
}

describe("Vault's own ECDSA vectors (path_sign_verify_test.go: fixed keys, signatures made by openssl)", () => {
  const vectors = [
    {
      t: 'ecdsa-p256' as const,
      crv: 'P-256',
      x: '7336010a6da5935113d26d9ea4bb61b3b8d102c9a8083ed432f9b58fd7e80686',
      y: '4040aa31864691a8a9e7e3ec9250e85425b797ad7be34ba8df62bfbad45ebb0e',
      d: '99e5569be8683a2691dfc560ca9dfa71e887867a3af60635a08a3e3655aba3ef',
      sig: 'MEUCIAgnEl9V8P305EBAlz68Nq4jZng5fE8k6MactcnlUw9dAiEAvJVePg3dazW6MaW7lRAVtEz82QJDVmR98tXCl8Pc7DA=',
    },
    {
      t: 'ecdsa-p384' as const,
      crv: 'P-384',
      x: '703457a84e48bfcb037cfb509f1870d2aa5b74c109c2f24624ab21444492575229f8711453e5c656dab596b4e26db30e',
      y: '411c5b7092a893dc8b7af39de3d21d1c26f45b27616baeac4c479ef3c9f21c194b5ac501dee47ba2b2cb243a54256524',
      d: '3de3e4fd2ecbc490e956f41f5003a1e57a84763cec7b722fa3427cf461a1148ea4d5206023bcce0422289f6633730759',
      sig: 'MGUCMHHZLRN/3ehWuWACfSCMLtFtNEAdx6Rkwon2Lx6FWCyXCXqH6A8Pz8er0Qkgvm2ElQIxAO922LmUeYzHmDSfC5is/TjFu3b4Fb+1XtoBXncc2u4t2vSuTAxEv7WMh2D2YDdxeA==',
    },
    {
      t: 'ecdsa-p521' as const,
      crv: 'P-521',
      x: '1913f75fc044fe5d1f871c2629a377462fd819b174a41d3ec7d04ebd5ae35475ff8de544f4e19a9aa6b16a8f67af479be6884e00ca3147dc24d5924d66ac395e04b',
      y: '4919406b90d8323fdb5c9c4f48259c56ebcea37b40ad1a82bbbfad62a9b9c2dce515772274b84725471c7d0b7c62e10c23296b1a9d2b2586ada67735ff5d9fffc4',
      d: '1867d0fcd9bac4c5821b70a6b13117499438f8c274579c0aba254fbd85fa98892c3608576197d5534366a9aab0f904155bec46d800d23a57f7f053d91526568b09',
      sig: 'MIGIAkIBYhspOgSs/K/NUWtlBN+CfYe1IVFpUbQNSqdjT7s+QKcr6GKmdGLIQAXw0q6K0elBgzi1wgLjxwdscwMeW7tm/QQCQgDzdITGlUEd9Z7DOfLCnDP4X8pGsfO60Tvsh/BN44drZsHLtXYBXLczB/XZfIWAsPMuI5F7ExwVNbmQP0FBVri/QQ==',
    },
  ];

  it.each(vectors)('$t: the openssl signature over "the quick brown fox" verifies (sha2-256), plain and as a prehashed digest', (v) => {
    const size = curve(v.crv).size;
    const field = (hex: string) => bigintBytes(BigInt(`0x${hex}`), size).toString('base64url');
    const privateKey = createPrivateKey({ key: { kty: 'EC', crv: v.crv, x: field(v.x), y: field(v.y), d: field(v.d) }, format: 'jwk' });
    const m = { key: privateKey.export({ format: 'der', type: 'pkcs8' }) };
    const pub = verificationKey(v.t, m, undefined, false, NO_CONTEXT);
    const sig = decodeSignature(v.sig, 'asn1');
    expect(verifyInput(v.t, pub, INPUT, sig, options())).toBe(true);
    expect(verifyInput(v.t, pub, digest('sha2-256', INPUT), sig, options({ prehashed: true }))).toBe(true);
    expect(verifyInput(v.t, pub, Buffer.from('the quick brown fix'), sig, options())).toBe(false);
    expect(verifyInput(v.t, pub, INPUT, sig, options({ hashAlgorithm: 'sha2-384' }))).toBe(false);
    // Our signature with the same key verifies where theirs does.
    const ours = signInput(v.t, signingKey(v.t, m, false, NO_CONTEXT), INPUT, options());
    expect(verify('sha256', INPUT, createPublicKey(privateKey), ours)).toBe(true);
  });
});

describe('independent vectors (Python cryptography 48.0)', () => {
  it('derived ed25519: HKDF-SHA256(Go key, context) as the seed gives their public key and their (deterministic) signature', () => {
    const goKey = Buffer.from(
      '000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f03a107bff3ce10be1d70dd18e74bc09967e4d6309ba50d5f1ddc8664125531b8',
      'hex',
    );
    const key = signingKey('ed25519', { key: goKey }, true, Buffer.from('tenant-42'));
    expect(ed25519PublicBytes(key).toString('hex')).toBe('e180699bba6832197e16682f31d9b7448d136c82bf187208e299493feef6f5e9');
    expect(signInput('ed25519', key, INPUT, options()).toString('hex')).toBe(
      '0c849010d6b7486667fb606dcb4e719476ce847a8b826b99af0df86947e16e7fc268cfe125795d41aa493b3e1778da2444f1e7ac9f358406ed7d712ff1ab2f04',
    );
  });

  it.each([
    [
      'a 20-byte digest (shorter than the order)',
      'sha1',
      'ced71fa7235231bed383facfdc41c4ddcc22ecf1',
      '3045022016bfcf4577843817fd42ef447f073041ccfec07f8e7b95422db935aac2883d6f022100a098a2dc528091a1a7f336466b15081081d5ee29c6050c50100a33c94184149a',
    ],
    [
      'a 48-byte digest (truncated to the order)',
      'sha384',
      '15af9ec8be783f25c583626e9491dbf129dd6dd620466fdf05b3a1d0bb8381d30f4d3ec29f923ff1e09a0f6b337365a6',
      '304502203b641575cf0fc7ef9223924fba59757c0ee69b2990f5596a275962833c666a3d022100af5f013cf4c60924eeca20f57aa7b562886acf5394555fdb80497f4d8efcd918',
    ],
  ])('prehashed ECDSA P-256 over %s of INPUT: their signature verifies here, and ours in node', (_label, hash, digestHex, sigHex) => {
    const d = Buffer.from('99e5569be8683a2691dfc560ca9dfa71e887867a3af60635a08a3e3655aba3ef', 'hex');
    const x = Buffer.from('7336010a6da5935113d26d9ea4bb61b3b8d102c9a8083ed432f9b58fd7e80686', 'hex');
    const y = Buffer.from('4040aa31864691a8a9e7e3ec9250e85425b797ad7be34ba8df62bfbad45ebb0e', 'hex');
    const privateKey = createPrivateKey({
      key: { kty: 'EC', crv: 'P-256', x: x.toString('base64url'), y: y.toString('base64url'), d: d.toString('base64url') },
      format: 'jwk',
    });
    const pub = createPublicKey(privateKey);
    const digestBytes = Buffer.from(digestHex, 'hex');
    const pre = options({ prehashed: true });
    expect(verifyInput('ecdsa-p256', pub, digestBytes, Buffer.from(sigHex, 'hex'), pre)).toBe(true);
    expect(verifyInput('ecdsa-p256', pub, tampered(digestBytes, 0), Buffer.from(sigHex, 'hex'), pre)).toBe(false);
    expect(createHash(hash).update(INPUT).digest().equals(digestBytes)).toBe(true);
    const ours = signInput('ecdsa-p256', privateKey, digestBytes, pre);
    expect(verify(hash, INPUT, pub, ours)).toBe(true);
  });
});

describe('ECDSA', () => {
  const types = ['ecdsa-p256', 'ecdsa-p384', 'ecdsa-p521'] as const;

  it.each(types)('%s: every hash, asn1 and jws, plain and prehashed, round trips; tampering fails', (t) => {
    const { priv, pub } = keys(t);
    const size = curve({ 'ecdsa-p256': 'P-256', 'ecdsa-p384': 'P-384', 'ecdsa-p521': 'P-521' }[t]).size;
    for (const hashAlgorithm of HASHES) {
      for (const marshaling of ['asn1', 'jws'] as const) {
        const o = options({ hashAlgorithm, marshaling });
        const sig = signInput(t, priv, INPUT, o);
        if (marshaling === 'jws') expect(sig.length).toBe(2 * size);
        expect(verifyInput(t, pub, INPUT, sig, o)).toBe(true);
        expect(verifyInput(t, pub, Buffer.from('other'), sig, o)).toBe(false);
        const rs = marshaling === 'jws' ? tampered(sig, 3) : tampered(sig, sig.length - 3);
        expect(verifyInput(t, pub, INPUT, rs, o)).toBe(false);
        // node (OpenSSL) agrees: the signature is ECDSA over hash(input)
        expect(verify(HASH_ALGORITHMS[hashAlgorithm], INPUT, { key: pub, dsaEncoding: marshaling === 'jws' ? 'ieee-p1363' : 'der' }, sig)).toBe(true);

        // prehashed: the input is the digest; signatures are interchangeable with the plain ones
        const d = digest(hashAlgorithm, INPUT);
        const pre = options({ hashAlgorithm, marshaling, prehashed: true });
        const preSig = signInput(t, priv, d, pre);
        expect(verifyInput(t, pub, INPUT, preSig, o)).toBe(true);
        expect(verifyInput(t, pub, d, sig, pre)).toBe(true);
        expect(verifyInput(t, pub, d, preSig, pre)).toBe(true);
        expect(verifyInput(t, pub, tampered(d, 0), preSig, pre)).toBe(false);
      }
    }
  });

  it('a prehashed input of any length is signed as Go does (truncated to the order, empty allowed)', () => {
    const { priv, pub } = keys('ecdsa-p256');
    for (const input of [Buffer.alloc(0), Buffer.from('short'), Buffer.alloc(100, 7)]) {
      const sig = signInput('ecdsa-p256', priv, input, options({ prehashed: true }));
      expect(verifyInput('ecdsa-p256', pub, input, sig, options({ prehashed: true }))).toBe(true);
    }
    // a 64-byte digest on P-256 uses its first 32 bytes: the sha512 signature checks as a sha256-sized prefix
    const d = digest('sha2-512', INPUT);
    const sig = signInput('ecdsa-p256', priv, d, options({ prehashed: true }));
    expect(verifyInput('ecdsa-p256', pub, d.subarray(0, 32), sig, options({ prehashed: true }))).toBe(true);
    expect(verifyInput('ecdsa-p256', pub, INPUT, sig, options({ hashAlgorithm: 'sha2-512' }))).toBe(true);
  });

  it("refuses DER that Go's asn1 refuses, with Vault's messages; out-of-range scalars verify false", () => {
    const { priv, pub } = keys('ecdsa-p256');
    const sig = signInput('ecdsa-p256', priv, INPUT, options());
    expect(() => verifyInput('ecdsa-p256', pub, INPUT, Buffer.concat([sig, Buffer.from([0])]), options())).toThrow('supplied signature contains extra data');
    for (const bad of [
      Buffer.alloc(0),
      sig.subarray(0, sig.length - 1),
      Buffer.from('300702020001020101', 'hex'),
      Buffer.from('3003020101', 'hex'),
      Buffer.from('30050200020101', 'hex'),
      Buffer.from('31060201010201 01'.replace(/ /g, ''), 'hex'),
    ])
      expect(() => verifyInput('ecdsa-p256', pub, INPUT, bad, options())).toThrow('supplied signature is invalid');
    // r = 1, s = 1 parses and is simply not valid; so are r = 0 and a negative r
    expect(verifyInput('ecdsa-p256', pub, INPUT, Buffer.from('3006020100020101', 'hex'), options())).toBe(false);
    expect(verifyInput('ecdsa-p256', pub, INPUT, Buffer.from('3006020101020101', 'hex'), options())).toBe(false);
    expect(verifyInput('ecdsa-p256', pub, INPUT, Buffer.from('30060201ff020101', 'hex'), options())).toBe(false);
    // jws of any length parses; a wrong one is false
    expect(verifyInput('ecdsa-p256', pub, INPUT, Buffer.alloc(0), options({ marshaling: 'jws' }))).toBe(false);
    expect(verifyInput('ecdsa-p256', pub, INPUT, sig, options({ marshaling: 'jws' }))).toBe(false);
  });
});

describe('RSA', () => {
  const t = 'rsa-2048' as const;

  it('PSS and PKCS#1 v1.5 with every hash round trip, plain and prehashed, and agree with node', () => {
    const { priv, pub } = keys(t);
    for (const hashAlgorithm of HASHES) {
      const d = digest(hashAlgorithm, INPUT);
      const h = HASH_ALGORITHMS[hashAlgorithm];
      for (const signatureAlgorithm of ['', 'pss', 'pkcs1v15']) {
        const o = options({ hashAlgorithm, signatureAlgorithm });
        const pre = options({ hashAlgorithm, signatureAlgorithm, prehashed: true });
        const sig = signInput(t, priv, INPUT, o);
        const preSig = signInput(t, priv, d, pre);
        expect(verifyInput(t, pub, INPUT, sig, o)).toBe(true);
        expect(verifyInput(t, pub, INPUT, preSig, o)).toBe(true);
        expect(verifyInput(t, pub, d, sig, pre)).toBe(true);
        expect(verifyInput(t, pub, d, preSig, pre)).toBe(true);
        expect(verifyInput(t, pub, INPUT, tampered(sig), o)).toBe(false);
        expect(verifyInput(t, pub, d, tampered(preSig), pre)).toBe(false);
        const padding = signatureAlgorithm === 'pkcs1v15' ? constants.RSA_PKCS1_PADDING : constants.RSA_PKCS1_PSS_PADDING;
        expect(verify(h, INPUT, { key: pub, padding }, preSig)).toBe(true);
        // PKCS#1 v1.5 is deterministic: the digest path writes exactly node's DigestInfo signature
        if (signatureAlgorithm === 'pkcs1v15') expect(preSig.equals(sign(h, INPUT, { key: priv, padding }))).toBe(true);
      }
    }
  });

  it('PSS salt lengths: auto is the longest and any verifies under auto; hash and exact lengths are checked', () => {
    const { priv, pub } = keys(t);
    const max = 256 - 2 - 32;
    const saltOf = (sig: Buffer): number => {
      for (const s of [0, 20, 32, max]) if (verify('sha256', INPUT, { key: pub, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: s }, sig)) return s;
      return -99;
    };
    for (const prehashed of [false, true]) {
      const input = prehashed ? digest('sha2-256', INPUT) : INPUT;
      const sign = (saltLength: number) => signInput(t, priv, input, options({ saltLength, prehashed }));
      const check = (sig: Buffer, saltLength: number) => verifyInput(t, pub, input, sig, options({ saltLength, prehashed }));
      expect(saltOf(sign(0))).toBe(max);
      expect(saltOf(sign(-1))).toBe(32);
      expect(saltOf(sign(20))).toBe(20);
      for (const salt of [-1, 20, max]) {
        const sig = sign(salt);
        expect(check(sig, 0)).toBe(true);
        expect(check(sig, salt)).toBe(true);
        expect(check(sig, salt === 20 ? 21 : 20)).toBe(false);
      }
      expect(() => sign(max + 1)).toThrow(`requested salt length ${max + 1} is invalid`);
      expect(() => check(sign(0), max + 1)).toThrow(`requested salt length ${max + 1} is invalid`);
    }
  });

  it('hash none: PKCS#1 v1.5 of the input with no DigestInfo; a wrong-size digest is refused', () => {
    const { priv, pub } = keys(t);
    const o = options({ hashAlgorithm: 'none', prehashed: true, signatureAlgorithm: 'pkcs1v15' });
    const sig = signInput(t, priv, INPUT, o);
    expect(publicDecrypt({ key: pub, padding: constants.RSA_PKCS1_PADDING }, sig).equals(INPUT)).toBe(true);
    expect(verifyInput(t, pub, INPUT, sig, o)).toBe(true);
    expect(verifyInput(t, pub, Buffer.from('the quick brown fix'), sig, o)).toBe(false);
    expect(() => signInput(t, priv, Buffer.alloc(250), o)).toThrow('crypto/rsa: message too long for RSA key size');
    expect(() => signInput(t, priv, INPUT, options({ prehashed: true, signatureAlgorithm: 'pkcs1v15' }))).toThrow('crypto/rsa: input must be hashed message');
    expect(() => signInput(t, priv, INPUT, options({ prehashed: true }))).toThrow('crypto/rsa: input must be hashed with given hash');
    expect(verifyInput(t, pub, INPUT, sig, options({ prehashed: true }))).toBe(false);
    expect(() => signInput(t, priv, INPUT, options({ signatureAlgorithm: 'pss2' }))).toThrow('unsupported rsa signature algorithm pss2');
  });

  it('a version shown only by its public key verifies', () => {
    const generated = generateKeyVersion('rsa-2048');
    const sig = signInput(t, signingKey(t, generated.material, false, NO_CONTEXT), INPUT, options());
    const pub = verificationKey(t, { key: Buffer.alloc(0) }, generated.publicKey, false, NO_CONTEXT);
    expect(verifyInput(t, pub, INPUT, sig, options())).toBe(true);
  });
});

describe('ed25519', () => {
  it('signs the input itself whatever hash is named; tampering fails', () => {
    const { priv, pub } = keys('ed25519');
    const sig = signInput('ed25519', priv, INPUT, options({ hashAlgorithm: 'sha1' }));
    expect(sig.length).toBe(64);
    expect(verify(null, INPUT, pub, sig)).toBe(true);
    expect(verifyInput('ed25519', pub, INPUT, sig, options())).toBe(true);
    expect(verifyInput('ed25519', pub, INPUT, tampered(sig), options())).toBe(false);
    expect(verifyInput('ed25519', pub, INPUT, sig.subarray(0, 63), options())).toBe(false);
    const shown = generateKeyVersion('ed25519');
    const shownPub = verificationKey('ed25519', undefined, shown.publicKey, false, NO_CONTEXT);
    expect(
      verifyInput('ed25519', shownPub, INPUT, signInput('ed25519', signingKey('ed25519', shown.material, false, NO_CONTEXT), INPUT, options()), options()),
    ).toBe(true);
  });

  it('derived keys: the seed is HKDF-SHA256 of the 64-byte key under the context; per-context keys differ', () => {
    const m = material('ed25519');
    const a = Buffer.from('context-a');
    const keyA = signingKey('ed25519', m, true, a);
    const keyB = signingKey('ed25519', m, true, Buffer.from('context-b'));
    expect(ed25519PublicBytes(keyA).equals(ed25519PublicBytes(keyB))).toBe(false);
    expect(ed25519PublicBytes(keyA).equals(m.key.subarray(32))).toBe(false);
    const sig = signInput('ed25519', keyA, INPUT, options());
    expect(verifyInput('ed25519', verificationKey('ed25519', m, undefined, true, a), INPUT, sig, options())).toBe(true);
    expect(verifyInput('ed25519', verificationKey('ed25519', m, undefined, true, Buffer.from('context-b')), INPUT, sig, options())).toBe(false);
    expect(() => signingKey('ed25519', m, true, NO_CONTEXT)).toThrow(`error deriving key: ${MISSING_CONTEXT}`);
    // the same derivation written out with node's HKDF
    const seed = Buffer.from(hkdfSync('sha256', m.key, Buffer.alloc(0), a, 32));
    const pkcs8 = Buffer.concat([Buffer.from('302e020100300506032b657004220420', 'hex'), seed]);
    expect(createPublicKey(createPrivateKey({ key: pkcs8, format: 'der', type: 'pkcs8' })).equals(createPublicKey(keyA))).toBe(true);
  });

  it('refuses Ed25519ph as Vault CE does', () => {
    expect(ed25519Refusal('ed25519', options({ prehashed: true }))).toBe('only Pure Ed25519 signatures supported, prehashed must be false');
    expect(ed25519Refusal('ed25519', options({ hashAlgorithm: 'sha2-512' }))).toBe('only Pure Ed25519 signatures supported, hash_alogithm should not be set');
    expect(ed25519Refusal('ed25519', options(), 'Y3R4')).toBe('only Pure Ed25519 signatures supported, signature_context must be empty');
    expect(ed25519Refusal('ed25519', options({ hashAlgorithm: 'sha3-512' }))).toBeUndefined();
    expect(ed25519Refusal('ed25519', options(), '')).toBeUndefined();
    expect(ed25519Refusal('ecdsa-p256', options({ prehashed: true }))).toBeUndefined();
  });
});

describe('options and encodings', () => {
  it("parses salt_length as Vault's getSaltLength", () => {
    expect(parseSaltLength('auto')).toBe(0);
    expect(parseSaltLength('AUTO')).toBe(0);
    expect(parseSaltLength('hash')).toBe(-1);
    expect(parseSaltLength('0')).toBe(0);
    expect(parseSaltLength('-1')).toBe(-1);
    expect(parseSaltLength('32')).toBe(32);
    expect(() => parseSaltLength('-2')).toThrow('salt length is invalid: -2');
    expect(() => parseSaltLength('max')).toThrow("salt length neither 'auto', 'hash', nor an int: max");
  });

  it('hash none needs prehashed and pkcs1v15', () => {
    const message = 'hash_algorithm=none requires both prehashed=true and signature_algorithm=pkcs1v15';
    expect(() => checkSignatureOptions(options({ hashAlgorithm: 'none' }))).toThrow(message);
    expect(() => checkSignatureOptions(options({ hashAlgorithm: 'none', prehashed: true }))).toThrow(message);
    expect(() => checkSignatureOptions(options({ hashAlgorithm: 'none', signatureAlgorithm: 'pkcs1v15' }))).toThrow(message);
    expect(() => checkSignatureOptions(options({ hashAlgorithm: 'none', prehashed: true, signatureAlgorithm: 'pkcs1v15' }))).not.toThrow();
  });

  it('encodes asn1 as base64 and jws as base64url without padding, and decodes only those', () => {
    const bytes = Buffer.from([0xfb, 0xff, 0xfe, 0x01]);
    expect(encodeSignature(bytes, 'asn1')).toBe('+//+AQ==');
    expect(encodeSignature(bytes, 'jws')).toBe('-__-AQ');
    expect(decodeSignature('+//+AQ==', 'asn1').equals(bytes)).toBe(true);
    expect(decodeSignature('-__-AQ', 'jws').equals(bytes)).toBe(true);
    expect(decodeSignature('+//+\nAQ==', 'asn1').equals(bytes)).toBe(true);
    for (const [value, marshaling] of [
      ['-__-AQ', 'asn1'],
      ['+//+AQ', 'asn1'],
      ['+//+AQ==', 'jws'],
      ['-__-A', 'jws'],
      ['a b', 'asn1'],
    ] as const)
      expect(() => decodeSignature(value, marshaling)).toThrow('invalid base64 signature value');
  });
});

describe('HMAC', () => {
  it('uses hmacKey, or the key itself for the hmac type; a version without one is refused', () => {
    const aes = material('aes256-gcm96');
    expect(hmacKeyOf('aes256-gcm96', aes)).toBe(aes.hmacKey);
    const hmac = material('hmac');
    expect(hmacKeyOf('hmac', hmac)).toBe(hmac.key);
    expect(() => hmacKeyOf('aes256-gcm96', { key: aes.key })).toThrow('no HMAC key exists for that key version');
  });

  it('computes RFC 4231 test case 2 and compares in constant time', () => {
    const mac = computeHmac('sha256', Buffer.from('Jefe'), Buffer.from('what do ya want for nothing?'));
    expect(mac.toString('hex')).toBe('5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843');
    expect(computeHmac('sha3-256', Buffer.from('Jefe'), Buffer.from('what do ya want for nothing?')).length).toBe(32);
    expect(hmacMatches(mac, Buffer.from(mac))).toBe(true);
    expect(hmacMatches(mac, tampered(mac, 31))).toBe(false);
    expect(hmacMatches(mac, mac.subarray(0, 31))).toBe(false);
  });
});
