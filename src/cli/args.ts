/**
 * Vault users type single-dash long options (`-format=json`, `-key-shares=5`, `-mount=secret`).
 * Before parsing, such arguments become GNU style (`--format=json`); single letters (`-h`), a lone
 * `-` (stdin) and everything after `--` are left alone.
 */
export function normaliseArgs(argv: string[]): string[] {
  const out: string[] = [];
  let rest = false;
  for (const arg of argv) {
    if (rest || arg === '--') {
      rest = true;
      out.push(arg);
      continue;
    }
    out.push(/^-[a-zA-Z][a-zA-Z0-9-]+(=.*)?$/s.test(arg) ? `-${arg}` : arg);
  }
  return out;
}
