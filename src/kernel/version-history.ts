/**
 * Vault's version history: each server version the first time it unsealed this storage, with its
 * build date (sys/version-history). Recorded at unseal, as Vault does; a version seen again keeps
 * its first time.
 */
import type { DataSource, Repository } from 'typeorm';
import { VersionHistoryEntity } from './version-history.entity';

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

  private get history(): Repository<VersionHistoryEntity> {
    return this.dataSource.getRepository(VersionHistoryEntity);
  }

  async record(): Promise<void> {
    // ON CONFLICT DO NOTHING: the version is the only key.
    await this.history
      .createQueryBuilder()
      .insert()
      .values({ version: this.current.version, buildDate: this.current.buildDate })
      .orIgnore()
      .updateEntity(false)
      .execute();
  }

  /** Oldest first. */
  async list(): Promise<VersionEntry[]> {
    const rows = await this.history.find({ order: { installedAt: 'ASC', version: 'ASC' } });
    return rows.map((r) => ({ version: r.version, buildDate: r.buildDate, installedAt: new Date(r.installedAt) }));
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
