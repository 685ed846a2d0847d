/**
 * A PKI role (Vault's `roles/:name`): which names certificates may carry, for how long, with which
 * key and usages. Stored whole in `engine_objects` (kind `pki-role`); unset fields take Vault's
 * defaults when the role is written, so a stored role never changes meaning when defaults do.
 */
import type { FieldData, Fields } from '../../framework/fields';
import { badRequest } from '../../kernel/errors';
import type { NamePolicy } from './name-policy';

export interface PkiRole extends NamePolicy {
  ttl: number;
  maxTtl: number;
  serverFlag: boolean;
  clientFlag: boolean;
  codeSigningFlag: boolean;
  emailProtectionFlag: boolean;
  keyType: 'rsa' | 'ec' | 'ed25519' | 'any';
  keyBits: number;
  keyUsage: string[];
  extKeyUsage: string[];
  useCsrCommonName: boolean;
  useCsrSans: boolean;
  requireCn: boolean;
  noStore: boolean;
  /** Issued and signed certificates come under a lease whose revocation revokes them. */
  generateLease: boolean;
  notBeforeDuration: number;
  organization: string[];
  ou: string[];
  country: string[];
  locality: string[];
  province: string[];
  streetAddress: string[];
  postalCode: string[];
  /** The issuer issue and sign use (an id, a name or `default`); absent in roles of the first increment: `default`. */
  issuerRef?: string;
}

/** The subject attributes besides the common name (roles and CA generation alike). */
export const SUBJECT_NAME_FIELDS = {
  organization: { type: 'string-list', description: 'Subject O.' },
  ou: { type: 'string-list', description: 'Subject OU.' },
  country: { type: 'string-list', description: 'Subject C.' },
  locality: { type: 'string-list', description: 'Subject L.' },
  province: { type: 'string-list', description: 'Subject ST.' },
  street_address: { type: 'string-list', description: 'Subject street.' },
  postal_code: { type: 'string-list', description: 'Subject postal code.' },
} as const satisfies Fields;

export const ROLE_FIELDS = {
  ttl: { type: 'duration', description: "Default certificate lifetime (0: the mount's default)." },
  max_ttl: { type: 'duration', description: "Longest certificate lifetime (0: the mount's maximum)." },
  allow_localhost: { type: 'bool', description: 'localhost and localdomain (default true).' },
  allowed_domains: { type: 'string-list', description: 'Domains names may belong to (see the allow_* flags).' },
  allow_bare_domains: { type: 'bool', description: 'The allowed domains themselves.' },
  allow_subdomains: { type: 'bool', description: 'Subdomains of the allowed domains, and wildcards of them.' },
  allow_glob_domains: { type: 'bool', description: 'Allowed domains containing * are globs.' },
  allow_wildcard_certificates: { type: 'bool', description: 'Wildcard names *.<domain> (default true; still needs a domain rule).' },
  allow_any_name: { type: 'bool', description: 'Any name (hostnames still enforced unless enforce_hostnames=false).' },
  enforce_hostnames: { type: 'bool', description: 'Names must be valid hostnames (default true).' },
  allow_ip_sans: { type: 'bool', description: 'IP SANs (default true).' },
  allowed_uri_sans: { type: 'string-list', description: 'Globs URI SANs must match.' },
  server_flag: { type: 'bool', description: 'serverAuth extended key usage (default true).' },
  client_flag: { type: 'bool', description: 'clientAuth extended key usage (default true).' },
  code_signing_flag: { type: 'bool', description: 'codeSigning extended key usage.' },
  email_protection_flag: { type: 'bool', description: 'emailProtection extended key usage.' },
  key_type: { type: 'string', allowed: ['rsa', 'ec', 'ed25519', 'any'], description: 'rsa (default), ec, ed25519, or any (sign only).' },
  key_bits: { type: 'int', description: 'RSA 2048/3072/4096, EC 224/256/384/521 (0: 2048 or 256).' },
  key_usage: { type: 'string-list', description: 'Key usages (default DigitalSignature, KeyAgreement, KeyEncipherment).' },
  ext_key_usage: {
    type: 'string-list',
    description: 'More extended key usages by name (ServerAuth, ClientAuth, CodeSigning, EmailProtection, TimeStamping, OCSPSigning).',
  },
  use_csr_common_name: { type: 'bool', description: "sign: the CSR's common name when the request gives none (default true)." },
  use_csr_sans: { type: 'bool', description: "sign: the CSR's SANs (default true)." },
  require_cn: { type: 'bool', description: 'A common name is required (default true).' },
  no_store: { type: 'bool', description: 'Do not keep issued certificates (they cannot be listed or revoked by serial).' },
  generate_lease: {
    type: 'bool',
    description: "Issue and sign under a lease (TTL: the certificate's lifetime, not renewable) whose revocation revokes the certificate.",
  },
  not_before_duration: { type: 'duration', description: 'Backdating of NotBefore (default 30s).' },
  issuer_ref: { type: 'string', description: 'The issuer to sign with: an id, a name or `default` (the default).' },
  ...SUBJECT_NAME_FIELDS,
} as const satisfies Fields;

