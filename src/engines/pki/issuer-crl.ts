/**
 * An issuer's CRL (IssuerStore.crl): rebuilt with the next CRL number whenever a revocation or
 * `crl/rotate` asks or it nears its nextUpdate, under the row lock of its state, so numbers only grow.
 *
 * Invariants: a CRL whose signature failed (an HSM away) is never stored and its number is not
 * advanced; a rebuild asked for and failed marks the stored CRL stale, so the next read rebuilds it
 * (a revocation stored meanwhile is not left out of the CRL for half its life), serving the stored
 * one while it is still valid and cannot be rebuilt.
 */
import { buildCrl } from '../../crypto/x509/crl';
import type { Signer } from '../../crypto/signer';
import type { EngineObjectRepository } from '../../shared/engine-objects.repository';
import type { CertificateRepository } from './certificate.repository';

export interface CrlConfig {
  expirySeconds: number;
  disable: boolean;
}

interface CrlState {
  number: string;
  der: string;
  nextUpdate: number;
  /** A rebuild was asked for and failed: rebuild at the next read. */
  stale?: boolean;
}

/** The CRL of `issuer` (DER), covering the revocations of the issuers `sameCa` gives. */
export async function issuerCrl(
  deps: { objects: EngineObjectRepository; certificates: CertificateRepository },
  mountUuid: string,
  issuer: { id: string; certDer: Buffer; signer: Signer },
  sameCa: () => Promise<string[]>,
  config: CrlConfig,
  rebuild: boolean,
  now: Date,
): Promise<Buffer> {
  const { objects, certificates } = deps;
  const stateName = `crl-${issuer.id}`;
  const current = await objects.get<CrlState>(mountUuid, 'pki-config', stateName);
  const fresh = current && !rebuild && !current.stale && current.nextUpdate - now.getTime() > (config.expirySeconds * 1000) / 2;
  if (fresh) return Buffer.from(current.der, 'base64');
  const build = async (previous: CrlState | undefined): Promise<CrlState> => {
    const revoked = await certificates.revokedBy(mountUuid, await sameCa(), now);
    const number = BigInt(previous?.number ?? '0') + 1n;
    const nextUpdate = new Date(now.getTime() + config.expirySeconds * 1000);
    const der = await buildCrl({
      issuerCertDer: issuer.certDer,
      issuerSigner: issuer.signer,
      thisUpdate: now,
      nextUpdate,
      crlNumber: number,
      revoked: revoked.map((r) => ({ serial: Buffer.from(r.serialNumber.replace(/:/g, ''), 'hex'), revokedAt: r.revokedAt })),
    });
    return { number: number.toString(), der: der.toString('base64'), nextUpdate: nextUpdate.getTime() };
  };
  if (!current) {
    const first = await build(undefined);
    await objects.put(mountUuid, 'pki-config', stateName, first);
    return Buffer.from(first.der, 'base64');
  }
  // Built outside the row lock (signing can be slow); kept only if nobody rebuilt meanwhile, else theirs is served.
  let next: CrlState;
  try {
    next = await build(current);
  } catch (err) {
    // A read of a stale CRL still gets the stored one while it cannot be rebuilt (it is valid until its nextUpdate).
    if (!rebuild && current.stale && current.nextUpdate > now.getTime()) return Buffer.from(current.der, 'base64');
    if (rebuild && !current.stale)
      await objects.modify<CrlState>(mountUuid, 'pki-config', stateName, (cur) => (cur.number === current.number ? { ...cur, stale: true } : undefined));
    throw err;
  }
  const stored = await objects.modify<CrlState>(mountUuid, 'pki-config', stateName, (cur) => (cur.number === current.number ? next : undefined));
  return Buffer.from((stored ?? next).der, 'base64');
}
