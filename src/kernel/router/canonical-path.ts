/**
 * Path canonicalisation, done before anything else looks at a path (routing, ACL, audit).
 * A path is refused (400) rather than repaired when it contains empty, `.` or `..` segments,
 * backslashes, NUL, encoded slashes or backslashes, or a segment ending in a dot: the ACL is only
 * ever judged on the one canonical spelling of a path.
 */
import { badRequest } from '../errors';

export function canonicalPath(rawPath: string): string {
  if (/%2f|%5c|%00/i.test(rawPath)) throw badRequest('invalid path: encoded "/", "\\" or NUL');
  let decoded: string;
  try {
    decoded = decodeURIComponent(rawPath);
  } catch {
    throw badRequest('invalid path: malformed percent-encoding');
  }
  if (decoded.includes('\\') || decoded.includes('\0')) throw badRequest('invalid path: backslash or NUL');
  // eslint-disable-next-line no-control-regex
  if (/[\x00-\x1f\x7f]/.test(decoded)) throw badRequest('invalid path: control character');
  const trailingSlash = decoded.endsWith('/') && decoded.length > 1;
  const body = trailingSlash ? decoded.slice(0, -1) : decoded;
  if (body === '') return '';
  const segments = body.split('/');
  for (const segment of segments) {
    if (segment === '') throw badRequest('invalid path: empty segment ("//")');
    if (segment === '.' || segment === '..') throw badRequest('path cannot contain parent references');
    if (segment.endsWith('.')) throw badRequest('invalid path: segment ends with "."');
  }
  return segments.join('/') + (trailingSlash ? '/' : '');
}
