/**
 * Vault's username templates (sdk/helper/template): a Go text/template subset, enough for every
 * template Vault ships and its documentation shows, e.g.
 * `{{ printf "v-%s-%s-%s" (.DisplayName | truncate 15) (.RoleName | truncate 15) (random 20) | truncate 100 }}`.
 * Actions hold pipelines (`a | f x` calls `f x a`), parenthesised pipelines, string, raw-string and
 * integer literals and the fields of the data (`.RoleName`). Functions: Vault's (random,
 * truncate, truncate_sha256, uppercase, lowercase, replace, sha256, base64, unix_time,
 * unix_time_millis, timestamp, uuid) and Go's printf with %s, %d, %v and %%. Anything else (if,
 * range, variables, other verbs) is refused when the template is parsed. Errors are fixed words,
 * never the template's text; every intermediate string is bounded.
 */
import { createHash, randomUUID } from 'node:crypto';
import { randomBase62 } from '../crypto/random';

/** No string a template makes may be longer than this (a username). */
export const MAX_TEMPLATE_STRING = 4096;
const MAX_RANDOM = 1024;

export class TemplateError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TemplateError';
  }
}

type Value = string | number;
type Node = { kind: 'text'; text: string } | { kind: 'pipeline'; commands: Command[] };
type Operand =
  | { kind: 'string'; value: string }
  | { kind: 'number'; value: number }
  | { kind: 'field'; name: string }
  | { kind: 'ident'; name: string }
  | { kind: 'paren'; commands: Command[] };
type Command = Operand[];

function bounded(s: string): string {
  if (s.length > MAX_TEMPLATE_STRING) throw new TemplateError(`a value is longer than ${MAX_TEMPLATE_STRING} characters`);
  return s;
}

const str = (v: Value | undefined, fn: string): string => {
  if (typeof v !== 'string') throw new TemplateError(`${fn}: expected a string argument`);
  return v;
};
const int = (v: Value | undefined, fn: string): number => {
  if (typeof v !== 'number') throw new TemplateError(`${fn}: expected an integer argument`);
  return v;
};

const GO_LAYOUT: [string, (d: Date) => string][] = [
  ['January', (d) => d.toLocaleString('en-US', { month: 'long', timeZone: 'UTC' })],
  ['Monday', (d) => d.toLocaleString('en-US', { weekday: 'long', timeZone: 'UTC' })],
  ['Z07:00', () => 'Z'],
  ['-07:00', () => '+00:00'],
  ['Z0700', () => 'Z'],
  ['-0700', () => '+0000'],
  ['.000000000', (d) => `.${String(d.getUTCMilliseconds()).padStart(3, '0')}000000`],
  ['.000000', (d) => `.${String(d.getUTCMilliseconds()).padStart(3, '0')}000`],
  ['.000', (d) => `.${String(d.getUTCMilliseconds()).padStart(3, '0')}`],
  ['2006', (d) => String(d.getUTCFullYear())],
  ['Jan', (d) => d.toLocaleString('en-US', { month: 'short', timeZone: 'UTC' })],
  ['Mon', (d) => d.toLocaleString('en-US', { weekday: 'short', timeZone: 'UTC' })],
  ['MST', () => 'UTC'],
  ['_2', (d) => String(d.getUTCDate()).padStart(2, ' ')],
  ['01', (d) => String(d.getUTCMonth() + 1).padStart(2, '0')],
  ['02', (d) => String(d.getUTCDate()).padStart(2, '0')],
  ['03', (d) => String(d.getUTCHours() % 12 || 12).padStart(2, '0')],
  ['04', (d) => String(d.getUTCMinutes()).padStart(2, '0')],
  ['05', (d) => String(d.getUTCSeconds()).padStart(2, '0')],
  ['06', (d) => String(d.getUTCFullYear() % 100).padStart(2, '0')],
  ['15', (d) => String(d.getUTCHours()).padStart(2, '0')],
  ['PM', (d) => (d.getUTCHours() >= 12 ? 'PM' : 'AM')],
  ['pm', (d) => (d.getUTCHours() >= 12 ? 'pm' : 'am')],
  ['1', (d) => String(d.getUTCMonth() + 1)],
  ['2', (d) => String(d.getUTCDate())],
  ['3', (d) => String(d.getUTCHours() % 12 || 12)],
  ['4', (d) => String(d.getUTCMinutes())],
  ['5', (d) => String(d.getUTCSeconds())],
];

