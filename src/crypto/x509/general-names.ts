/**
 * Subject alternative names: the lists of DNS names, emails, IP addresses and URIs <-> the
 * GeneralName entries of a SAN extension, and IP addresses <-> their octets.
 *
 * Invariants:
 * - entries are written in Go's order (DNS, email, IP, URI), each list in the caller's order;
 * - DNS names, emails and URIs are IA5String: anything outside ASCII throws (IDNs must arrive
 *   already in punycode), as Go's x509.CreateCertificate refuses them;
 * - an IPv4 address is 4 octets, also when written IPv4-mapped (::ffff:a.b.c.d), as Go encodes it;
 *   other IPv6 addresses are 16 octets; zones (fe80::1%eth0) are refused;
 * - addresses read back print as Go's net.IP.String does (dotted quad for v4 and v4-mapped,
 *   RFC 5952 compressed lower-case hex otherwise).
 */
import { isIPv4, isIPv6 } from 'node:net';
import { GeneralName } from '@peculiar/asn1-x509';

export interface SubjectAltNames {
  dnsNames?: string[];
  ipAddresses?: string[];
  uris?: string[];
  emails?: string[];
}

export interface ParsedSubjectAltNames {
  dnsNames: string[];
  ipAddresses: string[];
  uris: string[];
  emails: string[];
}

/** IA5String holds ASCII only. */
function isAscii(value: string): boolean {
  for (let i = 0; i < value.length; i++) if (value.charCodeAt(i) > 0x7f) return false;
  return true;
}

function ia5(value: string, what: string): string {
  if (!isAscii(value)) throw new Error(`${what} "${value}" is not ASCII (an IA5String); encode IDNs as punycode`);
  return value;
}

function ipv4Octets(text: string): number[] {
  return text.split('.').map((part) => Number(part));
}

/** The octets of an IP address: 4 for IPv4 (and IPv4-mapped IPv6), 16 for other IPv6. */
export function ipToBytes(ip: string): Buffer {
  if (isIPv4(ip)) return Buffer.from(ipv4Octets(ip));
  if (!isIPv6(ip) || ip.includes('%')) throw new Error(`"${ip}" is not a valid IP address`);
  let text = ip.toLowerCase();
  let tail: number[] = [];
  const lastColon = text.lastIndexOf(':');
  if (text.includes('.', lastColon)) {
    const octets = ipv4Octets(text.slice(lastColon + 1));
    tail = [(octets[0] << 8) | octets[1], (octets[2] << 8) | octets[3]];
    text = text.slice(0, lastColon + 1) + '0:0';
  }
  const [head, rest] = text.split('::');
  const headGroups = head === '' ? [] : head.split(':');
  const restGroups = rest === undefined || rest === '' ? [] : rest.split(':');
  const missing = 8 - headGroups.length - restGroups.length;
  const groups = [...headGroups, ...Array<string>(rest === undefined ? 0 : missing).fill('0'), ...restGroups].map((group) => parseInt(group, 16));
  if (tail.length === 2) groups.splice(6, 2, ...tail);
  const bytes = Buffer.alloc(16);
  groups.forEach((group, index) => bytes.writeUInt16BE(group, index * 2));
  const v4Mapped = bytes.subarray(0, 10).every((octet) => octet === 0) && bytes[10] === 0xff && bytes[11] === 0xff;
  return v4Mapped ? Buffer.from(bytes.subarray(12)) : bytes;
}

/** An IP address as Go's net.IP.String prints it. */
export function ipFromBytes(bytes: Buffer): string {
  if (bytes.length === 4) return Array.from(bytes).join('.');
  if (bytes.length !== 16) throw new Error(`an IP address has 4 or 16 octets, not ${bytes.length}`);
  if (bytes.subarray(0, 10).every((octet) => octet === 0) && bytes[10] === 0xff && bytes[11] === 0xff) {
    return Array.from(bytes.subarray(12)).join('.');
  }
  const groups = Array.from({ length: 8 }, (_, index) => bytes.readUInt16BE(index * 2));
  // The longest run of at least two zero groups (the first one on a tie) becomes "::".
  let bestStart = -1;
  let bestLength = 1;
  for (let start = 0; start < 8;) {
    if (groups[start] !== 0) {
      start++;
      continue;
    }
    let end = start;
    while (end < 8 && groups[end] === 0) end++;
    if (end - start > bestLength) {
      bestStart = start;
      bestLength = end - start;
    }
    start = end;
  }
  const hex = groups.map((group) => group.toString(16));
  if (bestStart < 0) return hex.join(':');
  return `${hex.slice(0, bestStart).join(':')}::${hex.slice(bestStart + bestLength).join(':')}`;
}

/** The library's iPAddress converter takes text; full uncompressed forms round-trip exactly. */
function libraryIpText(bytes: Buffer): string {
  if (bytes.length === 4) return Array.from(bytes).join('.');
  return Array.from({ length: 8 }, (_, index) => bytes.readUInt16BE(index * 2).toString(16)).join(':');
}

export function hasSubjectAltNames(sans: SubjectAltNames): boolean {
  return Boolean(sans.dnsNames?.length || sans.emails?.length || sans.ipAddresses?.length || sans.uris?.length);
}

export function generalNamesOf(sans: SubjectAltNames): GeneralName[] {
  return [
    ...(sans.dnsNames ?? []).map((name) => new GeneralName({ dNSName: ia5(name, 'DNS name') })),
    ...(sans.emails ?? []).map((email) => new GeneralName({ rfc822Name: ia5(email, 'email address') })),
    ...(sans.ipAddresses ?? []).map((ip) => new GeneralName({ iPAddress: libraryIpText(ipToBytes(ip)) })),
    ...(sans.uris ?? []).map((uri) => new GeneralName({ uniformResourceIdentifier: ia5(uri, 'URI') })),
  ];
}

/** The four SAN lists of parsed GeneralNames; other kinds (directoryName, otherName...) are skipped. */
export function subjectAltNamesOf(names: Iterable<GeneralName>): ParsedSubjectAltNames {
  const parsed: ParsedSubjectAltNames = { dnsNames: [], ipAddresses: [], uris: [], emails: [] };
  for (const name of names) {
    if (name.dNSName !== undefined) parsed.dnsNames.push(name.dNSName);
    else if (name.rfc822Name !== undefined) parsed.emails.push(name.rfc822Name);
    else if (name.uniformResourceIdentifier !== undefined) parsed.uris.push(name.uniformResourceIdentifier);
    else if (name.iPAddress !== undefined) {
      if (name.iPAddress.includes('/')) throw new Error(`IP address SAN of the wrong length (${name.iPAddress})`);
      parsed.ipAddresses.push(ipFromBytes(ipToBytes(name.iPAddress)));
    }
  }
  return parsed;
}
