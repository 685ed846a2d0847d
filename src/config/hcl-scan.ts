/**
 * The nesting of an HCL v1 document, measured in one linear pass before any parser sees it.
 *
 * js-hcl-parser (HashiCorp's HCL v1 compiled by GopherJS) recurses once per level and is
 * superlinear in depth: 1,000 levels held the event loop for over a minute and then overflowed
 * the stack, leaving the parser broken for later calls. Levels are `{` and `[`, and also the
 * keys of a block: `a "b" "c" { }` decodes as three nested objects, so a `{` counts as many
 * levels as the keys before it.
 *
 * Invariant: the depth found is never below the one the parser reaches. The scan follows the
 * lexical rules of HCL v1's scanner (hcl/scanner/scanner.go: strings with `${ }` and escapes,
 * `#`, `//` and `/* *\/` comments, heredocs, NUL as end of input); wherever it could differ it
 * leaves a string, comment or heredoc no later than the scanner does, or refuses the document.
 * The parser keeps going after a lexical error, so this holds for invalid documents too.
 */

const NUL = 0x00;
const TAB = 0x09;
const LF = 0x0a;
const CR = 0x0d;
const SPACE = 0x20;
const QUOTE = 0x22;
const HASH = 0x23;
const DOLLAR = 0x24;
const STAR = 0x2a;
const COMMA = 0x2c;
const DASH = 0x2d;
const SLASH = 0x2f;
const LT = 0x3c;
const EQUALS = 0x3d;
const LBRACK = 0x5b;
const BACKSLASH = 0x5c;
const RBRACK = 0x5d;
const LBRACE = 0x7b;
const RBRACE = 0x7d;

const isSpace = (c: number) => c === SPACE || c === TAB || c === LF || c === CR;
const isHexDigit = (c: number) => (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x46) || (c >= 0x61 && c <= 0x66);
/** Characters that end a bare token (identifier, number, anything the scanner would call illegal). */
const isDelimiter = (c: number) =>
  isSpace(c) ||
  c === QUOTE ||
  c === HASH ||
  c === SLASH ||
  c === LT ||
  c === EQUALS ||
  c === COMMA ||
  c === LBRACE ||
  c === RBRACE ||
  c === LBRACK ||
  c === RBRACK;

export class HclScanRefusal extends Error {}

/**
 * True when the document nests deeper than `maxDepth`. Throws HclScanRefusal for a heredoc anchor
 * with a non-ASCII character (the scanner's idea of a letter depends on its Unicode tables).
 */
export function hclNestingExceeds(text: string, maxDepth: number): boolean {
  const opened: number[] = []; // levels added by each open `{` / `[`
  let depth = 0;
  let keys = 0; // tokens since the last `=`, `,`, brace or bracket: the keys of a block to come
  let valueNext = false; // the token after `=` is a value, not a key
  const token = () => {
    if (valueNext) valueNext = false;
    else keys++;
  };
  let i = 0;
  while (i < text.length) {
    const c = text.charCodeAt(i);
    if (c === LBRACE || c === LBRACK) {
      const levels = Math.max(1, keys);
      depth += levels;
      if (depth > maxDepth) return true;
      opened.push(levels);
      keys = 0;
      valueNext = false;
      i++;
    } else if (c === RBRACE || c === RBRACK) {
      depth -= opened.pop() ?? 0;
      keys = 0;
      valueNext = false;
      i++;
    } else if (c === EQUALS || c === COMMA) {
      keys = 0;
      valueNext = c === EQUALS;
      i++;
    } else if (c === QUOTE) {
      token();
      i = afterString(text, i + 1);
    } else if (c === HASH) {
      i = afterLineComment(text, i + 1);
    } else if (c === SLASH) {
      const next = text.charCodeAt(i + 1);
      // A `/` starting neither comment is an error; the scanner consumes the `/` alone.
      i = next === SLASH ? afterLineComment(text, i + 2) : next === STAR ? afterBlockComment(text, i + 2) : i + 1;
    } else if (c === LT) {
      token();
      i = afterHeredoc(text, i + 1);
    } else if (isSpace(c)) {
      i++;
    } else {
      token();
      do i++;
      while (i < text.length && !isDelimiter(text.charCodeAt(i)));
    }
  }
  return false;
}

/** After the opening quote: the index just past the string. Quotes inside `${ }` do not end it. */
function afterString(text: string, start: number): number {
  let braces = 0;
  let i = start;
  while (i < text.length) {
    const c = text.charCodeAt(i++);
    if ((c === LF && braces === 0) || c === NUL) return i; // unterminated: the scanner ends it here
    if (c === QUOTE && braces === 0) return i;
    if (braces === 0 && c === DOLLAR && text.charCodeAt(i) === LBRACE) {
      braces++;
      i++;
    } else if (braces > 0 && c === LBRACE) braces++;
    if (braces > 0 && c === RBRACE) braces--;
    if (c === BACKSLASH && i < text.length) {
      const escape = text.charCodeAt(i++);
      // `\x`, `\u`, `\U` read one more character and, if it is not a hex digit, keep it (a quote too).
      if ((escape === 0x78 || escape === 0x75 || escape === 0x55) && i < text.length && !isHexDigit(text.charCodeAt(i))) i++;
    }
  }
  return i;
}

function afterLineComment(text: string, start: number): number {
  let i = start;
  while (i < text.length) {
    const c = text.charCodeAt(i);
    if (c === LF) return i;
    i++;
    if (c === NUL) return i;
  }
  return i;
}

function afterBlockComment(text: string, start: number): number {
  let i = start;
  while (i < text.length) {
    const c = text.charCodeAt(i++);
    if (c === NUL) return i;
    if (c === STAR && text.charCodeAt(i) === SLASH) return i + 1;
  }
  return i;
}

/**
 * After the first `<`: the index just past the heredoc (`<<ID` or `<<-ID`, a newline, lines up to
 * one holding only ID, optionally indented). A malformed anchor ends where the scanner stops.
 */
function afterHeredoc(text: string, start: number): number {
  let i = start;
  if (i >= text.length) return i;
  if (text.charCodeAt(i++) !== LT) return i; // the scanner consumed the character it did not want
  const anchorStart = i;
  if (text.charCodeAt(i) === DASH) i++;
  while (i < text.length) {
    const c = text.charCodeAt(i);
    if (c >= 0x80) throw new HclScanRefusal('heredoc anchors must be ASCII letters, digits or _');
    if (!((c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a) || c === 0x5f)) break;
    i++;
  }
  const anchorEnd = i;
  if (i >= text.length) return i;
  let c = text.charCodeAt(i++);
  if (c === NUL) return i;
  if (c === CR && text.charCodeAt(i) === LF) c = text.charCodeAt(i++);
  if (c !== LF) return i;
  const anchor = text.slice(anchorStart, anchorEnd);
  if (anchor === '' || anchor === '-') return i;
  const id = anchor.startsWith('-') ? anchor.slice(1) : anchor;
  // A terminator: the id alone on its line, after any ASCII space, before any CRs (the scanner's
  // regexp; its extra length check for `<<-` is left out, which can only end the heredoc sooner).
  let lineStart = i;
  while (i < text.length) {
    const ch = text.charCodeAt(i++);
    if (ch === NUL) return i;
    if (ch === LF) {
      if (
        text
          .slice(lineStart, i - 1)
          .replace(/^[ \t\n\v\f\r]+/, '')
          .replace(/\r+$/, '') === id
      )
        return i;
      lineStart = i;
    }
  }
  return i;
}
