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

/** The block labelled `label` whose body starts at `bodyStart`: its bytes and where its END line ends; throws on an unterminated or non-base64 block. */
function readBlock(text: string, label: string, bodyStart: number): { der: Buffer; next: number } {
  const end = `-----END ${label}-----`;
  const stop = text.indexOf(end, bodyStart);
  if (stop < 0) throw new Error(`PEM block "${label}" is not terminated`);
  const body = text.slice(bodyStart, stop).replace(/\s+/g, '');
  if (body.length % 4 !== 0 || !BASE64_BODY.test(body)) throw new Error(`PEM block "${label}" does not hold base64`);
  return { der: Buffer.from(body, 'base64'), next: stop + end.length };
}

export function fromPem(pem: string, label: string): Buffer[] {
  const blocks: Buffer[] = [];
  const begin = `-----BEGIN ${label}-----`;
  let cursor = 0;
  for (;;) {
    const start = pem.indexOf(begin, cursor);
    if (start < 0) return blocks;
    const { der, next } = readBlock(pem, label, start + begin.length);
    blocks.push(der);
    cursor = next;
  }
}

/** Every PEM block in `text`, whatever its label, in order (text between blocks ignored); throws on an unterminated or non-base64 block. */
export function pemBlocks(text: string): { label: string; der: Buffer }[] {
  const out: { label: string; der: Buffer }[] = [];
  const begin = /-----BEGIN ([A-Z0-9 ]{1,64})-----/g;
  let match: RegExpExecArray | null;
  while ((match = begin.exec(text)) !== null) {
    const label = match[1];
    const { der, next } = readBlock(text, label, begin.lastIndex);
    out.push({ label, der });
    begin.lastIndex = next;
  }
  return out;
}
