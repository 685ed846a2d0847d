import { buildCertificate, EKU, encodeName, randomSerial, type CertificateSpec } from './certificate';
import { parseCertificate, verifyPath, type ParsedCertificate } from './chain';
import { generateKeyPair, type KeyPair } from './keys';
import { softwareSigner } from '../signer';

const HOUR = 3600 * 1000;
const now = new Date();

interface Issued {
  cert: ParsedCertificate;
  key: KeyPair;
}

async function ca(name: string, issuer?: Issued, extra: Partial<CertificateSpec> = {}): Promise<Issued> {
  const key = await generateKeyPair('ec', 256);
  return { key, cert: await sign(issuer, key, { subject: { commonName: name }, isCa: true, keyUsage: ['keyCertSign', 'cRLSign'], ...extra }) };
}

async function sign(
  issuer: Issued | undefined,
  key: KeyPair,
  spec: Partial<CertificateSpec> & Pick<CertificateSpec, 'subject' | 'isCa'>,
): Promise<ParsedCertificate> {
  const issuerParts = issuer?.cert.parts;
  return parseCertificate(
    await buildCertificate({
      serial: randomSerial(),
      issuer: issuer
        ? { nameDer: issuerParts!.subjectNameDer, signer: softwareSigner(issuer.key.privateKey), subjectKeyId: issuerParts!.subjectKeyId }
        : { nameDer: encodeName(spec.subject), signer: softwareSigner(key.privateKey) },
      publicKey: key.publicKey,
      notBefore: new Date(now.getTime() - HOUR),
      notAfter: new Date(now.getTime() + 12 * HOUR),
      keyUsage: [],
      extKeyUsage: [],
      ...spec,
    }),
  );
}

async function client(issuer: Issued, extra: Partial<CertificateSpec> = {}, key?: KeyPair): Promise<Issued> {
  const k = key ?? (await generateKeyPair('ec', 256));
  return {
    key: k,
    cert: await sign(issuer, k, { subject: { commonName: 'app' }, isCa: false, keyUsage: ['digitalSignature'], extKeyUsage: [EKU.clientAuth], ...extra }),
  };
}

