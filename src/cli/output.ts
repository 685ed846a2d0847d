/** CLI output: two-column tables like Vault's, or JSON with --format json. */
export type OutputFormat = 'table' | 'json';

export function parseFormat(value: string | undefined): OutputFormat {
  const v = (value ?? process.env.SECRETHUB_FORMAT ?? process.env.VAULT_FORMAT ?? 'table').toLowerCase();
  if (v !== 'table' && v !== 'json') throw new Error(`unknown format "${v}": use table or json`);
  return v;
}

export function renderTable(rows: [string, unknown][], header: [string, string] = ['Key', 'Value']): string {
  const all: [string, string][] = [header, [ '-'.repeat(header[0].length), '-'.repeat(header[1].length) ], ...rows.map(([k, v]): [string, string] => [k, formatValue(v)])];
  const width = Math.max(...all.map(([k]) => k.length));
  return all.map(([k, v]) => `${k.padEnd(width)}    ${v}`.trimEnd()).join('\n');
}

function formatValue(v: unknown): string {
  if (v === null || v === undefined) return 'n/a';
  if (Array.isArray(v)) return `[${v.join(' ')}]`;
  if (typeof v === 'object') return JSON.stringify(v);
  return String(v);
}

export function print(text: string): void {
  process.stdout.write(text.endsWith('\n') ? text : text + '\n');
}

export function printJson(value: unknown): void {
  print(JSON.stringify(value, null, 2));
}
