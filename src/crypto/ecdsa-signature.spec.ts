import { createPublicKey, generateKeyPairSync, sign, verify } from 'node:crypto';
import { ecdsaDerToRaw, ecdsaRawToDer } from './ecdsa-signature';
import { DerError } from './x509/der';

const CURVES: [string, string, number][] = [
  ['P-256', 'sha256', 32],
  ['P-384', 'sha384', 48],
  ['P-521', 'sha512', 66],
];

describe('ECDSA r‖s <-> DER ECDSA-Sig-Value', () => {
  it.each(CURVES)('node %s ieee-p1363 signatures, converted, verify as DER and equal the DER form', (namedCurve, hash, size) => {
    const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve });
    // Enough signatures that r or s with the top bit set, and shorter than the curve, both occur.
    let highBit = 0;
    for (let i = 0; i < 64; i++) {
      const data = Buffer.from(`message ${i}`);
      const raw = sign(hash, data, { key: privateKey, dsaEncoding: 'ieee-p1363' });
      expect(raw).toHaveLength(2 * size);
      const der = ecdsaRawToDer(raw);
      expect(verify(hash, data, publicKey, der)).toBe(true);
      expect(verify(hash, data, { key: publicKey, dsaEncoding: 'der' }, der)).toBe(true);
      expect(ecdsaDerToRaw(der, size).equals(raw)).toBe(true);
      if (raw[0] & 0x80 || raw[size] & 0x80) highBit++;
    }
    if (size !== 66) expect(highBit).toBeGreaterThan(0);
  });

  it('writes minimal INTEGERs: a 0x00 before a set top bit, leading zeros dropped', () => {
    const r = Buffer.alloc(32);
    r[0] = 0x80;
    r[31] = 1;
    const s = Buffer.alloc(32);
    s[30] = 0x01;
    s[31] = 0x02; // s = 0x0102: 30 leading zero octets
    const der = ecdsaRawToDer(Buffer.concat([r, s]));
    expect(der.toString('hex')).toBe(`3027022100${r.toString('hex')}02020102`);
    expect(ecdsaDerToRaw(der, 32).equals(Buffer.concat([r, s]))).toBe(true);
    // A value whose first non-zero octet has the top bit set after stripping zeros.
    const t = Buffer.alloc(32);
    t[5] = 0xff;
    expect(ecdsaRawToDer(Buffer.concat([t, s])).toString('hex')).toBe(`3022021c00${t.subarray(5).toString('hex')}02020102`);
  });

  it('agrees byte for byte with the DER node writes for the same signature', () => {
    const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const data = Buffer.from('same');
    const der = sign('sha256', data, privateKey);
    expect(ecdsaRawToDer(ecdsaDerToRaw(der, 32)).equals(der)).toBe(true);
    expect(createPublicKey(privateKey).asymmetricKeyType).toBe('ec');
  });

  it('refuses shapes that are not signatures', () => {
    expect(() => ecdsaRawToDer(Buffer.alloc(0))).toThrow(DerError);
    expect(() => ecdsaRawToDer(Buffer.alloc(63, 1))).toThrow(/even/);
    expect(() => ecdsaRawToDer(Buffer.concat([Buffer.alloc(32), Buffer.alloc(32, 1)]))).toThrow(/positive/);
    const good = ecdsaRawToDer(Buffer.alloc(64, 0x11));
    expect(() => ecdsaDerToRaw(good, 31)).toThrow(/wider/);
    expect(() => ecdsaDerToRaw(Buffer.concat([good, Buffer.from([0])]), 32)).toThrow(/trailing/);
    expect(() => ecdsaDerToRaw(Buffer.from('3003020101', 'hex'), 32)).toThrow(/2 INTEGERs/);
    expect(() => ecdsaDerToRaw(Buffer.from('30060201ff020101', 'hex'), 32)).toThrow(/negative/);
    expect(() => ecdsaDerToRaw(Buffer.from('3006020100020101', 'hex'), 32)).toThrow(/positive/);
  });
});