/** Go's time.Format for the layout elements above, in UTC. */
export function goTimeFormat(layout: string, date: Date): string {
  let out = '';
  for (let i = 0; i < layout.length;) {
    const hit = GO_LAYOUT.find(([token]) => layout.startsWith(token, i));
    if (hit) {
      out += hit[1](date);
      i += hit[0].length;
    } else out += layout[i++];
  }
  return out;
}

function printf(args: Value[]): string {
  const [format, ...rest] = args;
  let i = 0;
  const out = str(format, 'printf').replace(/%(.)/g, (_, verb: string) => {
    if (verb === '%') return '%';
    if (!['s', 'd', 'v'].includes(verb)) throw new TemplateError('printf: only the verbs %s, %d, %v and %% are supported');
    if (i >= rest.length) throw new TemplateError('printf: missing an argument');
    const v = rest[i++];
    if (verb === 'd' && typeof v !== 'number') throw new TemplateError('printf: %d needs an integer');
    return String(v);
  });
  if (i < rest.length) throw new TemplateError('printf: too many arguments');
  return out;
}

const FUNCTIONS: Record<string, (args: Value[], now: Date) => Value> = {
  printf: (a) => printf(a),
  random: (a) => {
    const n = int(a[0], 'random');
    if (a.length !== 1 || n < 1 || n > MAX_RANDOM) throw new TemplateError(`random: the length must be from 1 to ${MAX_RANDOM}`);
    return randomBase62(n);
  },
  truncate: (a) => {
    const n = int(a[0], 'truncate');
    if (a.length !== 2 || n < 0) throw new TemplateError('truncate: expected a length of at least 0 and a string');
    return str(a[1], 'truncate').slice(0, n);
  },
  truncate_sha256: (a) => {
    const n = int(a[0], 'truncate_sha256');
    const s = str(a[1], 'truncate_sha256');
    if (a.length !== 2 || n <= 8) throw new TemplateError('truncate_sha256: the length must be greater than 8');
    if (s.length <= n) return s;
    const cut = n - 8;
    return s.slice(0, cut) + createHash('sha256').update(s.slice(cut)).digest('hex').slice(0, 8);
  },
  uppercase: (a) => str(a[0], 'uppercase').toUpperCase(),
  lowercase: (a) => str(a[0], 'lowercase').toLowerCase(),
  replace: (a) => {
    if (a.length !== 3) throw new TemplateError('replace: expected the text to find, its replacement and a string');
    return str(a[2], 'replace').split(str(a[0], 'replace')).join(str(a[1], 'replace'));
  },
  sha256: (a) => createHash('sha256').update(str(a[0], 'sha256')).digest('hex'),
  base64: (a) => Buffer.from(str(a[0], 'base64')).toString('base64'),
  unix_time: (_a, now) => String(Math.floor(now.getTime() / 1000)),
  unix_time_millis: (_a, now) => String(now.getTime()),
  timestamp: (a, now) => goTimeFormat(str(a[0], 'timestamp'), now),
  uuid: () => randomUUID(),
};