const KEY_USAGES = [
  'DigitalSignature',
  'ContentCommitment',
  'KeyEncipherment',
  'DataEncipherment',
  'KeyAgreement',
  'CertSign',
  'CRLSign',
  'EncipherOnly',
  'DecipherOnly',
];
export const EXT_KEY_USAGES = ['ServerAuth', 'ClientAuth', 'CodeSigning', 'EmailProtection', 'TimeStamping', 'OCSPSigning'];

const DEFAULT_KEY_BITS = { rsa: 2048, ec: 256, ed25519: 0, any: 0 } as const;
const VALID_KEY_BITS = { rsa: [2048, 3072, 4096], ec: [224, 256, 384, 521], ed25519: [0], any: [0] } as const;

/** The role a write produces: the request's fields over the previous role, then Vault's defaults. */
export function roleFrom(d: FieldData<typeof ROLE_FIELDS, false>, previous?: PkiRole): PkiRole {
  const pick = <K extends keyof typeof d>(field: K, fallback: NonNullable<(typeof d)[K]>): NonNullable<(typeof d)[K]> => d[field] ?? fallback;
  const keyType = pick('key_type', previous?.keyType ?? 'rsa');
  const keyBits = pick('key_bits', previous && previous.keyType === keyType ? previous.keyBits : 0) || DEFAULT_KEY_BITS[keyType];
  const role: PkiRole = {
    ttl: pick('ttl', previous?.ttl ?? 0),
    maxTtl: pick('max_ttl', previous?.maxTtl ?? 0),
    allowLocalhost: pick('allow_localhost', previous?.allowLocalhost ?? true),
    allowedDomains: pick('allowed_domains', previous?.allowedDomains ?? []),
    allowBareDomains: pick('allow_bare_domains', previous?.allowBareDomains ?? false),
    allowSubdomains: pick('allow_subdomains', previous?.allowSubdomains ?? false),
    allowGlobDomains: pick('allow_glob_domains', previous?.allowGlobDomains ?? false),
    allowWildcardCertificates: pick('allow_wildcard_certificates', previous?.allowWildcardCertificates ?? true),
    allowAnyName: pick('allow_any_name', previous?.allowAnyName ?? false),
    enforceHostnames: pick('enforce_hostnames', previous?.enforceHostnames ?? true),
    allowIpSans: pick('allow_ip_sans', previous?.allowIpSans ?? true),
    allowedUriSans: pick('allowed_uri_sans', previous?.allowedUriSans ?? []),
    serverFlag: pick('server_flag', previous?.serverFlag ?? true),
    clientFlag: pick('client_flag', previous?.clientFlag ?? true),
    codeSigningFlag: pick('code_signing_flag', previous?.codeSigningFlag ?? false),
    emailProtectionFlag: pick('email_protection_flag', previous?.emailProtectionFlag ?? false),
    keyType,
    keyBits,
    keyUsage: pick('key_usage', previous?.keyUsage ?? ['DigitalSignature', 'KeyAgreement', 'KeyEncipherment']),
    extKeyUsage: pick('ext_key_usage', previous?.extKeyUsage ?? []),
    useCsrCommonName: pick('use_csr_common_name', previous?.useCsrCommonName ?? true),
    useCsrSans: pick('use_csr_sans', previous?.useCsrSans ?? true),
    requireCn: pick('require_cn', previous?.requireCn ?? true),
    noStore: pick('no_store', previous?.noStore ?? false),
    generateLease: pick('generate_lease', previous?.generateLease ?? false),
    notBeforeDuration: pick('not_before_duration', previous?.notBeforeDuration ?? 30),
    organization: pick('organization', previous?.organization ?? []),
    ou: pick('ou', previous?.ou ?? []),
    country: pick('country', previous?.country ?? []),
    locality: pick('locality', previous?.locality ?? []),
    province: pick('province', previous?.province ?? []),
    streetAddress: pick('street_address', previous?.streetAddress ?? []),
    postalCode: pick('postal_code', previous?.postalCode ?? []),
    issuerRef: pick('issuer_ref', previous?.issuerRef ?? 'default').trim() || 'default',
  };
  if (!(VALID_KEY_BITS[keyType] as readonly number[]).includes(role.keyBits))
    throw badRequest(`invalid key_bits for key_type ${keyType}: use one of ${VALID_KEY_BITS[keyType].join(', ')}`);
  if (role.maxTtl && role.ttl > role.maxTtl) throw badRequest('ttl cannot be larger than max_ttl');
  if (role.noStore && role.generateLease) throw badRequest('no_store and generate_lease cannot both be true: revoking the lease needs the stored certificate');
  role.keyUsage = role.keyUsage.map((u) => canonical(u, KEY_USAGES, 'key_usage'));
  role.extKeyUsage = role.extKeyUsage.map((u) => canonical(u, EXT_KEY_USAGES, 'ext_key_usage'));
  return role;
}

