/**
 * A trusted certificate entry of the `cert` auth method (Vault's `certs/:name`): the CA or pinned
 * leaf certificates a login may chain to, the constraints its certificate must meet, and the token
 * parameters of the login. Stored whole in `engine_objects` (kind `cert-role`).
 *
 * Invariants: `certificatePem` holds at least one parseable certificate; every required extension
 * is `<oid>:<glob>` or `hex:<oid>:<glob>`; a constraint list that is empty allows anything.
 */
import type { FieldData, Fields } from '../../framework/fields';
import { badRequest } from '../../kernel/errors';
import { fromPem } from '../../crypto/x509/pem';
import { parseCertificate, type ParsedCertificate } from '../../crypto/x509/chain';
import { applyTokenParams, defaultTokenParams, TOKEN_PARAM_FIELDS, tokenParamsOutput, type TokenParams } from '../../shared/token/token-params';

export interface CertRole {
  name: string;
  certificatePem: string;
  displayName: string;
  allowedNames: string[];
  allowedCommonNames: string[];
  allowedDnsSans: string[];
  allowedEmailSans: string[];
  allowedUriSans: string[];
  allowedOrganizationalUnits: string[];
  requiredExtensions: string[];
  tokenParams: TokenParams;
}

export const CERT_ROLE_FIELDS = {
  certificate: { type: 'string', description: 'PEM: the CA certificate(s) a login must chain to, or a pinned client certificate.' },
  display_name: { type: 'string', description: 'Display name of the tokens issued (default: the entry name).' },
  allowed_names: { type: 'string-list', description: 'Deprecated: globs any of which the common name or a SAN must match.' },
  allowed_common_names: { type: 'string-list', description: 'Globs the common name must match one of.' },
  allowed_dns_sans: { type: 'string-list', description: 'Globs a DNS SAN must match one of.' },
  allowed_email_sans: { type: 'string-list', description: 'Globs an email SAN must match one of.' },
  allowed_uri_sans: { type: 'string-list', description: 'Globs a URI SAN must match one of.' },
  allowed_organizational_units: { type: 'string-list', description: 'Globs an OU must match one of.' },
  required_extensions: { type: 'string-list', description: '`<oid>:<glob>` or `hex:<oid>:<glob>` extensions the certificate must carry.' },
  ocsp_enabled: { type: 'bool', description: "Not supported: write the issuer's CRL to crls/:name instead." },
  ...TOKEN_PARAM_FIELDS,
} as const satisfies Fields;

const OID = /^[0-2](\.(0|[1-9][0-9]*))+$/;

function validRequiredExtension(spec: string): boolean {
  const parts = spec.split(':');
  if (parts[0] === 'hex') return parts.length >= 3 && OID.test(parts[1]);
  return parts.length >= 2 && OID.test(parts[0]);
}

/** The certificates of a PEM bundle; throws a 400 when there are none or one does not parse. */
export function trustedCertificates(pem: string): ParsedCertificate[] {
  let ders: Buffer[];
  try {
    ders = fromPem(pem, 'CERTIFICATE');
  } catch {
    ders = [];
  }
  if (ders.length === 0) throw badRequest('failed to parse certificate: no PEM CERTIFICATE block');
  return ders.map((der) => {
    try {
      return parseCertificate(der);
    } catch {
      throw badRequest('failed to parse certificate');
    }
  });
}

/** A role written with the fields present in `d` over `existing` (or the defaults); throws a 400 on bad values. */
export function applyCertRole(name: string, existing: CertRole | undefined, d: FieldData<typeof CERT_ROLE_FIELDS, false>): CertRole {
  const certificatePem = d.certificate ?? existing?.certificatePem;
  if (!certificatePem) throw badRequest('missing certificate');
  trustedCertificates(certificatePem);
  if (d.ocsp_enabled === true) throw badRequest("ocsp_enabled is not supported: write the issuer's CRL to crls/:name instead");
  const list = (given: string[] | undefined, current: string[] | undefined) => (given ?? current ?? []).filter((v) => v !== '');
  const role: CertRole = {
    name,
    certificatePem,
    displayName: d.display_name ?? existing?.displayName ?? name,
    allowedNames: list(d.allowed_names, existing?.allowedNames),
    allowedCommonNames: list(d.allowed_common_names, existing?.allowedCommonNames),
    allowedDnsSans: list(d.allowed_dns_sans, existing?.allowedDnsSans),
    allowedEmailSans: list(d.allowed_email_sans, existing?.allowedEmailSans),
    allowedUriSans: list(d.allowed_uri_sans, existing?.allowedUriSans),
    allowedOrganizationalUnits: list(d.allowed_organizational_units, existing?.allowedOrganizationalUnits),
    requiredExtensions: list(d.required_extensions, existing?.requiredExtensions),
    tokenParams: applyTokenParams(existing?.tokenParams ?? defaultTokenParams(), d),
  };
  const bad = role.requiredExtensions.find((e) => !validRequiredExtension(e));
  if (bad !== undefined) throw badRequest(`invalid required_extensions entry "${bad}": want <oid>:<glob> or hex:<oid>:<glob>`);
  return role;
}

/** Vault's read shape of certs/:name. */
export function certRoleOutput(role: CertRole): Record<string, unknown> {
  return {
    certificate: role.certificatePem,
    display_name: role.displayName,
    allowed_names: role.allowedNames,
    allowed_common_names: role.allowedCommonNames,
    allowed_dns_sans: role.allowedDnsSans,
    allowed_email_sans: role.allowedEmailSans,
    allowed_uri_sans: role.allowedUriSans,
    allowed_organizational_units: role.allowedOrganizationalUnits,
    required_extensions: role.requiredExtensions,
    allowed_metadata_extensions: [],
    ocsp_enabled: false,
    ocsp_ca_certificates: '',
    ocsp_servers_override: [],
    ocsp_fail_open: false,
    ocsp_query_all_servers: false,
    ...tokenParamsOutput(role.tokenParams),
  };
}