/** Splits an action's inside into tokens: strings, raw strings, numbers, fields, identifiers, `(`, `)`, `|`. */
function tokenize(src: string): string[] {
  const tokens: string[] = [];
  let i = 0;
  while (i < src.length) {
    const c = src[i];
    if (/\s/.test(c)) {
      i++;
      continue;
    }
    if (c === '(' || c === ')' || c === '|') {
      tokens.push(c);
      i++;
      continue;
    }
    let m: RegExpExecArray | null;
    const rest = src.slice(i);
    if (
      (m = /^"(?:[^"\\\n]|\\.)*"/.exec(rest)) ||
      (m = /^`[^`]*`/.exec(rest)) ||
      (m = /^-?\d+/.exec(rest)) ||
      (m = /^\.[A-Za-z_]\w*/.exec(rest)) ||
      (m = /^[A-Za-z_]\w*/.exec(rest))
    ) {
      tokens.push(m[0]);
      i += m[0].length;
      continue;
    }
    throw new TemplateError('unexpected character in an action');
  }
  return tokens;
}

function unquote(token: string): string {
  if (token.startsWith('`')) return token.slice(1, -1);
  return token.slice(1, -1).replace(/\\(.)/g, (_, e: string) => {
    const map: Record<string, string> = { n: '\n', t: '\t', r: '\r', '"': '"', '\\': '\\' };
    if (!(e in map)) throw new TemplateError('unsupported escape in a string literal');
    return map[e];
  });
}

function parsePipeline(tokens: string[], pos: { i: number }, closing: string | undefined): Command[] {
  const commands: Command[] = [[]];
  while (pos.i < tokens.length) {
    const t = tokens[pos.i++];
    const current = commands[commands.length - 1];
    if (t === ')') {
      if (closing !== ')') throw new TemplateError('unexpected ")"');
      pos.i--;
      break;
    }
    if (t === '|') {
      if (current.length === 0) throw new TemplateError('missing command before "|"');
      commands.push([]);
    } else if (t === '(') {
      const inner = parsePipeline(tokens, pos, ')');
      if (tokens[pos.i++] !== ')') throw new TemplateError('unclosed "("');
      current.push({ kind: 'paren', commands: inner });
    } else if (t.startsWith('"') || t.startsWith('`')) current.push({ kind: 'string', value: unquote(t) });
    else if (/^-?\d+$/.test(t)) {
      const n = Number(t);
      if (!Number.isSafeInteger(n)) throw new TemplateError('integer literal out of range');
      current.push({ kind: 'number', value: n });
    } else if (t.startsWith('.')) current.push({ kind: 'field', name: t.slice(1) });
    else {
      if (!(t in FUNCTIONS)) throw new TemplateError('unknown function or keyword in an action');
      current.push({ kind: 'ident', name: t });
    }
  }
  if (commands.some((c) => c.length === 0)) throw new TemplateError('empty command in an action');
  return commands;
}

export function parseTemplate(template: string): Node[] {
  const nodes: Node[] = [];
  let i = 0;
  while (i < template.length) {
    const open = template.indexOf('{{', i);
    if (open < 0) {
      nodes.push({ kind: 'text', text: template.slice(i) });
      break;
    }
    let text = template.slice(i, open);
    let start = open + 2;
    if (template[start] === '-' && /\s/.test(template[start + 1] ?? '')) {
      text = text.replace(/\s+$/, '');
      start++;
    }
    if (text) nodes.push({ kind: 'text', text });
    const close = template.indexOf('}}', start);
    if (close < 0) throw new TemplateError('unclosed action');
    let inner = template.slice(start, close);
    i = close + 2;
    if (/\s-$/.test(inner)) {
      inner = inner.slice(0, -1);
      const skip = /^\s*/.exec(template.slice(i));
      i += skip ? skip[0].length : 0;
    }
    const tokens = tokenize(inner);
    if (tokens.length === 0) throw new TemplateError('empty action');
    const pos = { i: 0 };
    const commands = parsePipeline(tokens, pos, undefined);
    if (pos.i !== tokens.length) throw new TemplateError('unexpected ")"');
    nodes.push({ kind: 'pipeline', commands });
  }
  return nodes;
}

function evalPipeline(commands: Command[], data: Record<string, string>, now: Date): Value {
  let piped: Value | undefined;
  for (const command of commands) {
    const [head, ...rest] = command;
    const operand = (o: Operand): Value => {
      switch (o.kind) {
        case 'string':
        case 'number':
          return o.value;
        case 'field':
          if (!Object.prototype.hasOwnProperty.call(data, o.name)) throw new TemplateError('unknown field in an action');
          return data[o.name];
        case 'paren':
          return evalPipeline(o.commands, data, now);
        case 'ident':
          return FUNCTIONS[o.name]([], now);
      }
    };
    let value: Value;
    if (head.kind === 'ident') {
      const args = rest.map(operand);
      if (piped !== undefined) args.push(piped);
      value = FUNCTIONS[head.name](args, now);
    } else {
      if (rest.length > 0 || piped !== undefined) throw new TemplateError('arguments given to a value that is not a function');
      value = operand(head);
    }
    piped = typeof value === 'string' ? bounded(value) : value;
  }
  return piped as Value;
}

/** Renders a parsed template with the given fields (DisplayName, RoleName, ...). */
export function renderTemplate(nodes: Node[], data: Record<string, string>, now = new Date()): string {
  let out = '';
  for (const n of nodes) out = bounded(out + (n.kind === 'text' ? n.text : String(evalPipeline(n.commands, data, now))));
  return out;
}