/** Vault accepts usages in any case (`digitalsignature`); they are stored in Vault's spelling. */
function canonical(value: string, known: string[], field: string): string {
  const found = known.find((k) => k.toLowerCase() === value.trim().toLowerCase());
  if (!found) throw badRequest(`invalid ${field} "${value}": use ${known.join(', ')}`);
  return found;
}

/** The role as Vault reads it back. */
export function roleData(r: PkiRole): Record<string, unknown> {
  return {
    ttl: r.ttl,
    max_ttl: r.maxTtl,
    allow_localhost: r.allowLocalhost,
    allowed_domains: r.allowedDomains,
    allow_bare_domains: r.allowBareDomains,
    allow_subdomains: r.allowSubdomains,
    allow_glob_domains: r.allowGlobDomains,
    allow_wildcard_certificates: r.allowWildcardCertificates,
    allow_any_name: r.allowAnyName,
    enforce_hostnames: r.enforceHostnames,
    allow_ip_sans: r.allowIpSans,
    allowed_uri_sans: r.allowedUriSans,
    server_flag: r.serverFlag,
    client_flag: r.clientFlag,
    code_signing_flag: r.codeSigningFlag,
    email_protection_flag: r.emailProtectionFlag,
    key_type: r.keyType,
    key_bits: r.keyBits,
    key_usage: r.keyUsage,
    ext_key_usage: r.extKeyUsage,
    use_csr_common_name: r.useCsrCommonName,
    use_csr_sans: r.useCsrSans,
    require_cn: r.requireCn,
    no_store: r.noStore,
    not_before_duration: r.notBeforeDuration,
    organization: r.organization,
    ou: r.ou,
    country: r.country,
    locality: r.locality,
    province: r.province,
    street_address: r.streetAddress,
    postal_code: r.postalCode,
    generate_lease: r.generateLease,
    issuer_ref: r.issuerRef ?? 'default',
  };
}
