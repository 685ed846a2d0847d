import {
  detectUnusualHour,
  detectWindow,
  loginAttempt,
  normaliseUsername,
  severityFor,
  subjectsOf,
  userOfDisplayName,
  WindowAccumulator,
  type DetectorThresholds,
  type ScannedEntry,
} from './anomaly-detectors';

const T: DetectorThresholds = {
  windowSeconds: 300,
  requestRate: 10,
  errorMinErrors: 4,
  errorMinShare: 0.5,
  sourceIps: 3,
  loginFailures: 5,
  unusualHoursLookbackSeconds: 14 * 86400,
  unusualHoursMinEntries: 50,
  unusualHoursMinDays: 3,
};
const BASE = Date.UTC(2026, 10, 20, 10, 0, 0);
let seq = 0;

function entry(over: Partial<ScannedEntry> = {}): ScannedEntry {
  return {
    sequence: ++seq,
    time: new Date(BASE + 1000),
    actorId: 'hmac-sha256:acc',
    actorName: 'token',
    path: 'secret/data/x',
    status: 200,
    roleName: null,
    roleId: null,
    sourceAddress: '192.0.2.1',
    ...over,
  };
}

function windowsOf(entries: ScannedEntry[]) {
  const acc = new WindowAccumulator(T.windowSeconds);
  entries.forEach((e) => acc.add(e));
  return acc.windows();
}

const kinds = (entries: ScannedEntry[]) =>
  windowsOf(entries).flatMap((w) => detectWindow(w, T).map((c) => `${c.kind}:${c.subject.type}:${c.subject.id}:${c.severity}`));

