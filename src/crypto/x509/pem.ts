/**
 * PEM armour (RFC 7468).
 *
 * Invariants:
 * - toPem writes what Go's pem.EncodeToMemory writes: 64-character base64 lines, LF line ends and
 *   a final newline (Vault trims it in API answers; callers that need that trim too);
 * - fromPem returns the blocks with the asked label only, in order, and throws on a block of that
 *   label that is unterminated or whose body is not base64 (headers such as Proc-Type included:
 *   encrypted PEM is not supported); text between blocks is ignored.
 */

export type PemLabel = 'CERTIFICATE' | 'CERTIFICATE REQUEST' | 'X509 CRL';

const BASE64_BODY = /^[A-Za-z0-9+/]*={0,2}$/;

export function toPem(der: Buffer, label: PemLabel | string): string {
  const base64 = der.toString('base64');
  const lines: string[] = [];
  for (let offset = 0; offset < base64.length; offset += 64) lines.push(base64.slice(offset, offset + 64));
  return `-----BEGIN ${label}-----\n${lines.join('\n')}\n-----END ${label}-----\n`;
}

export function fromPem(pem: string, label: string): Buffer[] {
  const blocks: Buffer[] = [];
  const begin = `-----BEGIN ${label}-----`;
  const end = `-----END ${label}-----`;
  let cursor = 0;
  for (;;) {
    const start = pem.indexOf(begin, cursor);
    if (start < 0) return blocks;
    const bodyStart = start + begin.length;
    const stop = pem.indexOf(end, bodyStart);
    if (stop < 0) throw new Error(`PEM block "${label}" is not terminated`);
    const body = pem.slice(bodyStart, stop).replace(/\s+/g, '');
    if (body.length % 4 !== 0 || !BASE64_BODY.test(body)) throw new Error(`PEM block "${label}" does not hold base64`);
    blocks.push(Buffer.from(body, 'base64'));
    cursor = stop + end.length;
  }
}

/** Every PEM block in `text`, whatever its label, in order (text between blocks ignored); throws on an unterminated or non-base64 block. */
export function pemBlocks(text: string): { label: string; der: Buffer }[] {
  const out: { label: string; der: Buffer }[] = [];
  const begin = /-----BEGIN ([A-Z0-9 ]{1,64})-----/g;
  let match: RegExpExecArray | null;
  while ((match = begin.exec(text)) !== null) {
    const label = match[1];
    const end = `-----END ${label}-----`;
    const stop = text.indexOf(end, begin.lastIndex);
    if (stop < 0) throw new Error(`PEM block "${label}" is not terminated`);
    const body = text.slice(begin.lastIndex, stop).replace(/\s+/g, '');
    if (body.length % 4 !== 0 || !BASE64_BODY.test(body)) throw new Error(`PEM block "${label}" does not hold base64`);
    out.push({ label, der: Buffer.from(body, 'base64') });
    begin.lastIndex = stop + end.length;
  }
  return out;
}