describe('verifyPath', () => {
  let root: Issued;
  let intermediate: Issued;
  beforeAll(async () => {
    root = await ca('Root');
    intermediate = await ca('Intermediate', root);
  });

  it('accepts a leaf issued by an anchor, and one through a presented intermediate', async () => {
    const direct = await client(root);
    expect(verifyPath(direct.cert, [], [root.cert], now, EKU.clientAuth)).toMatchObject({ ok: true });
    const leaf = await client(intermediate);
    const result = verifyPath(leaf.cert, [intermediate.cert], [root.cert], now, EKU.clientAuth);
    expect(result.ok && result.path.map((c) => c.parts.commonName)).toEqual(['app', 'Intermediate']);
    // The intermediate itself may be the anchor.
    expect(verifyPath(leaf.cert, [], [intermediate.cert], now, EKU.clientAuth).ok).toBe(true);
  });

  it('refuses a leaf without its intermediate, or under an untrusted root', async () => {
    const leaf = await client(intermediate);
    expect(verifyPath(leaf.cert, [], [root.cert], now, EKU.clientAuth)).toEqual({ ok: false, reason: 'no chain to a trusted certificate' });
    const other = await ca('Other');
    expect(verifyPath((await client(other)).cert, [other.cert], [root.cert], now, EKU.clientAuth).ok).toBe(false);
  });

  it('refuses a forged issuer: same name as the anchor, another key', async () => {
    const forgedRoot = await ca('Root');
    const leaf = await client(forgedRoot);
    expect(verifyPath(leaf.cert, [forgedRoot.cert], [root.cert], now, EKU.clientAuth).ok).toBe(false);
    // Even naming the real root's key id: only the signature check stands between it and a login.
    const forgedWithRootKeyId = await client({
      key: forgedRoot.key,
      cert: { ...forgedRoot.cert, parts: { ...forgedRoot.cert.parts, subjectKeyId: root.cert.parts.subjectKeyId } },
    });
    expect(forgedWithRootKeyId.cert.parts.authorityKeyId).toEqual(root.cert.parts.subjectKeyId);
    expect(forgedWithRootKeyId.cert.x509.checkIssued(root.cert.x509)).toBe(true);
    expect(verifyPath(forgedWithRootKeyId.cert, [], [root.cert], now, EKU.clientAuth).ok).toBe(false);
  });

  it('refuses expired and not-yet-valid leaves, and an expired anchor', async () => {
    const expired = await client(root, { notBefore: new Date(now.getTime() - 3 * HOUR), notAfter: new Date(now.getTime() - HOUR) });
    expect(verifyPath(expired.cert, [], [root.cert], now, EKU.clientAuth)).toEqual({ ok: false, reason: 'certificate is expired or not yet valid' });
    const future = await client(root, { notBefore: new Date(now.getTime() + HOUR) });
    expect(verifyPath(future.cert, [], [root.cert], now, EKU.clientAuth).ok).toBe(false);
    const oldRoot = await ca('Old', undefined, { notBefore: new Date(now.getTime() - 3 * HOUR), notAfter: new Date(now.getTime() - HOUR) });
    const leaf = await client(oldRoot, { notBefore: new Date(now.getTime() - 2 * HOUR) });
    expect(verifyPath(leaf.cert, [], [oldRoot.cert], new Date(now.getTime() - 90 * 60 * 1000), EKU.clientAuth).ok).toBe(true);
    expect(verifyPath(leaf.cert, [], [oldRoot.cert], now, EKU.clientAuth).ok).toBe(false);
  });

  it('needs clientAuth (or any) explicitly in the leaf, and allowed by a restricting issuer', async () => {
    const serverOnly = await client(root, { extKeyUsage: [EKU.serverAuth] });
    expect(verifyPath(serverOnly.cert, [], [root.cert], now, EKU.clientAuth)).toEqual({
      ok: false,
      reason: 'certificate lacks the required extended key usage',
    });
    expect(verifyPath((await client(root, { extKeyUsage: [] })).cert, [], [root.cert], now, EKU.clientAuth).ok).toBe(false);
    expect(verifyPath((await client(root, { extKeyUsage: ['2.5.29.37.0'] })).cert, [], [root.cert], now, EKU.clientAuth).ok).toBe(true);
    const serverCa = await ca('Server CA', root, { extKeyUsage: [EKU.serverAuth] });
    expect(verifyPath((await client(serverCa)).cert, [serverCa.cert], [root.cert], now, EKU.clientAuth).ok).toBe(false);
  });

  it('refuses a non-CA issuer, an issuer without keyCertSign, and a path longer than pathLen allows', async () => {
    const notCa = await client(root);
    const under = await client({ cert: notCa.cert, key: notCa.key });
    expect(verifyPath(under.cert, [notCa.cert], [root.cert], now, EKU.clientAuth).ok).toBe(false);
    const noCertSign = await ca('No certSign', root, { keyUsage: ['cRLSign'] });
    expect(verifyPath((await client(noCertSign)).cert, [noCertSign.cert], [root.cert], now, EKU.clientAuth).ok).toBe(false);
    const limited = await ca('Limited', undefined, { maxPathLength: 0 });
    const middle = await ca('Middle', limited);
    expect(verifyPath((await client(limited)).cert, [], [limited.cert], now, EKU.clientAuth).ok).toBe(true);
    expect(verifyPath((await client(middle)).cert, [middle.cert], [limited.cert], now, EKU.clientAuth).ok).toBe(false);
  });

  it('a pinned (non-CA) anchor matches only the identical certificate, not one with the same key', async () => {
    const pinned = await client(root);
    const pinnedResult = verifyPath(pinned.cert, [], [pinned.cert], now, EKU.clientAuth);
    expect(pinnedResult.ok && pinnedResult.path.length).toBe(1);
    const sameKey = await client(root, {}, pinned.key);
    expect(sameKey.cert.parts.publicKeyDer.equals(pinned.cert.parts.publicKeyDer)).toBe(true);
    expect(verifyPath(sameKey.cert, [], [pinned.cert], now, EKU.clientAuth).ok).toBe(false);
    const selfSignedSameKey = await sign(undefined, pinned.key, { subject: { commonName: 'app' }, isCa: false, extKeyUsage: [EKU.clientAuth] });
    expect(verifyPath(selfSignedSameKey, [], [pinned.cert], now, EKU.clientAuth).ok).toBe(false);
  });
});
