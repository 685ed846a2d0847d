/** Reading a range of the stored log in pages. */
import type { AuditLogRepository, ExportedRow } from './audit-log.repository';

/**
 * Entries per page. Entries are whole requests and responses (a 250-item transit batch makes
 * ~90 KB), so a range is never read in one result: a checkpoint's 1,000 entries read at once held
 * ~90 MB, the process's largest allocation.
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
