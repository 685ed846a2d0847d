/**
 * What a leaf certificate issued or signed under a role will say (pure): subject, SANs, validity
 * and usages, from the request, the CSR (sign), the role and the issuer's own validity.
 *
 * Invariants: every name that ends up in the certificate — the common name, request SANs and CSR
 * SANs alike — passed the role's name policy; a CSR asking for CA:true is refused on leaf paths;
 * the certificate never outlives its issuer (an error: the issuers' leaf_not_after_behavior is err).
 */
import { badRequest } from '../../kernel/errors';
import { checkIpSan, checkName, checkUriSan } from './name-policy';
import type { PkiRole } from './pki-role';
import { ISSUER_LEAF_NOT_AFTER_BEHAVIOR, notAfterWithin, resolveTtl, type LeafNotAfterBehavior, type TtlLimits } from './validity';

export interface LeafRequest {
  commonName?: string;
  altNames: string[];
  ipSans: string[];
  uriSans: string[];
  /** Seconds; 0: the role's or the mount's default. */
  ttl: number;
  excludeCnFromSans: boolean;
}

export interface CsrNames {
  commonName?: string;
  dnsNames: string[];
  emails: string[];
  ipAddresses: string[];
  uris: string[];
  requestsCa: boolean;
}

export interface LeafPlan {
  commonName?: string;
  dnsNames: string[];
  emails: string[];
  ipAddresses: string[];
  uris: string[];
  notBefore: Date;
  notAfter: Date;
  keyUsage: string[];
  extKeyUsage: string[];
  warnings: string[];
}

const unique = (xs: string[]) => [...new Set(xs)];
const looksLikeEmail = (s: string) => s.includes('@');

export function planLeaf(
  role: PkiRole,
  req: LeafRequest,
  csr: CsrNames | undefined,
  issuer: Date | { notAfter: Date; behavior: LeafNotAfterBehavior },
  limits: TtlLimits,
  now = new Date(),
): LeafPlan {
  const { notAfter: issuerNotAfter, behavior } = issuer instanceof Date ? { notAfter: issuer, behavior: ISSUER_LEAF_NOT_AFTER_BEHAVIOR } : issuer;
  if (csr?.requestsCa) throw badRequest('the CSR asks for a CA certificate (basic constraints CA:TRUE); use root/sign-intermediate for CAs');
  const commonName = req.commonName || (csr && role.useCsrCommonName ? csr.commonName : undefined) || undefined;
  if (!commonName && role.requireCn)
    throw badRequest(
      'the common_name field is required, or must be provided in a CSR with "use_csr_common_name" set to true, unless "require_cn" is set to false',
    );

  const requested = req.altNames.map((n) => n.trim()).filter((n) => n !== '');
  let dnsNames = requested.filter((n) => !looksLikeEmail(n));
  let emails = requested.filter(looksLikeEmail);
  let ipAddresses = req.ipSans.map((n) => n.trim()).filter((n) => n !== '');
  let uris = req.uriSans.map((n) => n.trim()).filter((n) => n !== '');
  if (csr && role.useCsrSans) {
    dnsNames = [...dnsNames, ...csr.dnsNames];
    emails = [...emails, ...csr.emails];
    ipAddresses = [...ipAddresses, ...csr.ipAddresses];
    uris = [...uris, ...csr.uris];
  }
  if (commonName && !req.excludeCnFromSans) {
    if (looksLikeEmail(commonName)) emails = [commonName, ...emails];
    else dnsNames = [commonName, ...dnsNames];
  }
  for (const name of unique([...(commonName ? [commonName] : []), ...dnsNames, ...emails])) {
    const refusal = checkName(role, name);
    if (refusal) throw badRequest(refusal);
  }
  for (const ip of unique(ipAddresses)) {
    const refusal = checkIpSan(role, ip);
    if (refusal) throw badRequest(refusal);
  }
  for (const uri of unique(uris)) {
    const refusal = checkUriSan(role, uri);
    if (refusal) throw badRequest(refusal);
  }

  const { ttl, warnings } = resolveTtl(req.ttl, limits, role);
  const notAfter = notAfterWithin(ttl, now, issuerNotAfter, behavior);
  const extKeyUsage = unique([
    ...(role.serverFlag ? ['ServerAuth'] : []),
    ...(role.clientFlag ? ['ClientAuth'] : []),
    ...(role.codeSigningFlag ? ['CodeSigning'] : []),
    ...(role.emailProtectionFlag ? ['EmailProtection'] : []),
    ...role.extKeyUsage,
  ]);
  return {
    commonName,
    dnsNames: unique(dnsNames.map((n) => n.toLowerCase())),
    emails: unique(emails),
    ipAddresses: unique(ipAddresses),
    uris: unique(uris),
    notBefore: new Date(now.getTime() - role.notBeforeDuration * 1000),
    notAfter,
    keyUsage: role.keyUsage,
    extKeyUsage,
    warnings,
  };
}
