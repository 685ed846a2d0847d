/**
 * Whether a verified client certificate meets a cert role's constraints (Vault's
 * matchesConstraints): each non-empty constraint list must have a glob (`*` = any run of characters,
 * case-sensitive, as Vault's) matching the certificate; required extensions must all be present
 * with matching values.
 */
import type { CertificateParts } from '../../crypto/x509/certificate';
import { derStringValue } from '../../crypto/x509/der';
import { globMatch } from '../../shared/token/token-role';
import type { CertRole } from './cert-role';

function anyMatch(globs: readonly string[], values: readonly string[]): boolean {
  return globs.length === 0 || globs.some((g) => values.some((v) => globMatch(g, v)));
}

/** `<oid>:<glob>` against the extension value read as an ASN.1 string ("" when it is none); `hex:<oid>:<glob>` against its lower-case hex. */
function hasExtension(parts: CertificateParts, required: string): boolean {
  const fields = required.split(':');
  const hex = fields[0] === 'hex';
  const oid = hex ? fields[1] : fields[0];
  const glob = fields.slice(hex ? 2 : 1).join(':');
  const ext = parts.rawExtensions.find((e) => e.oid === oid);
  if (!ext) return false;
  return hex ? globMatch(glob.toLowerCase(), ext.value.toString('hex')) : globMatch(glob, derStringValue(ext.value) ?? '');
}

export function matchesConstraints(parts: CertificateParts, role: CertRole): boolean {
  const commonName = parts.commonName ?? '';
  return (
    anyMatch(role.allowedNames, [commonName, ...parts.dnsNames, ...parts.emails]) &&
    anyMatch(role.allowedCommonNames, [commonName]) &&
    anyMatch(role.allowedDnsSans, parts.dnsNames) &&
    anyMatch(role.allowedEmailSans, parts.emails) &&
    anyMatch(role.allowedUriSans, parts.uris) &&
    anyMatch(role.allowedOrganizationalUnits, parts.subject.organizationalUnit ?? []) &&
    role.requiredExtensions.every((r) => hasExtension(parts, r))
  );
}