describe('anomaly detectors', () => {
  it('normalises user names: trimmed, NFKC, lower-cased', () => {
    expect(normaliseUsername(' Alice ')).toBe('alice');
    expect(normaliseUsername('ＡＬＩＣＥ')).toBe('alice');
    expect(normaliseUsername('\u3000alice')).toBe('alice');
    expect(userOfDisplayName('userpass-Alice')).toBe('alice');
    expect(userOfDisplayName('ldap-bob')).toBe('bob');
    expect(userOfDisplayName('token')).toBeUndefined();
    expect(userOfDisplayName('userpass-')).toBeUndefined();
  });

  it('finds the subjects of an entry: token accessor, user from display name or login path, AppRole role', () => {
    expect(subjectsOf(entry({ actorName: 'userpass-alice' }))).toEqual([
      { type: 'token_accessor', id: 'hmac-sha256:acc' },
      { type: 'user', id: 'alice' },
    ]);
    expect(subjectsOf(entry({ actorId: null, actorName: null, path: 'auth/userpass/login/ Alice', status: 400 }))).toEqual([{ type: 'user', id: 'alice' }]);
    expect(subjectsOf(entry({ actorId: null, actorName: null, path: 'auth/approle/login', roleId: 'hmac-sha256:rid' }))).toEqual([
      { type: 'approle_role', id: 'hmac-sha256:rid', identifier: 'role_id' },
    ]);
    expect(subjectsOf(entry({ roleName: 'hmac-sha256:rn', actorName: 'approle' }))).toEqual([
      { type: 'token_accessor', id: 'hmac-sha256:acc' },
      { type: 'approle_role', id: 'hmac-sha256:rn', identifier: 'role_name' },
    ]);
    expect(loginAttempt(entry({ path: 'auth/corp/ldap/login/bob', status: 403 }))).toEqual({ subject: { type: 'user', id: 'bob' }, failed: true });
    expect(loginAttempt(entry({ path: 'auth/userpass/login/alice', status: 200 }))?.failed).toBe(false);
    expect(loginAttempt(entry({ path: 'auth/approle/login' }))).toBeUndefined(); // no role_id: no subject
    expect(loginAttempt(entry({ path: 'auth/userpass/users/alice' }))).toBeUndefined();
    expect(loginAttempt(entry({ path: 'secret/data/login/alice' }))).toBeUndefined();
  });

  it('request rate fires at the threshold, not below; severity bands by multiples of the threshold', () => {
    expect(kinds(Array.from({ length: 9 }, () => entry()))).toEqual([]);
    expect(kinds(Array.from({ length: 10 }, () => entry()))).toEqual(['request_rate:token_accessor:hmac-sha256:acc:medium']);
    expect(severityFor(29, 10)).toBe('medium');
    expect(severityFor(30, 10)).toBe('high');
    expect(severityFor(99, 10)).toBe('high');
    expect(severityFor(100, 10)).toBe('critical');
  });

  it('counts per aligned window: the same number of requests spread over two windows does not fire', () => {
    const split = [
      ...Array.from({ length: 5 }, () => entry({ time: new Date(BASE + 299_000) })),
      ...Array.from({ length: 5 }, () => entry({ time: new Date(BASE + 300_000) })),
    ];
    expect(kinds(split)).toEqual([]);
    const w = windowsOf([entry({ time: new Date(BASE + 299_999) })])[0];
    expect(detectWindow({ ...w, requests: 10 }, T)[0]).toMatchObject({ windowStart: new Date(BASE), windowEnd: new Date(BASE + 300_000) });
  });

  it('error rate needs both the minimum count and the minimum share', () => {
    const errors = (n: number) => Array.from({ length: n }, () => entry({ status: 403 }));
    const oks = (n: number) => Array.from({ length: n }, () => entry({ status: 200 }));
    expect(kinds([...errors(3), ...oks(1)])).toEqual([]); // share 0.75, count below 4
    expect(kinds([...errors(4), ...oks(5)])).toEqual([]); // count 4, share 0.44
    const found = windowsOf([...errors(4), ...oks(4)]).flatMap((w) => detectWindow(w, T));
    expect(found).toHaveLength(1);
    expect(found[0]).toMatchObject({
      kind: 'error_rate',
      severity: 'medium',
      observed: 4,
      threshold: 4,
      details: { requests: 8, errors: 4, error_share: 0.5 },
    });
  });

  it('source addresses: distinct ones counted, unreadable ones (shredded months) only reported', () => {
    const from = (addresses: (string | undefined)[]) => addresses.map((a) => entry({ sourceAddress: a }));
    expect(kinds(from(['192.0.2.1', '192.0.2.1', '192.0.2.2', undefined, undefined]))).toEqual([]);
    const found = windowsOf(from(['192.0.2.1', '192.0.2.2', '192.0.2.3', undefined])).flatMap((w) => detectWindow(w, T));
    expect(found).toEqual([expect.objectContaining({ kind: 'source_ips', observed: 3, details: { distinct_sources: 3, unreadable_sources: 1, requests: 4 } })]);
    expect(JSON.stringify(found)).not.toContain('192.0.2');
  });

  it('brute force: failed logins of one normalised user, starting at high; successes and other users do not count', () => {
    const fail = (name: string) => entry({ actorId: null, actorName: null, path: `auth/userpass/login/${name}`, status: 400 });
    expect(
      kinds([
        fail('alice'),
        fail('Alice'),
        fail(' alice'),
        fail('ALICE'),
        entry({ actorId: null, actorName: null, path: 'auth/userpass/login/alice', status: 200 }),
        fail('bob'),
      ]),
    ).toEqual([]);
    const found = windowsOf([fail('alice'), fail('Alice'), fail(' alice'), fail('ALICE'), fail('alice\u3000')]).flatMap((w) => detectWindow(w, T));
    expect(found).toEqual([
      expect.objectContaining({ kind: 'login_bruteforce', subject: { type: 'user', id: 'alice' }, severity: 'high', observed: 5, threshold: 5 }),
    ]);
    const many = windowsOf(Array.from({ length: 50 }, () => fail('alice'))).flatMap((w) => detectWindow(w, T));
    expect(many.find((c) => c.kind === 'login_bruteforce')?.severity).toBe('critical');
    const roles = windowsOf(
      Array.from({ length: 5 }, () => entry({ actorId: null, actorName: null, path: 'auth/approle/login', status: 400, roleId: 'hmac-sha256:rid' })),
    ).flatMap((w) => detectWindow(w, T));
    expect(roles.find((c) => c.kind === 'login_bruteforce')).toMatchObject({
      subject: { type: 'approle_role', id: 'hmac-sha256:rid' },
      details: { identifier: 'role_id' },
    });
  });

  it('unusual hours: needs enough history (entries and days), then fires only for an hour of day never seen in the lookback', () => {
    const day = 86_400_000;
    const hour = 3_600_000;
    const at3 = { subject: { type: 'user' as const, id: 'alice' }, hourStart: BASE - 7 * hour, entries: 2, firstSequence: 7, lastSequence: 8 }; // 03:00 UTC
    const officeHours = (days: number, perHour: number) =>
      Array.from({ length: days }, (_, d) => [9, 10, 11].map((h) => ({ hourStart: BASE - (d + 1) * day + (h - 10) * hour, entries: perHour }))).flat();
    expect(detectUnusualHour(at3, 2, officeHours(2, 20), T)).toBeUndefined(); // 120 entries, 2 days only
    expect(detectUnusualHour(at3, 2, officeHours(5, 3), T)).toBeUndefined(); // 5 days, 45 entries only
    const found = detectUnusualHour(at3, 2, officeHours(5, 4), T);
    expect(found).toMatchObject({
      kind: 'unusual_hours',
      severity: 'low',
      observed: 2,
      windowStart: new Date(at3.hourStart),
      windowEnd: new Date(at3.hourStart + hour),
      details: { hour_utc: 3, usual_hours_utc: [9, 10, 11], history_entries: 60, history_days: 5 },
    });
    const seenAt3 = [...officeHours(5, 4), { hourStart: at3.hourStart - 3 * day, entries: 1 }];
    expect(detectUnusualHour(at3, 2, seenAt3, T)).toBeUndefined();
    // History older than the lookback does not count.
    const old = officeHours(5, 4).map((h) => ({ ...h, hourStart: h.hourStart - 20 * day }));
    expect(detectUnusualHour(at3, 2, old, T)).toBeUndefined();
  });
});
