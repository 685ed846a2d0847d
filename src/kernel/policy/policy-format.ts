/**
 * Canonical HCL for a policy (`secrethub policy fmt`): one `path "..." { }` block per rule, two-space
 * indentation, attributes in a fixed order (the HCL parser does not keep the document's). Comments
 * are not kept.
 */
import { parseHclOrJson } from '../../config/hcl';

type Obj = Record<string, unknown>;
const ORDER = [
  'comment',
  'policy',
  'capabilities',
  'allowed_parameters',
  'denied_parameters',
  'required_parameters',
  'min_wrapping_ttl',
  'max_wrapping_ttl',
  'conditions',
];
const rank = (k: string) => (ORDER.includes(k) ? ORDER.indexOf(k) : ORDER.length);
const isObj = (v: unknown): v is Obj => v !== null && typeof v === 'object' && !Array.isArray(v);

function value(v: unknown, indent: string): string {
  if (Array.isArray(v)) {
    if (v.length === 1 && isObj(v[0])) return value(v[0], indent);
    return `[${v.map((x) => value(x, indent)).join(', ')}]`;
  }
  if (isObj(v)) {
    const inner = Object.entries(v).map(([k, x]) => `${indent}  ${JSON.stringify(k)} = ${value(x, indent + '  ')}`);
    return inner.length ? `{\n${inner.join('\n')}\n${indent}}` : '{}';
  }
  return JSON.stringify(v);
}

function blocks(raw: unknown): [string, Obj][] {
  const out: [string, Obj][] = [];
  const visit = (v: unknown) => {
    if (Array.isArray(v)) v.forEach(visit);
    else if (isObj(v)) for (const [k, b] of Object.entries(v)) out.push([k, Array.isArray(b) ? Object.assign({}, ...(b as Obj[])) : (b as Obj)]);
  };
  visit(raw);
  return out;
}

export function formatPolicy(text: string): string {
  const doc = parseHclOrJson(text);
  const parts: string[] = [];
  if (doc.name !== undefined) parts.push(`name = ${JSON.stringify(doc.name)}`);
  for (const [pattern, body] of blocks(doc.path)) {
    const attrs = Object.entries(body)
      .sort(([a], [b]) => rank(a) - rank(b) || a.localeCompare(b))
      .map(([k, v]) => `  ${k} = ${value(v, '  ')}`);
    parts.push(`path ${JSON.stringify(pattern)} {\n${attrs.join('\n')}\n}`);
  }
  return parts.join('\n\n') + '\n';
}
