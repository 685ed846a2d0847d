/**
 * Writing an audit export (secrethub-audit-export-v1, JSON lines): a header, the entry lines as
 * `sys/audit-log/export` serves them, then the checkpoint lines as `sys/audit-log/checkpoints`
 * serves them (the same lines as the checkpoint file). `verify.ts` reads it back.
 */
import type { CheckpointRow } from './audit-log.repository';

export const EXPORT_FORMAT = 'secrethub-audit-export-v1';

/** The JSON line of a checkpoint, as written to the checkpoint file and the export. */
export function checkpointLine(logId: Buffer, c: CheckpointRow): Record<string, unknown> {
  return {
    kind: 'checkpoint',
    log_id: logId.toString('hex'),
    tree_size: c.treeSize,
    root: c.rootHash.toString('base64'),
    chain_hash: c.chainHash.toString('hex'),
    time: c.signedAt.toISOString(),
    signature: c.signature.toString('base64'),
    previous_tree_size: c.previousTreeSize,
    leaves: c.leaves.toString('base64'),
  };
}

export interface ExportPage {
  log_id: string;
  head_sequence: number;
  entries: ({ sequence_number: number } & Record<string, unknown>)[];
}

/**
 * Pulls every page of checkpoints through `fetchCheckpoints(afterTreeSize)` and of entries through
 * `fetchPage(after)` (each until an empty page) and gives the export text; `progress` is told how
 * many entries are written out of the head's count.
 */
export async function buildExport(
  fetchPage: (after: number) => Promise<ExportPage>,
  fetchCheckpoints: (afterTreeSize: number) => Promise<({ tree_size: number } & Record<string, unknown>)[]>,
  progress: (done: number, total: number) => void = () => undefined,
): Promise<string> {
  // Checkpoints first: every checkpoint then covers entries the pages below will include.
  const checkpoints: Record<string, unknown>[] = [];
  for (let after = 0; ;) {
    const page = await fetchCheckpoints(after);
    if (page.length === 0) break;
    checkpoints.push(...page);
    after = page[page.length - 1].tree_size;
  }
  const lines: string[] = [];
  let after = 0;
  let logId: string | undefined;
  for (;;) {
    const page = await fetchPage(after);
    logId ??= page.log_id;
    for (const e of page.entries) lines.push(JSON.stringify(e));
    if (page.entries.length === 0) break;
    after = page.entries[page.entries.length - 1].sequence_number;
    progress(after, Math.max(after, page.head_sequence));
    if (after >= page.head_sequence) break;
  }
  const header = JSON.stringify({ kind: 'header', format: EXPORT_FORMAT, log_id: logId ?? '' });
  return [header, ...lines, ...checkpoints.map((c) => JSON.stringify(c))].join('\n') + '\n';
}
