/**
 * SQL for credential anomalies: reading response entries of `audit_logs` after the job's cursor,
 * the per-hour activity history, and the `audit_anomalies` rows.
 *
 * The job's work happens in one transaction holding a transaction-level advisory lock, so one node
 * at a time scans, and the cursor moves only together with what the scan stored. Reads of the audit
 * log use only its documented columns and the event_data keys `response.status_code`,
 * `auth.metadata.role_name` and `request.data.role_id` (the latter two already HMACs).
 */
import type { DataSource, EntityManager } from 'typeorm';
import { returningRows } from '../database/sql';
import {
  SEVERITIES,
  type AnomalyCandidate,
  type AnomalyKind,
  type HourActivity,
  type ScannedEntry,
  type Severity,
  type Subject,
  type SubjectType,
} from './anomaly-detectors';

/** A response entry as stored: its source address still sealed. */
export interface StoredResponse extends Omit<ScannedEntry, 'sourceAddress'> {
  sealedSource: string | null;
}

export interface AnomalyRow extends Omit<AnomalyCandidate, 'subject'> {
  id: string;
  subjectType: SubjectType;
  subject: string;
  detectedAt: Date;
  updatedAt: Date;
  resolved: boolean;
  resolvedAt: Date | null;
  resolvedBy: string | null;
  resolvedByAccessor: string | null;
  resolutionNote: string | null;
}

export interface AnomalyFilter {
  resolved?: boolean;
  severity?: string;
  kind?: string;
}

export interface AnomalyCount {
  kind: string;
  severity: string;
  resolved: boolean;
  count: number;
}

export interface SubjectHour {
  subjectType: string;
  subject: string;
  hourStart: number;
  entries: number;
}

const SCAN_LOCK = "hashtext('secrethub.audit_anomaly_scan')";
const ANOMALY_COLUMNS = `id, kind, subject_type, subject, severity, window_start, window_end, observed, threshold, details, first_sequence, last_sequence,
  detected_at, updated_at, resolved, resolved_at, resolved_by, resolved_by_accessor, resolution_note`;

function anomalyRow(r: Record<string, unknown>): AnomalyRow {
  return {
    id: r.id as string,
    kind: r.kind as AnomalyKind,
    subjectType: r.subject_type as SubjectType,
    subject: r.subject as string,
    severity: r.severity as Severity,
    windowStart: r.window_start as Date,
    windowEnd: r.window_end as Date,
    observed: Number(r.observed),
    threshold: Number(r.threshold),
    details: r.details as Record<string, unknown>,
    firstSequence: Number(r.first_sequence),
    lastSequence: Number(r.last_sequence),
    detectedAt: r.detected_at as Date,
    updatedAt: r.updated_at as Date,
    resolved: r.resolved as boolean,
    resolvedAt: (r.resolved_at as Date | null) ?? null,
    resolvedBy: (r.resolved_by as string | null) ?? null,
    resolvedByAccessor: (r.resolved_by_accessor as string | null) ?? null,
    resolutionNote: (r.resolution_note as string | null) ?? null,
  };
}

/** The statements of one scan, inside its transaction. */
export class AnomalyScanTransaction {
  constructor(private readonly m: EntityManager) {}

  async cursor(): Promise<number> {
    const rows: { last_sequence: string }[] = await this.m.query('SELECT last_sequence FROM audit_anomaly_cursor WHERE id = 1 FOR UPDATE');
    if (!rows[0]) throw new Error('audit_anomaly_cursor row is missing');
    return Number(rows[0].last_sequence);
  }

  async advanceCursor(sequence: number): Promise<void> {
    await this.m.query('UPDATE audit_anomaly_cursor SET last_sequence = GREATEST(last_sequence, $1), scanned_at = now() WHERE id = 1', [sequence]);
  }

  /** Response entries after `afterSequence`, in sequence order, at most `limit`. */
  async responses(afterSequence: number, limit: number): Promise<StoredResponse[]> {
    const rows: Record<string, unknown>[] = await this.m.query(
      `SELECT sequence_number, "timestamp", actor_id, actor_name, secret_path, source_ip,
         CASE WHEN jsonb_typeof(event_data #> '{response,status_code}') = 'number' THEN (event_data #>> '{response,status_code}')::int END AS status,
         event_data #>> '{auth,metadata,role_name}' AS role_name,
         event_data #>> '{request,data,role_id}' AS role_id
       FROM audit_logs WHERE sequence_number > $1 AND event_type = 'response' ORDER BY sequence_number LIMIT $2`,
      [afterSequence, limit],
    );
    return rows.map((r) => ({
      sequence: Number(r.sequence_number),
      time: r.timestamp as Date,
      actorId: (r.actor_id as string | null) ?? null,
      actorName: (r.actor_name as string | null) ?? null,
      path: (r.secret_path as string | null) ?? null,
      status: (r.status as number | null) ?? null,
      roleName: (r.role_name as string | null) ?? null,
      roleId: (r.role_id as string | null) ?? null,
      sealedSource: (r.source_ip as string | null) ?? null,
    }));
  }

  /** Adds the entries counted per subject and hour to the history. */
  async addActivity(hours: HourActivity[]): Promise<void> {
    if (hours.length === 0) return;
    await this.m.query(
      `INSERT INTO audit_anomaly_activity (subject_type, subject, hour_start, entries)
       SELECT * FROM unnest($1::text[], $2::text[], $3::timestamptz[], $4::bigint[])
       ON CONFLICT (subject_type, subject, hour_start) DO UPDATE SET entries = audit_anomaly_activity.entries + EXCLUDED.entries`,
      [hours.map((h) => h.subject.type), hours.map((h) => h.subject.id), hours.map((h) => new Date(h.hourStart)), hours.map((h) => h.entries)],
    );
  }

