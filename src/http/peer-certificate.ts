/**
 * The client certificate of a request's connection, for the request pipeline.
 *
 * Invariants: undefined on plain HTTP and when the client presented no certificate; otherwise the
 * DER of the certificate and its issuers, and the listener's verification result as read from the
 * socket for this request (not cached: a renegotiated connection reports its current state).
 */
import type { Socket } from 'node:net';
import { TLSSocket, type DetailedPeerCertificate } from 'node:tls';
import type { PeerCertificate } from '../framework/route';

/** Issuers are followed until a self-signed certificate (Node links it to itself) or one already seen. */
const MAX_CHAIN = 16;

export function peerCertificateOf(socket: Socket | undefined): PeerCertificate | undefined {
  if (!(socket instanceof TLSSocket)) return undefined;
  const leaf = socket.getPeerCertificate(true) as DetailedPeerCertificate | Record<string, never> | null;
  if (!leaf || !Buffer.isBuffer((leaf as DetailedPeerCertificate).raw)) return undefined;
  const cert = leaf as DetailedPeerCertificate;
  const seen = new Set<string>([cert.fingerprint256]);
  const chainDer: Buffer[] = [];
  for (
    let issuer = cert.issuerCertificate;
    issuer && Buffer.isBuffer(issuer.raw) && !seen.has(issuer.fingerprint256) && chainDer.length < MAX_CHAIN;
    issuer = issuer.issuerCertificate
  ) {
    seen.add(issuer.fingerprint256);
    chainDer.push(issuer.raw);
  }
  const out: PeerCertificate = { der: cert.raw, chainDer, authorized: socket.authorized === true };
  if (!out.authorized && socket.authorizationError) out.authorizationError = String(socket.authorizationError);
  return out;
}
