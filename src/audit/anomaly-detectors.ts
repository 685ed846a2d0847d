/**
 * Credential-anomaly detection over audit response entries: pure, no database, no clock.
 *
 * Invariants:
 * - windows are aligned on the epoch (`floor(time / window) * window`), so a window has one start
 *   whatever run sees it, and (kind, subject, window start) names one anomaly;
 * - subjects are what the audit log already holds: token accessors and AppRole identifiers as the
 *   device's HMACs, user names in clear (as Vault logs display names and login paths); source
 *   addresses reach this module clear, in memory only, and leave it as counts;
 * - a refused login counts towards `login_bruteforce` only, any other status ≥ 400 towards `error_rate`;
 * - a detector flags a subject when the observed value reaches its threshold; severity grows with
 *   observed / threshold (medium below 3×, high below 10×, critical from 10×); brute force starts
 *   at high; activity at an unusual hour is low.
 */
import type { AnomalyConfig } from '../config/config';

export const ANOMALY_KINDS = ['request_rate', 'error_rate', 'source_ips', 'unusual_hours', 'login_bruteforce'] as const;
export type AnomalyKind = (typeof ANOMALY_KINDS)[number];

export const SUBJECT_TYPES = ['token_accessor', 'approle_role', 'user'] as const;
export type SubjectType = (typeof SUBJECT_TYPES)[number];

export const SEVERITIES = ['low', 'medium', 'high', 'critical'] as const;
export type Severity = (typeof SEVERITIES)[number];

export interface Subject {
  type: SubjectType;
  /** The accessor or role HMAC as logged, or the normalised user name. */
  id: string;
  /** For AppRole: which identifier the HMAC is of (`role_name` from token metadata, `role_id` from a login). */
  identifier?: 'role_name' | 'role_id';
}

/** One response entry of the audit log, reduced to what detection reads. */
export interface ScannedEntry {
  sequence: number;
  time: Date;
  /** `actor_id`: the HMAC of the token accessor. */
  actorId: string | null;
  /** `actor_name`: the token's display name. */
  actorName: string | null;
  path: string | null;
  status: number | null;
  /** `auth.metadata.role_name` (HMAC) of the token that made the request. */
  roleName: string | null;
  /** `request.data.role_id` (HMAC) sent to a login path. */
  roleId: string | null;
  /** The opened source address (memory only); undefined when it cannot be read (shredded month). */
  sourceAddress?: string;
}

/** The detectors' settings: the `audit { anomalies { ... } }` block without the job's own. */
export type DetectorThresholds = Omit<AnomalyConfig, 'enabled' | 'intervalSeconds'>;

export interface AnomalyCandidate {
  kind: AnomalyKind;
  subject: Subject;
  severity: Severity;
  windowStart: Date;
  windowEnd: Date;
  observed: number;
  threshold: number;
  details: Record<string, unknown>;
  firstSequence: number;
  lastSequence: number;
}

/** Display-name prefixes of tokens issued to a person by user/password-style auth methods at their default paths. */
const USER_DISPLAY_PREFIXES = ['userpass-', 'ldap-', 'okta-', 'radius-'];
/** Statuses of a refused login (bad credentials, unknown user or role, permission denied). */
const FAILED_LOGIN_STATUSES = new Set([400, 401, 403]);
/** `auth/<mount>/login/<username>` (user/password methods) or `auth/<mount>/login` (AppRole and others). */
const LOGIN_PATH = /^auth\/(.+)\/login(?:\/([^/]+))?\/?$/;
const HOUR_MS = 3_600_000;
const DAY_MS = 86_400_000;

/** Trimmed, NFKC-normalised, lower-cased: `Alice`, ` alice` and `ａｌｉｃｅ` are one user. */
export function normaliseUsername(raw: string): string {
  return raw.normalize('NFKC').trim().toLowerCase();
}

export function severityFor(observed: number, threshold: number): Severity {
  const ratio = observed / threshold;
  if (ratio >= 10) return 'critical';
  if (ratio >= 3) return 'high';
  return 'medium';
}

function atLeast(severity: Severity, floor: Severity): Severity {
  return SEVERITIES.indexOf(severity) >= SEVERITIES.indexOf(floor) ? severity : floor;
}

