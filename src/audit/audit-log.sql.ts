/** The audit log's statements, named through the entities' metadata (see audit-log.repository.ts for how they are used). */
import type { EntityNames } from '../database/entity-names';
import { statement, type Statement } from '../database/sql';
import type { AuditChainHeadEntity, AuditCheckpointEntity, AuditLogEntity } from './audit.entity';

/**
 * Rows up to this size stay in the page as they are: PostgreSQL otherwise compresses every row over
 * ~2 KB, which most response entries are, and the compression was a fifth of its CPU per entry
 * (decision 89). The largest value PostgreSQL accepts; bigger rows are still compressed and moved out.
 */
export const AUDIT_TOAST_TUPLE_TARGET = 8160;

interface Names {
  head: EntityNames<AuditChainHeadEntity>;
  logs: EntityNames<AuditLogEntity>;
  checkpoints: EntityNames<AuditCheckpointEntity>;
}

export interface AuditSql {
  append: Statement;
  head: string;
  headForUpdate: string;
  pruneAnchor: string;
  movePruneAnchor: string;
  partitions: string;
  sequenceRange: (partition: string) => string;
  detach: (partition: string) => string;
  createPartition: (partition: string, from: string, to: string) => string;
  insertCheckpoint: string;
  lastCheckpoint: string;
  checkpoints: string;
  entries: string;
}

/*
 * The append sends the batch's bytes packed, in binary: `$24` holds every entry's bytes back to
 * back, `$25` every event_data JSON text (UTF-8), `$26` the previous and current hash of each row
 * (64 bytes a row); the arrays give each row's offsets and lengths. node-pg sends a Buffer parameter
 * as binary but encodes bytea[] as hex text inside an array literal, which cost more than twice the
 * client CPU per batch (measured: 254 vs 118 µs for 11 entries). Rows are read under the aliases
 * given here, whatever the column names.
 */
export function auditSql({ head, logs, checkpoints }: Names): AuditSql {
  const [h, l, c] = [head.col, logs.col, checkpoints.col];
  const checkpointColumns = `${c.treeSize} AS tree_size, ${c.rootHash} AS root_hash, ${c.chainHash} AS chain_hash,
    ${c.previousTreeSize} AS previous_tree_size, ${c.leaves} AS leaves, ${c.signedAt} AS signed_at, ${c.signature} AS signature`;
  return {
    append: statement(
      'audit-append',
      `WITH head AS (
       UPDATE ${head.table} SET ${h.sequenceNumber} = $2, ${h.chainHash} = $3, ${h.frontier} = $4, ${h.updatedAt} = now()
       WHERE ${h.id} = 1 AND ${h.sequenceNumber} = $1 AND ${h.chainHash} = $5 RETURNING 1),
     ins AS (
       INSERT INTO ${logs.table} (${l.sequenceNumber}, ${l.timestamp}, ${l.eventId}, ${l.eventType}, ${l.actorType}, ${l.actorId}, ${l.actorName},
         ${l.secretPath}, ${l.secretMount}, ${l.operation}, ${l.accessGranted}, ${l.policyMatched}, ${l.denialReason}, ${l.sourceIp}, ${l.correlationId},
         ${l.previousHash}, ${l.currentHash}, ${l.signature}, ${l.entryBytes}, ${l.eventData})
       SELECT u.seq, u.ts, u.event_id, u.event_type, u.actor_type, u.actor_id, u.actor_name, u.secret_path,
         u.secret_mount, u.operation, u.access_granted, u.policy_matched, u.denial_reason, u.source_ip, u.correlation_id,
         substring($26::bytea FROM (u.i::int - 1) * 64 + 1 FOR 32), substring($26::bytea FROM (u.i::int - 1) * 64 + 33 FOR 32),
         u.signature, substring($24::bytea FROM u.entry_at + 1 FOR u.entry_len),
         convert_from(substring($25::bytea FROM u.data_at + 1 FOR u.data_len), 'UTF8')::jsonb
       FROM unnest($6::bigint[], $7::timestamptz[], $8::uuid[], $9::text[], $10::text[], $11::text[], $12::text[], $13::text[],
         $14::text[], $15::text[], $16::boolean[], $17::text[], $18::text[], $19::text[], $20::text[], $21::bytea[],
         $22::int[], $23::int[], $27::int[], $28::int[])
         WITH ORDINALITY AS u(seq, ts, event_id, event_type, actor_type, actor_id, actor_name, secret_path, secret_mount, operation,
           access_granted, policy_matched, denial_reason, source_ip, correlation_id, signature, entry_at, entry_len, data_at, data_len, i)
       WHERE EXISTS (SELECT 1 FROM head)
       RETURNING 1)
     SELECT count(*)::int AS n FROM ins`,
    ),
    head: `SELECT ${h.logId} AS log_id, ${h.sequenceNumber} AS sequence_number, ${h.chainHash} AS chain_hash, ${h.frontier} AS frontier
      FROM ${head.table} WHERE ${h.id} = 1`,
    headForUpdate: `SELECT ${h.logId} AS log_id, ${h.sequenceNumber} AS sequence_number, ${h.chainHash} AS chain_hash, ${h.frontier} AS frontier
      FROM ${head.table} WHERE ${h.id} = 1 FOR UPDATE`,
    pruneAnchor: `SELECT ${h.prunedThrough} AS pruned_through, ${h.prunedChainHash} AS pruned_chain_hash, ${h.prunedFrontier} AS pruned_frontier
      FROM ${head.table} WHERE ${h.id} = 1`,
    movePruneAnchor: `UPDATE ${head.table} SET ${h.prunedThrough} = $1, ${h.prunedChainHash} = $2, ${h.prunedFrontier} = $3
      WHERE ${h.id} = 1 AND ${h.prunedThrough} <= $1`,
    partitions: `SELECT c.relname AS name FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid WHERE i.inhparent = '${logs.table}'::regclass
      ORDER BY c.relname`,
    sequenceRange: (partition) => `SELECT min(${l.sequenceNumber}) AS lo, max(${l.sequenceNumber}) AS hi FROM ${partition}`,
    detach: (partition) => `ALTER TABLE ${logs.table} DETACH PARTITION ${partition}`,
    createPartition: (partition, from, to) =>
      `CREATE TABLE ${partition} PARTITION OF ${logs.table} FOR VALUES FROM ('${from}') TO ('${to}') WITH (toast_tuple_target = ${AUDIT_TOAST_TUPLE_TARGET})`,
    insertCheckpoint: `INSERT INTO ${checkpoints.table} (${c.treeSize}, ${c.rootHash}, ${c.chainHash}, ${c.previousTreeSize}, ${c.leaves}, ${c.signedAt},
         ${c.signature})
       VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (${c.treeSize}) DO NOTHING`,
    lastCheckpoint: `SELECT ${checkpointColumns} FROM ${checkpoints.table} ORDER BY ${c.treeSize} DESC LIMIT 1`,
    checkpoints: `SELECT ${checkpointColumns} FROM ${checkpoints.table} WHERE ${c.treeSize} > $1 ORDER BY ${c.treeSize} LIMIT $2`,
    entries: `SELECT ${l.sequenceNumber} AS sequence_number, ${l.timestamp} AS "timestamp", ${l.entryBytes} AS entry_bytes, ${l.previousHash} AS previous_hash,
         ${l.currentHash} AS current_hash FROM ${logs.table}
        WHERE ${l.sequenceNumber} > $1 AND ${l.sequenceNumber} <= $3 ORDER BY ${l.sequenceNumber} LIMIT $2`,
  };
}
