/**
 * The client address of a request: the connection's, or, only when the connection comes from a
 * trusted proxy (`listener "tcp" { x_forwarded_for_authorized_addrs }`), the X-Forwarded-For entry
 * `x_forwarded_for_hop_skips` places from the right. Vault's rules and messages; with no trusted
 * proxies configured the header is ignored (a client cannot choose its own audit address, bound-CIDR
 * match or lockout identity).
 */
import { ipInCidrs } from '../kernel/cidr';
import { badRequest } from '../kernel/errors';
import { isIP } from 'node:net';

export interface ForwardedForConfig {
  authorizedAddrs: string[];
  hopSkips: number;
  rejectNotAuthorized: boolean;
  rejectNotPresent: boolean;
}

export function clientAddress(connection: string, header: string | string[] | undefined, cfg: ForwardedForConfig): string {
  if (cfg.authorizedAddrs.length === 0) return connection;
  const hops = (Array.isArray(header) ? header : header === undefined ? [] : [header])
    .flatMap((h) => h.split(','))
    .map((h) => h.trim())
    .filter((h) => h !== '');
  if (hops.length === 0) {
    if (cfg.rejectNotPresent) throw badRequest('missing x-forwarded-for header and configuration set to reject connection');
    return connection;
  }
  if (!ipInCidrs(connection, cfg.authorizedAddrs)) {
    if (cfg.rejectNotAuthorized) throw badRequest('client address not authorized for x-forwarded-for and configuration set to reject connection');
    return connection;
  }
  const index = hops.length - 1 - cfg.hopSkips;
  if (index < 0) throw badRequest('malformed x-forwarded-for configuration or request, hops to skip would skip before earliest chain link');
  const address = hops[index].replace(/^\[(.*)\]$/, '$1');
  if (!isIP(address)) throw badRequest('malformed x-forwarded-for header: not an IP address');
  return address;
}
