/**
 * Client certificate path validation against a set of trust anchors (for TLS client certificate
 * login), composed from node:crypto's X509Certificate (issuer/subject linking and signature checks)
 * and certificateParts (extensions).
 *
 * Invariants, for a path leaf → intermediates (only those the client presented) → anchor:
 * - every certificate, the anchor included, is within its validity period at the given time;
 * - each link is checked by name (checkIssued) and by signature with the issuer's public key;
 * - every issuer is a CA (basicConstraints CA:TRUE), with keyCertSign when it carries key usage,
 *   and within its path length limit;
 * - the leaf names the wanted extended key usage explicitly (or anyExtendedKeyUsage); an issuer that
 *   restricts its EKUs must allow it too (stricter than Go, which treats a leaf without EKU as any);
 * - an anchor that is not a CA is a pinned leaf: it matches only a byte-identical certificate, never
 *   another certificate with the same key, subject or serial;
 * - a path holds no certificate twice and at most MAX_DEPTH issuers.
 */
import { X509Certificate } from 'node:crypto';
import { certificateParts, type CertificateParts } from './certificate';

/** anyExtendedKeyUsage (RFC 5280 4.2.1.12). */
const ANY_EKU = '2.5.29.37.0';
const MAX_DEPTH = 8;

export interface ParsedCertificate {
  der: Buffer;
  x509: X509Certificate;
  parts: CertificateParts;
}

/** Throws on anything that is not one DER certificate. */
export function parseCertificate(der: Buffer): ParsedCertificate {
  return { der, x509: new X509Certificate(der), parts: certificateParts(der) };
}

export type ChainResult = { ok: true; path: ParsedCertificate[]; anchor: ParsedCertificate } | { ok: false; reason: string };

function validAt(cert: ParsedCertificate, at: Date): boolean {
  return cert.parts.notBefore.getTime() <= at.getTime() && at.getTime() <= cert.parts.notAfter.getTime();
}

function allowsEku(cert: ParsedCertificate, eku: string, requireExplicit: boolean): boolean {
  const usages = cert.parts.extKeyUsage;
  if (usages.length === 0) return !requireExplicit;
  return usages.includes(eku) || usages.includes(ANY_EKU);
}

function selfIssued(cert: ParsedCertificate): boolean {
  return cert.parts.subjectNameDer.equals(cert.parts.issuerNameDer);
}

/** `issuer` may sign `subject` at `at`, `below` non-self-issued intermediates under it. */
function canIssue(issuer: ParsedCertificate, subject: ParsedCertificate, below: number, at: Date, eku: string): boolean {
  const p = issuer.parts;
  if (!p.isCa || !validAt(issuer, at)) return false;
  if (p.keyUsage.length > 0 && !p.keyUsage.includes('keyCertSign')) return false;
  if (p.maxPathLength !== undefined && below > p.maxPathLength) return false;
  if (!allowsEku(issuer, eku, false)) return false;
  if (!subject.x509.checkIssued(issuer.x509)) return false;
  try {
    return subject.x509.verify(issuer.x509.publicKey);
  } catch {
    return false;
  }
}

/**
 * Finds a path from `leaf` to one of `anchors` through `presented` intermediates, for certificates
 * used with extended key usage `eku` (EKU.clientAuth for logins).
 */
export function verifyPath(
  leaf: ParsedCertificate,
  presented: readonly ParsedCertificate[],
  anchors: readonly ParsedCertificate[],
  at: Date,
  eku: string,
): ChainResult {
  if (!validAt(leaf, at)) return { ok: false, reason: 'certificate is expired or not yet valid' };
  if (!allowsEku(leaf, eku, true)) return { ok: false, reason: 'certificate lacks the required extended key usage' };
  const pinned = anchors.find((a) => !a.parts.isCa && a.der.equals(leaf.der));
  if (pinned) return { ok: true, path: [leaf], anchor: pinned };
  const caAnchors = anchors.filter((a) => a.parts.isCa);

  const search = (path: ParsedCertificate[], intermediates: number): ChainResult | undefined => {
    const current = path[path.length - 1];
    const anchor = caAnchors.find((a) => canIssue(a, current, intermediates, at, eku));
    if (anchor) return { ok: true, path, anchor };
    if (path.length > MAX_DEPTH) return undefined;
    for (const next of presented) {
      if (path.some((c) => c.der.equals(next.der)) || !canIssue(next, current, intermediates, at, eku)) continue;
      const found = search([...path, next], intermediates + (selfIssued(next) ? 0 : 1));
      if (found) return found;
    }
    return undefined;
  };
  return search([leaf], 0) ?? { ok: false, reason: 'no chain to a trusted certificate' };
}
