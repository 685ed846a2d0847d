/**
 * Vault's version history: each server version the first time it unsealed this storage, with its
 * build date (sys/version-history). Recorded at unseal, as Vault does; a version seen again keeps
 * its first time.
 */
import type { DataSource } from 'typeorm';

export interface VersionEntry {
  version: string;
  buildDate: string;
  installedAt: Date;
}

export class VersionHistory {
  constructor(
    private readonly dataSource: DataSource,
    private readonly current: { version: string; buildDate: string },
  ) {}

  async record(): Promise<void> {
    await this.dataSource.query('INSERT INTO version_history (version, build_date) VALUES ($1, $2) ON CONFLICT (version) DO NOTHING', [
      this.current.version,
      this.current.buildDate,
    ]);
  }

  /** Oldest first. */
  async list(): Promise<VersionEntry[]> {
    const rows: { version: string; build_date: string; installed_at: Date }[] = await this.dataSource.query(
      'SELECT version, build_date, installed_at FROM version_history ORDER BY installed_at, version',
    );
    return rows.map((r) => ({ version: r.version, buildDate: r.build_date, installedAt: new Date(r.installed_at) }));
  }
}

/** Vault's LIST answer: `keys` oldest first, `key_info` with each version's build date, install time and the version before it. */
export function versionHistoryResponse(entries: VersionEntry[]): { keys: string[]; key_info: Record<string, Record<string, unknown>> } {
  const keys: string[] = [];
  const info: Record<string, Record<string, unknown>> = {};
  entries.forEach((e, i) => {
    keys.push(e.version);
    info[e.version] = {
      build_date: e.buildDate,
      previous_version: i > 0 ? entries[i - 1].version : null,
      timestamp_installed: `${e.installedAt.toISOString().slice(0, 19)}Z`,
    };
  });
  return { keys, key_info: info };
}
