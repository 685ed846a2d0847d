/** CLI output: two-column tables like Vault's, or JSON with --format json. */
export type OutputFormat = 'table' | 'json';

export function parseFormat(value: string | undefined): OutputFormat {
  const v = (value ?? process.env.SECRETHUB_FORMAT ?? process.env.VAULT_FORMAT ?? 'table').toLowerCase();
  if (v !== 'table' && v !== 'json') throw new Error(`unknown format "${v}": use table or json`);
  return v;
}

export function renderTable(rows: [string, unknown][], header: [string, string] = ['Key', 'Value']): string {
  return renderColumns(header, rows);
}

/** A table with a header row and dashes under it, columns padded to their widest cell. */
export function renderColumns(header: string[], rows: unknown[][]): string {
  const all: string[][] = [header, header.map((h) => '-'.repeat(h.length)), ...rows.map((r) => r.map(formatValue))];
  const widths = header.map((_, i) => Math.max(...all.map((r) => (r[i] ?? '').length)));
  return all
    .map((r) =>
      r
        .map((cell, i) => (i === r.length - 1 ? cell : cell.padEnd(widths[i])))
        .join('    ')
        .trimEnd(),
    )
    .join('\n');
}

/** As Vault's tables: a missing value is `<nil>`, an empty string `n/a`. */
function formatValue(v: unknown): string {
  if (v === null || v === undefined) return '<nil>';
  if (v === '') return 'n/a';
  if (Array.isArray(v)) return `[${v.join(' ')}]`;
  if (typeof v === 'object') return JSON.stringify(v);
  return String(v);
}

/**
 * Vault's `humanDuration`: seconds as Go prints a duration, without zero minutes or seconds after a
 * larger unit (3600 → 1h, 5400 → 1h30m, 3601 → 1h1s, 90 → 1m30s, 0 → 0s).
 */
export function humanDuration(seconds: number): string {
  const sign = seconds < 0 ? '-' : '';
  const total = Math.abs(Math.trunc(seconds));
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = total % 60;
  let text = h > 0 ? `${h}h${m}m${s}s` : m > 0 ? `${m}m${s}s` : `${s}s`;
  if (text.endsWith('m0s')) text = text.slice(0, -2);
  text = text.replace(/h0m/, 'h');
  return sign + text;
}

/** Keys whose whole-number values Vault's tables print as durations (its `looksLikeDuration`). */
export function looksLikeDuration(key: string): boolean {
  return ['period', 'ttl', 'duration'].some((k) => key === k || key.endsWith(`_${k}`)) || key === 'lease_max' || key === 'ttl_max';
}

export function print(text: string): void {
  process.stdout.write(text.endsWith('\n') ? text : text + '\n');
}

export function printJson(value: unknown): void {
  print(JSON.stringify(value, null, 2));
}
