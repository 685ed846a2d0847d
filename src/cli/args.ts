/**
 * Vault users type single-dash long options (`-format=json`, `-key-shares=5`, `-mount=secret`).
 * Before parsing, such arguments become GNU style (`--format=json`); single letters (`-h`), a lone
 * `-` (stdin) and everything after `--` are left alone.
 *
 * Vault's boolean flags also take `=true` / `=false` (`-cas-required=false`) and never consume the
 * next argument. For the flags named in `booleanFlags` (long names of options without a value),
 * `--flag=true` becomes `--flag` and `--flag=false` becomes `--no-flag` when that negation exists,
 * else it is dropped (false is the default of a flag that is absent).
 */
export function normaliseArgs(argv: string[], booleanFlags: ReadonlySet<string> = new Set()): string[] {
  const out: string[] = [];
  let rest = false;
  for (const arg of argv) {
    if (rest || arg === '--') {
      rest = true;
      out.push(arg);
      continue;
    }
    const gnu = /^-[a-zA-Z][a-zA-Z0-9-]+(=.*)?$/s.test(arg) ? `-${arg}` : arg;
    const bool = /^(--[a-zA-Z][a-zA-Z0-9-]*)=(true|false)$/i.exec(gnu);
    if (bool && booleanFlags.has(bool[1])) {
      const negated = `--no-${bool[1].slice(2)}`;
      if (bool[2].toLowerCase() === 'true') out.push(bool[1]);
      else if (booleanFlags.has(negated)) out.push(negated);
      continue;
    }
    out.push(gnu);
  }
  return out;
}