/** The login attempt an entry records: who tried, and whether it was refused. */
export function loginAttempt(entry: ScannedEntry): { subject: Subject; failed: boolean } | undefined {
  const m = entry.path ? LOGIN_PATH.exec(entry.path) : null;
  if (!m) return undefined;
  const failed = entry.status !== null && FAILED_LOGIN_STATUSES.has(entry.status);
  if (m[2] !== undefined) {
    const user = normaliseUsername(m[2]);
    return user === '' ? undefined : { subject: { type: 'user', id: user }, failed };
  }
  if (entry.roleId) return { subject: { type: 'approle_role', id: entry.roleId, identifier: 'role_id' }, failed };
  return undefined;
}

/** The user a token was issued to, from its display name (`userpass-alice` → `alice`). */
export function userOfDisplayName(displayName: string | null): string | undefined {
  if (!displayName) return undefined;
  const prefix = USER_DISPLAY_PREFIXES.find((p) => displayName.startsWith(p));
  const user = prefix ? normaliseUsername(displayName.slice(prefix.length)) : '';
  return user === '' ? undefined : user;
}

/** Every subject an entry counts for: the token, the user, the AppRole role. */
export function subjectsOf(entry: ScannedEntry): Subject[] {
  const subjects: Subject[] = [];
  if (entry.actorId) subjects.push({ type: 'token_accessor', id: entry.actorId });
  const login = loginAttempt(entry);
  const user = userOfDisplayName(entry.actorName) ?? (login?.subject.type === 'user' ? login.subject.id : undefined);
  if (user) subjects.push({ type: 'user', id: user });
  if (entry.roleName) subjects.push({ type: 'approle_role', id: entry.roleName, identifier: 'role_name' });
  else if (login?.subject.type === 'approle_role') subjects.push(login.subject);
  return subjects;
}

const subjectKey = (s: Subject) => `${s.type}\u0000${s.id}`;
const alignedStart = (time: Date, periodMs: number) => Math.floor(time.getTime() / periodMs) * periodMs;

/** One subject's entries in one window. */
export interface SubjectWindow {
  subject: Subject;
  windowStart: number;
  requests: number;
  errors: number;
  failedLogins: number;
  sources: Set<string>;
  unreadableSources: number;
  firstSequence: number;
  lastSequence: number;
}

/** One subject's entries in one UTC hour (the unit of the activity history). */
export interface HourActivity {
  subject: Subject;
  hourStart: number;
  entries: number;
  firstSequence: number;
  lastSequence: number;
}

/** Counts entries per subject and window, and per subject and hour. */
export class WindowAccumulator {
  private readonly windowMap = new Map<string, SubjectWindow>();
  private readonly hourMap = new Map<string, HourActivity>();

  constructor(private readonly windowSeconds: number) {}

  add(entry: ScannedEntry): void {
    const windowStart = alignedStart(entry.time, this.windowSeconds * 1000);
    const hourStart = alignedStart(entry.time, HOUR_MS);
    const login = loginAttempt(entry);
    for (const subject of subjectsOf(entry)) {
      const key = `${subjectKey(subject)}\u0000${windowStart}`;
      let w = this.windowMap.get(key);
      if (!w)
        this.windowMap.set(
          key,
          (w = {
            subject,
            windowStart,
            requests: 0,
            errors: 0,
            failedLogins: 0,
            sources: new Set(),
            unreadableSources: 0,
            firstSequence: entry.sequence,
            lastSequence: entry.sequence,
          }),
        );
      w.requests++;
      // A refused login is brute force's evidence, not the error rate's (one signal, one anomaly).
      if (login?.failed) {
        if (subjectKey(login.subject) === subjectKey(subject)) w.failedLogins++;
      } else if (entry.status !== null && entry.status >= 400) w.errors++;
      if (entry.sourceAddress !== undefined) w.sources.add(entry.sourceAddress);
      else w.unreadableSources++;
      w.firstSequence = Math.min(w.firstSequence, entry.sequence);
      w.lastSequence = Math.max(w.lastSequence, entry.sequence);

      const hourKey = `${subjectKey(subject)}\u0000${hourStart}`;
      let h = this.hourMap.get(hourKey);
      if (!h) this.hourMap.set(hourKey, (h = { subject, hourStart, entries: 0, firstSequence: entry.sequence, lastSequence: entry.sequence }));
      h.entries++;
      h.firstSequence = Math.min(h.firstSequence, entry.sequence);
      h.lastSequence = Math.max(h.lastSequence, entry.sequence);
    }
  }

