/**
 * Which names a PKI role lets a certificate carry (Vault's validateNames, made stricter where the
 * security spec asks): common name, DNS and email SANs against allowed_domains and its flags, IP
 * SANs against allow_ip_sans, URI SANs against allowed_uri_sans globs.
 *
 * Invariants:
 * - a name is compared in lower case, and only after it passed the hostname check (ASCII
 *   letters, digits and hyphens in dot-separated labels; no trailing dot, no empty label), so no
 *   case-folding or Unicode trick can make one name match another's domain;
 * - a subdomain match needs a whole label boundary (`.example.com`), so `evil-example.com` and
 *   `example.com.evil.com` never match `example.com`;
 * - a wildcard is only a whole leftmost label (`*.example.com`), needs allow_wildcard_certificates,
 *   and matches a domain only through allow_subdomains or a glob — never through bare domains.
 */
export interface NamePolicy {
  allowedDomains: string[];
  allowBareDomains: boolean;
  allowSubdomains: boolean;
  allowGlobDomains: boolean;
  allowWildcardCertificates: boolean;
  allowAnyName: boolean;
  allowLocalhost: boolean;
  enforceHostnames: boolean;
  allowIpSans: boolean;
  allowedUriSans: string[];
}

const LABEL = /^(?!-)[a-z0-9-]{1,63}(?<!-)$/;

/** A DNS name of ASCII labels (lower-cased), at most 253 characters; undefined when it is not one. */
function hostname(name: string): string | undefined {
  if (name.length === 0 || name.length > 253 || name.endsWith('.')) return undefined;
  const lower = name.toLowerCase();
  // Only ASCII may be lower-cased: a character whose lower case is ASCII (K, the Kelvin sign) must not pass.
  if (!/^[\x21-\x7e]+$/.test(name)) return undefined;
  return lower.split('.').every((l) => LABEL.test(l)) ? lower : undefined;
}

/** Vault's glob: `*` matches any run of characters (dots included); everything else literally. */
export function globMatches(pattern: string, value: string): boolean {
  const parts = pattern.split('*');
  if (parts.length === 1) return pattern === value;
  if (!value.startsWith(parts[0]) || !value.endsWith(parts[parts.length - 1])) return false;
  let at = parts[0].length;
  const end = value.length - parts[parts.length - 1].length;
  for (const middle of parts.slice(1, -1)) {
    const found = value.indexOf(middle, at);
    if (found < 0 || found + middle.length > end) return false;
    at = found + middle.length;
  }
  return at <= end;
}

/** Whether one name (common name, DNS or email SAN) is allowed; gives the reason when not. */
export function checkName(policy: NamePolicy, requested: string): string | undefined {
  const refused = `${JSON.stringify(requested)} is not an allowed name for this role`;
  let name = requested;
  let isEmail = false;
  const at = name.lastIndexOf('@');
  if (at >= 0) {
    if (at === 0 || name.indexOf('@') !== at) return refused;
    name = name.slice(at + 1);
    isEmail = true;
  }
  let isWildcard = false;
  if (name.startsWith('*.')) {
    if (isEmail || !policy.allowWildcardCertificates) return refused;
    name = name.slice(2);
    isWildcard = true;
  }
  if (name.includes('*')) return refused;
  const host = hostname(name);
  if (policy.enforceHostnames && host === undefined) return refused;
  if (policy.allowAnyName) return undefined;
  // Without a hostname no domain rule can vouch for it.
  if (host === undefined) return refused;
  const full = isWildcard ? `*.${host}` : host;
  if (policy.allowLocalhost && !isWildcard && (host === 'localhost' || host === 'localdomain')) return undefined;
  if (
    policy.allowLocalhost &&
    policy.allowSubdomains &&
    (host.endsWith('.localhost') || host.endsWith('.localdomain') || (isWildcard && (host === 'localhost' || host === 'localdomain')))
  )
    return undefined;
  for (const raw of policy.allowedDomains) {
    const domain = raw.trim().toLowerCase();
    if (domain === '') continue;
    if (policy.allowBareDomains && !isWildcard && host === domain) return undefined;
    if (policy.allowSubdomains && (host.endsWith(`.${domain}`) || (isWildcard && host === domain))) return undefined;
    if (policy.allowGlobDomains && domain.includes('*') && globMatches(domain, full)) return undefined;
  }
  return refused;
}

/** IP SANs: v4 or v6 literals, and only when the role allows IP SANs. */
export function checkIpSan(policy: NamePolicy, ip: string): string | undefined {
  if (!policy.allowIpSans) return 'IP Subject Alternative Names are not allowed in this role';
  return isIp(ip) ? undefined : `${JSON.stringify(ip)} is not a valid IP address`;
}

export function isIp(value: string): boolean {
  if (/^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/.test(value)) return true;
  return (
    /^[0-9a-f:.]+$/i.test(value) &&
    value.includes(':') &&
    (() => {
      try {
        return new URL(`http://[${value}]/`).hostname.length > 2;
      } catch {
        return false;
      }
    })()
  );
}

/** URI SANs must match one of the role's allowed_uri_sans globs. */
export function checkUriSan(policy: NamePolicy, uri: string): string | undefined {
  return policy.allowedUriSans.some((g) => globMatches(g, uri)) ? undefined : `URI Subject Alternative Name ${JSON.stringify(uri)} is not allowed by this role`;
}
