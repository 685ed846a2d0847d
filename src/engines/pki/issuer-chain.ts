/** The chain above an issuer (IssuerStore): what `ca_chain` answers carry after its certificate. */
import type { X509Certificate } from 'node:crypto';
import type { IssuerRow } from './issuer.repository';

const MAX_CHAIN = 10;

function signed(issuer: X509Certificate, subject: X509Certificate): boolean {
  try {
    return subject.checkIssued(issuer) && subject.verify(issuer.publicKey);
  } catch {
    return false;
  }
}

/**
 * The certificates above an issuer, nearest first: its manual_chain when set, else the chain it
 * was installed with, else the mount's issuers (`all`) that signed it, up to a self-signed one.
 */
export async function chainAbove(row: IssuerRow, x509Of: (row: IssuerRow) => X509Certificate, all: () => Promise<IssuerRow[]>): Promise<string[]> {
  if (row.manualChain.length > 0) {
    const rows = await all();
    return row.manualChain.slice(1).flatMap((id) => rows.find((r) => r.id === id)?.certificatePem ?? []);
  }
  if (row.chainPem?.length) return row.chainPem;
  let current = x509Of(row);
  // A self-signed root has nothing above it: no need to look at the other issuers.
  if (current.checkIssued(current)) return [];
  const rows = await all();
  const chain: string[] = [];
  const seen = new Set([row.id]);
  while (chain.length < MAX_CHAIN && !current.checkIssued(current)) {
    const subject = current;
    const parent = rows.find((r) => !seen.has(r.id) && signed(x509Of(r), subject));
    if (!parent) break;
    seen.add(parent.id);
    chain.push(parent.certificatePem);
    current = x509Of(parent);
  }
  return chain;
}
