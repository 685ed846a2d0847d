/**
 * Credential anomalies: reading response entries of `audit_logs` after the job's cursor, the
 * per-hour activity history, and the `audit_anomalies` rows.
 *
 * The job's work happens in one transaction fenced by the leader lease, so only the leader's scan
 * commits, and the cursor moves only together with what the scan stored. Reads of the audit
 * log use only its documented columns and the event_data keys `response.status_code`,
 * `auth.metadata.role_name` and `request.data.role_id` (the latter two already HMACs).
 *
 * The entity API throughout, but for three statements of the scan that stay SQL (names from the
 * entities): the activity upsert (adds to the stored count, over unnest arrays), the activity read
 * (a join with unnest arrays) and the anomaly upsert (CASE and GREATEST/LEAST over the row and EXCLUDED).
 */
import type { LeaderFence } from '../framework/backend';
import { LessThan, type DataSource, type EntityManager, type FindOptionsWhere } from 'typeorm';
import { entityNames } from '../database/entity-names';
import { AuditAnomalyActivityEntity, AuditAnomalyCursorEntity, AuditAnomalyEntity } from './anomaly.entity';
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
import { AuditLogEntity } from './audit.entity';

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

function anomalyRow(r: AuditAnomalyEntity): AnomalyRow {
  return {
    id: r.id,
    kind: r.kind as AnomalyKind,
    subjectType: r.subjectType as SubjectType,
    subject: r.subject,
    severity: r.severity as Severity,
    windowStart: r.windowStart,
    windowEnd: r.windowEnd,
    observed: Number(r.observed),
    threshold: Number(r.threshold),
    details: r.details,
    firstSequence: Number(r.firstSequence),
    lastSequence: Number(r.lastSequence),
    detectedAt: r.detectedAt,
    updatedAt: r.updatedAt,
    resolved: r.resolved,
    resolvedAt: r.resolvedAt ?? null,
    resolvedBy: r.resolvedBy ?? null,
    resolvedByAccessor: r.resolvedByAccessor ?? null,
    resolutionNote: r.resolutionNote ?? null,
  };
}

/** The statements of one scan, inside its transaction. */
export class AnomalyScanTransaction {
  constructor(private readonly m: EntityManager) {}

  async cursor(): Promise<number> {
    const row = await this.m
      .getRepository(AuditAnomalyCursorEntity)
      .findOne({ select: { id: true, lastSequence: true }, where: { id: 1 }, lock: { mode: 'pessimistic_write' } });
    if (!row) throw new Error('audit_anomaly_cursor row is missing');
    return Number(row.lastSequence);
  }

  async advanceCursor(sequence: number): Promise<void> {
    const lastSequence = entityNames(this.m, AuditAnomalyCursorEntity).col.lastSequence;
    await this.m
      .createQueryBuilder()
      .update(AuditAnomalyCursorEntity)
      .set({ lastSequence: () => `GREATEST(${lastSequence}, CAST(:sequence AS bigint))`, scannedAt: () => 'now()' })
      .where({ id: 1 })
      .setParameter('sequence', sequence)
      .execute();
  }

