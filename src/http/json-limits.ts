/**
 * Checks JSON nesting depth, string length, object entries and array elements on the raw bytes,
 * in one linear pass, before JSON.parse materialises anything. Returns an error message or null.
 * The scan only needs to be right for valid JSON; invalid JSON is rejected by the parser after it.
 */
import type { JsonLimits } from '../config/config';

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const OPEN_OBJECT = 0x7b;
const CLOSE_OBJECT = 0x7d;
const OPEN_ARRAY = 0x5b;
const CLOSE_ARRAY = 0x5d;
const COMMA = 0x2c;

export function jsonLimitError(bytes: Buffer, limits: JsonLimits): string | null {
  // Per open container: the commas seen so far (elements = commas + 1) and the container kind.
  const counts: number[] = [];
  const kinds: number[] = [];
  // The next backslash at or after the scan position (-1: none left); strings are skipped with
  // native searches, not byte by byte (a 250-item transit batch is 338 KiB of mostly string).
  let nextBackslash = bytes.indexOf(BACKSLASH);
  for (let i = 0; i < bytes.length; i++) {
    const c = bytes[i];
    switch (c) {
      case QUOTE: {
        const stringStart = i + 1;
        let end = stringStart;
        for (;;) {
          const quote = bytes.indexOf(QUOTE, end);
          if (quote < 0) return null; // unterminated: the parser refuses it
          if (nextBackslash >= 0 && nextBackslash < end) nextBackslash = bytes.indexOf(BACKSLASH, end);
          if (nextBackslash < 0 || nextBackslash > quote) {
            end = quote;
            break;
          }
          end = nextBackslash + 2; // the escaped byte is never the string's end
        }
        if (end - stringStart > limits.maxStringLength) return `JSON string value exceeds the limit of ${limits.maxStringLength} bytes`;
        i = end;
        break;
      }
      case OPEN_OBJECT:
      case OPEN_ARRAY:
        counts.push(0);
        kinds.push(c);
        if (counts.length > limits.maxDepth) return `JSON input exceeds the maximum nesting depth of ${limits.maxDepth}`;
        break;
      case CLOSE_OBJECT:
      case CLOSE_ARRAY:
        kinds.pop();
        counts.pop();
        break;
      case COMMA: {
        const depth = counts.length - 1;
        if (depth < 0) break;
        counts[depth]++;
        const isObject = kinds[depth] === OPEN_OBJECT;
        const limit = isObject ? limits.maxObjectEntries : limits.maxArrayElements;
        if (counts[depth] + 1 > limit) {
          return isObject ? `JSON object exceeds the limit of ${limit} entries` : `JSON array exceeds the limit of ${limit} elements`;
        }
        break;
      }
    }
  }
  return null;
}
