/** Reading a range of the stored log in pages. */
import type { AuditLogRepository, ExportedRow } from './audit-log.repository';

/**
 * Entries per page. Entries are whole requests and responses (a 250-item transit batch makes a
 * 24 KB request and a 94 KB response entry), so a range is never read in one result: a checkpoint's
 * 1,000 such entries read at once were ~60 MB of bytes, the process's largest allocation.
 */
export const ENTRY_PAGE = 64;

/** The entries after `afterSequence` through `throughSequence` in order, `pageSize` rows per query; stops early where the log has no more. */
export async function* entryPages(
  repository: Pick<AuditLogRepository, 'entries'>,
  afterSequence: number,
  throughSequence: number,
  pageSize = ENTRY_PAGE,
): AsyncGenerator<ExportedRow[]> {
  let after = afterSequence;
  while (after < throughSequence) {
    const rows = await repository.entries(after, pageSize, throughSequence);
    if (rows.length === 0) return;
    yield rows;
    after = rows[rows.length - 1].sequence;
  }
}