  /** Response entries after `afterSequence`, in sequence order, at most `limit`. */
  async responses(afterSequence: number, limit: number): Promise<StoredResponse[]> {
    const rows = await this.m
      .getRepository(AuditLogEntity)
      .createQueryBuilder('l')
      .select('l.sequenceNumber', 'sequence_number')
      .addSelect('l.timestamp', 'timestamp')
      .addSelect('l.actorId', 'actor_id')
      .addSelect('l.actorName', 'actor_name')
      .addSelect('l.secretPath', 'secret_path')
      .addSelect('l.sourceIp', 'source_ip')
      .addSelect(
        "CASE WHEN jsonb_typeof(l.eventData #> '{response,status_code}') = 'number' THEN (l.eventData #>> '{response,status_code}')::int END",
        'status',
      )
      .addSelect("l.eventData #>> '{auth,metadata,role_name}'", 'role_name')
      .addSelect("l.eventData #>> '{request,data,role_id}'", 'role_id')
      .where('l.sequenceNumber > :afterSequence', { afterSequence })
      .andWhere("l.eventType = 'response'")
      .orderBy('l.sequenceNumber', 'ASC')
      .limit(limit)
      .getRawMany<Record<string, unknown>>();
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

  /** Adds the entries counted per subject and hour to the history (SQL: an upsert adding to the stored count, over unnest arrays). */
  async addActivity(hours: HourActivity[]): Promise<void> {
    if (hours.length === 0) return;
    const { table, col } = entityNames(this.m, AuditAnomalyActivityEntity);
    await this.m.query(
      `INSERT INTO ${table} (${col.subjectType}, ${col.subject}, ${col.hourStart}, ${col.entries})
       SELECT * FROM unnest($1::text[], $2::text[], $3::timestamptz[], $4::bigint[])
       ON CONFLICT (${col.subjectType}, ${col.subject}, ${col.hourStart}) DO UPDATE SET ${col.entries} = ${table}.${col.entries} + EXCLUDED.${col.entries}`,
      [hours.map((h) => h.subject.type), hours.map((h) => h.subject.id), hours.map((h) => new Date(h.hourStart)), hours.map((h) => h.entries)],
    );
  }

  /** The history of `subjects` with an hour start in [from, to) (SQL: a join with unnest arrays). */
  async activity(subjects: Subject[], from: Date, to: Date): Promise<SubjectHour[]> {
    if (subjects.length === 0) return [];
    const { table, col } = entityNames(this.m, AuditAnomalyActivityEntity);
    const rows: { subject_type: string; subject: string; hour_start: Date; entries: string }[] = await this.m.query(
      `SELECT a.${col.subjectType} AS subject_type, a.${col.subject} AS subject, a.${col.hourStart} AS hour_start, a.${col.entries} AS entries FROM ${table} a
       JOIN unnest($1::text[], $2::text[]) AS s(subject_type, subject) ON s.subject_type = a.${col.subjectType} AND s.subject = a.${col.subject}
       WHERE a.${col.hourStart} >= $3 AND a.${col.hourStart} < $4`,
      [subjects.map((s) => s.type), subjects.map((s) => s.id), from, to],
    );
    return rows.map((r) => ({ subjectType: r.subject_type, subject: r.subject, hourStart: r.hour_start.getTime(), entries: Number(r.entries) }));
  }

  async pruneActivity(before: Date): Promise<void> {
    await this.m.getRepository(AuditAnomalyActivityEntity).delete({ hourStart: LessThan(before) });
  }

  /**
   * Stores an anomaly, or grows the one already stored for its window (observed value, severity,
   * sequence range; the resolution is kept). True when the row is new. SQL: the update keeps the
   * larger of the stored and the new values, which an upsert of the entity API cannot express.
   */
  async store(c: AnomalyCandidate): Promise<boolean> {
    const { table, col } = entityNames(this.m, AuditAnomalyEntity);
    const once = this.m.dataSource.getMetadata(AuditAnomalyEntity).uniques.find((u) => u.name === 'audit_anomalies_once')!.name;
    const rows: { inserted: boolean }[] = await this.m.query(
      `INSERT INTO ${table} AS a (${col.kind}, ${col.subjectType}, ${col.subject}, ${col.severity}, ${col.windowStart}, ${col.windowEnd}, ${col.observed},
         ${col.threshold}, ${col.details}, ${col.firstSequence}, ${col.lastSequence})
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
       ON CONFLICT ON CONSTRAINT ${once} DO UPDATE SET
         ${col.severity} = CASE WHEN array_position($12::text[], EXCLUDED.${col.severity}) > array_position($12::text[], a.${col.severity})
           THEN EXCLUDED.${col.severity} ELSE a.${col.severity} END,
         ${col.details} = CASE WHEN EXCLUDED.${col.observed} > a.${col.observed} THEN EXCLUDED.${col.details} ELSE a.${col.details} END,
         ${col.observed} = GREATEST(a.${col.observed}, EXCLUDED.${col.observed}),
         ${col.firstSequence} = LEAST(a.${col.firstSequence}, EXCLUDED.${col.firstSequence}),
         ${col.lastSequence} = GREATEST(a.${col.lastSequence}, EXCLUDED.${col.lastSequence}),
         ${col.updatedAt} = now()
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

  /**
   * Runs `scan` in one transaction that commits only while this process holds the leader lease (the
   * fence is its last statement); undefined (and nothing run) when another process is the leader.
   */
  async withFencedScan<T>(fence: LeaderFence, scan: (tx: AnomalyScanTransaction) => Promise<T>): Promise<T | undefined> {
    if (!fence.isLeader) return undefined;
    return this.dataSource.transaction(async (m) => {
      const result = await scan(new AnomalyScanTransaction(m));
      await fence.checkFence(m);
      return result;
    });
  }

  async cursor(): Promise<number> {
    const row = await this.dataSource.getRepository(AuditAnomalyCursorEntity).findOne({ select: { id: true, lastSequence: true }, where: { id: 1 } });
    return Number(row?.lastSequence ?? 0);
  }

  /** The most recently detected first, at most `limit`. */
  async list(filter: AnomalyFilter, limit: number): Promise<AnomalyRow[]> {
    const where: FindOptionsWhere<AuditAnomalyEntity> = {};
    if (filter.resolved != null) where.resolved = filter.resolved;
    if (filter.severity != null) where.severity = filter.severity;
    if (filter.kind != null) where.kind = filter.kind;
    const rows = await this.dataSource.getRepository(AuditAnomalyEntity).find({ where, order: { detectedAt: 'DESC', id: 'ASC' }, take: limit });
    return rows.map(anomalyRow);
  }

  async get(id: string): Promise<AnomalyRow | undefined> {
    const row = await this.dataSource.getRepository(AuditAnomalyEntity).findOneBy({ id });
    return row ? anomalyRow(row) : undefined;
  }

  /** Marks an anomaly resolved; an anomaly already resolved keeps its first resolution. Undefined when there is no such anomaly. */
  async resolve(id: string, by: { displayName: string; accessorHash: string | null }, note: string | null): Promise<AnomalyRow | undefined> {
    await this.dataSource.getRepository(AuditAnomalyEntity).update(
      { id, resolved: false },
      {
        resolved: true,
        resolvedAt: () => 'now()',
        resolvedBy: by.displayName,
        resolvedByAccessor: by.accessorHash,
        resolutionNote: note,
        updatedAt: () => 'now()',
      },
    );
    return this.get(id);
  }

  async counts(): Promise<AnomalyCount[]> {
    const rows = await this.dataSource
      .getRepository(AuditAnomalyEntity)
      .createQueryBuilder('a')
      .select('a.kind', 'kind')
      .addSelect('a.severity', 'severity')
      .addSelect('a.resolved', 'resolved')
      .addSelect('count(*)::int', 'n')
      .groupBy('a.kind')
      .addGroupBy('a.severity')
      .addGroupBy('a.resolved')
      .orderBy('a.kind', 'ASC')
      .addOrderBy('a.severity', 'ASC')
      .addOrderBy('a.resolved', 'ASC')
      .getRawMany<{ kind: string; severity: string; resolved: boolean; n: number }>();
    return rows.map((r) => ({ kind: r.kind, severity: r.severity, resolved: r.resolved, count: r.n }));
  }
}