  /** The history of `subjects` with an hour start in [from, to). */
  async activity(subjects: Subject[], from: Date, to: Date): Promise<SubjectHour[]> {
    if (subjects.length === 0) return [];
    const rows: { subject_type: string; subject: string; hour_start: Date; entries: string }[] = await this.m.query(
      `SELECT a.subject_type, a.subject, a.hour_start, a.entries FROM audit_anomaly_activity a
       JOIN unnest($1::text[], $2::text[]) AS s(subject_type, subject) ON s.subject_type = a.subject_type AND s.subject = a.subject
       WHERE a.hour_start >= $3 AND a.hour_start < $4`,
      [subjects.map((s) => s.type), subjects.map((s) => s.id), from, to],
    );
    return rows.map((r) => ({ subjectType: r.subject_type, subject: r.subject, hourStart: r.hour_start.getTime(), entries: Number(r.entries) }));
  }

  async pruneActivity(before: Date): Promise<void> {
    await this.m.query('DELETE FROM audit_anomaly_activity WHERE hour_start < $1', [before]);
  }

  /**
   * Stores an anomaly, or grows the one already stored for its window (observed value, severity,
   * sequence range; the resolution is kept). True when the row is new.
   */
  async store(c: AnomalyCandidate): Promise<boolean> {
    const rows: { inserted: boolean }[] = await this.m.query(
      `INSERT INTO audit_anomalies AS a (kind, subject_type, subject, severity, window_start, window_end, observed, threshold, details, first_sequence, last_sequence)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
       ON CONFLICT ON CONSTRAINT audit_anomalies_once DO UPDATE SET
         severity = CASE WHEN array_position($12::text[], EXCLUDED.severity) > array_position($12::text[], a.severity) THEN EXCLUDED.severity ELSE a.severity END,
         details = CASE WHEN EXCLUDED.observed > a.observed THEN EXCLUDED.details ELSE a.details END,
         observed = GREATEST(a.observed, EXCLUDED.observed),
         first_sequence = LEAST(a.first_sequence, EXCLUDED.first_sequence),
         last_sequence = GREATEST(a.last_sequence, EXCLUDED.last_sequence),
         updated_at = now()
       RETURNING (xmax = 0) AS inserted`,
      [
        c.kind,
        c.subject.type,
        c.subject.id,
        c.severity,
        c.windowStart,
        c.windowEnd,
        c.observed,
        c.threshold,
        JSON.stringify(c.details),
        c.firstSequence,
        c.lastSequence,
        [...SEVERITIES],
      ],
    );
    return rows[0].inserted;
  }
}

export class AnomalyRepository {
  constructor(private readonly dataSource: DataSource) {}

  /** Runs `scan` in one transaction holding the job's advisory lock; undefined (and nothing run) when another node holds it. */
  async withScanLock<T>(scan: (tx: AnomalyScanTransaction) => Promise<T>): Promise<T | undefined> {
    return this.dataSource.transaction(async (m) => {
      const [{ locked }]: { locked: boolean }[] = await m.query(`SELECT pg_try_advisory_xact_lock(${SCAN_LOCK}) AS locked`);
      if (!locked) return undefined;
      return scan(new AnomalyScanTransaction(m));
    });
  }

  async cursor(): Promise<number> {
    const rows: { last_sequence: string }[] = await this.dataSource.query('SELECT last_sequence FROM audit_anomaly_cursor WHERE id = 1');
    return Number(rows[0]?.last_sequence ?? 0);
  }

  /** The most recently detected first, at most `limit`. */
  async list(filter: AnomalyFilter, limit: number): Promise<AnomalyRow[]> {
    const rows: Record<string, unknown>[] = await this.dataSource.query(
      `SELECT ${ANOMALY_COLUMNS} FROM audit_anomalies
       WHERE ($1::boolean IS NULL OR resolved = $1) AND ($2::text IS NULL OR severity = $2) AND ($3::text IS NULL OR kind = $3)
       ORDER BY detected_at DESC, id LIMIT $4`,
      [filter.resolved ?? null, filter.severity ?? null, filter.kind ?? null, limit],
    );
    return rows.map(anomalyRow);
  }

  async get(id: string): Promise<AnomalyRow | undefined> {
    const rows: Record<string, unknown>[] = await this.dataSource.query(`SELECT ${ANOMALY_COLUMNS} FROM audit_anomalies WHERE id = $1`, [id]);
    return rows[0] ? anomalyRow(rows[0]) : undefined;
  }

  /** Marks an anomaly resolved; an anomaly already resolved keeps its first resolution. Undefined when there is no such anomaly. */
  async resolve(id: string, by: { displayName: string; accessorHash: string | null }, note: string | null): Promise<AnomalyRow | undefined> {
    await returningRows(
      this.dataSource,
      `UPDATE audit_anomalies SET resolved = true, resolved_at = now(), resolved_by = $2, resolved_by_accessor = $3, resolution_note = $4, updated_at = now()
       WHERE id = $1 AND NOT resolved RETURNING id`,
      [id, by.displayName, by.accessorHash, note],
    );
    return this.get(id);
  }

  async counts(): Promise<AnomalyCount[]> {
    const rows: { kind: string; severity: string; resolved: boolean; n: number }[] = await this.dataSource.query(
      'SELECT kind, severity, resolved, count(*)::int AS n FROM audit_anomalies GROUP BY kind, severity, resolved ORDER BY kind, severity, resolved',
    );
    return rows.map((r) => ({ kind: r.kind, severity: r.severity, resolved: r.resolved, count: r.n }));
  }
}