  windows(): SubjectWindow[] {
    return [...this.windowMap.values()];
  }

  hours(): HourActivity[] {
    return [...this.hourMap.values()];
  }
}

/** The rate, error, address and brute-force anomalies of one subject's window. */
export function detectWindow(w: SubjectWindow, t: DetectorThresholds): AnomalyCandidate[] {
  const base = {
    subject: w.subject,
    windowStart: new Date(w.windowStart),
    windowEnd: new Date(w.windowStart + t.windowSeconds * 1000),
    firstSequence: w.firstSequence,
    lastSequence: w.lastSequence,
  };
  const found: AnomalyCandidate[] = [];
  if (w.requests >= t.requestRate) {
    found.push({
      ...base,
      kind: 'request_rate',
      severity: severityFor(w.requests, t.requestRate),
      observed: w.requests,
      threshold: t.requestRate,
      details: { requests: w.requests },
    });
  }
  const errorShare = w.errors / w.requests;
  if (w.errors >= t.errorMinErrors && errorShare >= t.errorMinShare) {
    found.push({
      ...base,
      kind: 'error_rate',
      severity: severityFor(w.errors, t.errorMinErrors),
      observed: w.errors,
      threshold: t.errorMinErrors,
      details: { requests: w.requests, errors: w.errors, error_share: Math.round(errorShare * 1000) / 1000, min_share: t.errorMinShare },
    });
  }
  if (w.sources.size >= t.sourceIps) {
    found.push({
      ...base,
      kind: 'source_ips',
      severity: severityFor(w.sources.size, t.sourceIps),
      observed: w.sources.size,
      threshold: t.sourceIps,
      details: { distinct_sources: w.sources.size, unreadable_sources: w.unreadableSources, requests: w.requests },
    });
  }
  if (w.failedLogins >= t.loginFailures) {
    found.push({
      ...base,
      kind: 'login_bruteforce',
      severity: atLeast(severityFor(w.failedLogins, t.loginFailures), 'high'),
      observed: w.failedLogins,
      threshold: t.loginFailures,
      details: { failed_logins: w.failedLogins, attempts: w.requests },
    });
  }
  return found.map((c) => (w.subject.identifier ? { ...c, details: { ...c.details, identifier: w.subject.identifier } } : c));
}

/** A subject's recorded activity: entries per UTC hour (hour start in ms). */
export interface HistoryHour {
  hourStart: number;
  entries: number;
}

/**
 * Activity in a UTC hour of day in which the subject had none over the lookback before that hour,
 * once the subject has enough history there (entries and distinct days) for "none" to mean something.
 * `entriesThisHour` is every entry of the subject in the hour so far (other runs included).
 */
export function detectUnusualHour(
  activity: HourActivity,
  entriesThisHour: number,
  history: HistoryHour[],
  t: DetectorThresholds,
): AnomalyCandidate | undefined {
  const from = activity.hourStart - t.unusualHoursLookbackSeconds * 1000;
  const before = history.filter((h) => h.hourStart >= from && h.hourStart < activity.hourStart && h.entries > 0);
  const historyEntries = before.reduce((sum, h) => sum + h.entries, 0);
  const historyDays = new Set(before.map((h) => Math.floor(h.hourStart / DAY_MS))).size;
  if (historyEntries < t.unusualHoursMinEntries || historyDays < t.unusualHoursMinDays) return undefined;
  const hourOfDay = new Date(activity.hourStart).getUTCHours();
  const usualHours = [...new Set(before.map((h) => new Date(h.hourStart).getUTCHours()))].sort((a, b) => a - b);
  if (usualHours.includes(hourOfDay)) return undefined;
  return {
    kind: 'unusual_hours',
    subject: activity.subject,
    severity: 'low',
    windowStart: new Date(activity.hourStart),
    windowEnd: new Date(activity.hourStart + HOUR_MS),
    observed: entriesThisHour,
    threshold: 0,
    details: {
      hour_utc: hourOfDay,
      usual_hours_utc: usualHours,
      history_entries: historyEntries,
      history_days: historyDays,
      lookback_seconds: t.unusualHoursLookbackSeconds,
      ...(activity.subject.identifier ? { identifier: activity.subject.identifier } : {}),
    },
    firstSequence: activity.firstSequence,
    lastSequence: activity.lastSequence,
  };
}
