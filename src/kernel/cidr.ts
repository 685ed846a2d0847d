/** Address-in-CIDR checks (IPv4, IPv6, IPv4-mapped IPv6). Invalid input never matches. */
import { BlockList, isIP } from 'node:net';

export function parseCidrList(cidrs: string[]): BlockList {
  const list = new BlockList();
  for (const cidr of cidrs) {
    const [net, bits] = cidr.trim().split('/');
    const family = isIP(net);
    const prefix = bits === undefined ? (family === 4 ? 32 : 128) : Number(bits);
    if (!family || !Number.isInteger(prefix)) continue;
    try {
      list.addSubnet(net, prefix, family === 4 ? 'ipv4' : 'ipv6');
    } catch {
      /* out-of-range prefix: never matches */
    }
  }
  return list;
}

export function isValidCidr(cidr: string): boolean {
  const m = /^([0-9a-fA-F:.]+)(?:\/(\d{1,3}))?$/.exec(cidr.trim());
  if (!m) return false;
  const family = isIP(m[1]);
  if (!family) return false;
  return m[2] === undefined || Number(m[2]) <= (family === 4 ? 32 : 128);
}

export function ipInCidrs(address: string, cidrs: string[]): boolean {
  const addr = address.startsWith('::ffff:') && isIP(address.slice(7)) === 4 ? address.slice(7) : address;
  const family = isIP(addr);
  if (!family) return false;
  return parseCidrList(cidrs).check(addr, family === 4 ? 'ipv4' : 'ipv6');
}

/** Whether every address of `inner` (a CIDR or a bare address) lies inside one of `outers`. */
export function cidrWithin(inner: string, outers: string[]): boolean {
  if (!isValidCidr(inner)) return false;
  const [address, bits] = inner.trim().split('/');
  const family = isIP(address);
  const prefix = bits === undefined ? (family === 4 ? 32 : 128) : Number(bits);
  return outers.some((outer) => {
    if (!isValidCidr(outer)) return false;
    const [outerAddress, outerBits] = outer.trim().split('/');
    if (isIP(outerAddress) !== family) return false;
    const outerPrefix = outerBits === undefined ? (family === 4 ? 32 : 128) : Number(outerBits);
    // A shorter (or equal) outer prefix contains the whole inner network iff it contains its address.
    return outerPrefix <= prefix && ipInCidrs(address, [outer]);
  });
}
