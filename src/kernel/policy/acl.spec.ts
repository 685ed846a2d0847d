import fc from 'fast-check';
import { Acl, type AclOperation, type MatchStats } from './acl';
import { parsePolicy, PolicyParseError } from './policy-parser';

const acl = (...texts: string[]) => new Acl(texts.map((t, i) => ({ name: `p${i}`, rules: parsePolicy(t).rules })));
const can = (a: Acl, path: string, operation: AclOperation, extra: Record<string, unknown> = {}) => a.allowOperation({ path, operation, ...extra }).allowed;

describe('policy parser', () => {
  it('reads HCL and JSON with Vault validation messages', () => {
    expect(parsePolicy('path "secret/*" { capabilities = ["read", "list"] }').rules[0]).toMatchObject({ pattern: 'secret/*', capabilities: ['read', 'list'] });
    expect(parsePolicy('{"path": {"a/b": {"capabilities": ["update"]}}}').rules[0].pattern).toBe('a/b');
    expect(parsePolicy('path "x" { policy = "write" }').rules[0].capabilities).toEqual(['create', 'read', 'update', 'delete', 'list']);
    expect(parsePolicy('path "x" { capabilities = ["read", "deny"] }').rules[0].capabilities).toEqual(['deny']);
    expect(() => parsePolicy('path "x" { capabilities = ["fly"] }')).toThrow('path "x": invalid capability (expected one of');
    expect(() => parsePolicy('path "x" { colour = "red" }')).toThrow('path "x": invalid key "colour"');
    expect(() => parsePolicy('path "x/+*" { capabilities = ["read"] }')).toThrow("'+*' is forbidden");
    expect(() => parsePolicy('path "x" { policy = "maybe" }')).toThrow('invalid policy');
    expect(() => parsePolicy('nonsense {')).toThrow(PolicyParseError);
  });

  it('keeps repeated path blocks and parameter maps in both HCL forms', () => {
    const p = parsePolicy(`
      path "a" { capabilities = ["read"] }
      path "a" { capabilities = ["list"] }
      path "b" {
        capabilities = ["create"]
        allowed_parameters = { "Foo" = [], "bar" = ["zip", "zap"] }
        denied_parameters { "baz" = [] }
        required_parameters = ["foo"]
        min_wrapping_ttl = "1s"
        max_wrapping_ttl = 90
      }`);
    expect(p.rules.filter((r) => r.pattern === 'a')).toHaveLength(2);
    const b = p.rules.find((r) => r.pattern === 'b');
    expect(b).toMatchObject({
      allowedParameters: { foo: [], bar: ['zip', 'zap'] },
      deniedParameters: { baz: [] },
      requiredParameters: ['foo'],
      minWrappingTtl: 1,
      maxWrappingTtl: 90,
    });
  });
});

describe('ACL matching', () => {
  // Vault's documented examples and priority rules.
  it.each([
    ['secret/foo*', 'secret/foobar', true],
    ['secret/bar/*', 'secret/bar/zip/zap', true],
    ['secret/bar/*', 'secret/bars/zip', false],
    ['secret/+/teamb', 'secret/x/teamb', true],
    ['secret/+/teamb', 'secret/x/y/teamb', false],
    ['secret/+/+/foo/*', 'secret/a/b/foo/c', true],
  ])('%s matches %s: %s', (pattern, path, expected) => {
    expect(can(acl(`path "${pattern}" { capabilities = ["read"] }`), path, 'read')).toBe(expected);
  });

  it('precedence: exact beats glob; secret/* beats secret/+/+/foo/* (fewer +); later wildcard wins', () => {
    const a = acl(
      'path "secret/*" { capabilities = ["read"] }',
      'path "secret/+/+/foo/*" { capabilities = ["deny"] }',
      'path "secret/exact" { capabilities = ["deny"] }',
      'path "secret/team/*" { capabilities = ["deny"] }',
    );
    expect(can(a, 'secret/a/b/foo/c', 'read')).toBe(true);
    expect(can(a, 'secret/exact', 'read')).toBe(false);
    expect(can(a, 'secret/team/x', 'read')).toBe(false);
    expect(can(a, 'secret/other', 'read')).toBe(true);
    const b = acl('path "secret/+/foo" { capabilities = ["read"] }', 'path "secret/*" { capabilities = ["deny"] }');
    // first wildcard: "+" at 7 vs "*" at 7 → equal; "secret/*" ends in * → lower priority.
    expect(can(b, 'secret/x/foo', 'read')).toBe(true);
  });

  it('different patterns never merge: a broad deny does not override an exact allow', () => {
    const a = acl('path "secret/*" { capabilities = ["deny"] }', 'path "secret/foo" { capabilities = ["read"] }');
    expect(can(a, 'secret/foo', 'read')).toBe(true);
    expect(can(a, 'secret/bar', 'read')).toBe(false);
  });

  it('same pattern in several policies merges; deny wins', () => {
    expect(can(acl('path "a" { capabilities = ["read"] }', 'path "a" { capabilities = ["update"] }'), 'a', 'update')).toBe(true);
    const d = acl('path "a" { capabilities = ["read"] }', 'path "a" { capabilities = ["deny"] }');
    expect(can(d, 'a', 'read')).toBe(false);
  });

  it('list on kv/metadata/* with deny on kv/metadata/private/* → LIST kv/metadata/private/ is denied', () => {
    const a = acl('path "kv/metadata/*" { capabilities = ["list"] }', 'path "kv/metadata/private/*" { capabilities = ["deny"] }');
    expect(can(a, 'kv/metadata/', 'list')).toBe(true);
    expect(can(a, 'kv/metadata/public/', 'list')).toBe(true);
    expect(can(a, 'kv/metadata/private/', 'list')).toBe(false);
    expect(can(a, 'kv/metadata/private/x/', 'list')).toBe(false);
  });

  it('operations need their capability; sudo is an extra requirement on sudo paths', () => {
    const a = acl('path "sys/rotate" { capabilities = ["update"] }', 'path "sys/seal" { capabilities = ["update", "sudo"] }');
    expect(can(a, 'sys/rotate', 'update')).toBe(true);
    expect(can(a, 'sys/rotate', 'update', { sudoRequired: true })).toBe(false);
    expect(can(a, 'sys/seal', 'update', { sudoRequired: true })).toBe(true);
    expect(a.allowOperation({ path: 'sys/seal', operation: 'update' }).sudo).toBe(true);
    expect(a.allowOperation({ path: 'sys/rotate', operation: 'update' }).sudo).toBe(false);
    expect(can(a, 'sys/seal', 'read')).toBe(false);
    expect(can(a, 'sys/nothing', 'read')).toBe(false);
  });

  it('parameters: required, allowed with values and globs, denied with list values and case variants', () => {
    const a = acl(`path "auth/token/create" {
      capabilities = ["update"]
      allowed_parameters = { "policies" = ["dev-*", "web"], "ttl" = [] }
      denied_parameters = { "policies" = ["root", "admin"] }
    }`);
    const ok = (data: Record<string, unknown>) => can(a, 'auth/token/create', 'update', { data });
    expect(ok({ policies: ['web', 'dev-1'], ttl: '1h' })).toBe(true);
    expect(ok({ policies: 'web,dev-x' })).toBe(true);
    expect(ok({ policies: ['web', 'root'] })).toBe(false);
    expect(ok({ policies: 'web,root' })).toBe(false);
    expect(ok({ policies: ['ROOT'] })).toBe(false);
    expect(ok({ Policies: ['Admin'] })).toBe(false);
    expect(ok({ policies: ['ops'] })).toBe(false);
    expect(ok({ num_uses: 1 })).toBe(false);
    const r = acl('path "x" { capabilities = ["create"]\n required_parameters = ["name"] }');
    expect(can(r, 'x', 'create', { data: { Name: 'a' } })).toBe(true);
    expect(can(r, 'x', 'create', { data: {} })).toBe(false);
    const d = acl('path "x" { capabilities = ["create"]\n denied_parameters = { "*" = [] } }');
    expect(can(d, 'x', 'create', { data: { a: 1 } })).toBe(false);
    expect(can(d, 'x', 'create', { data: {} })).toBe(true);
  });

  it('wrapping TTL bounds', () => {
    const a = acl('path "x" { capabilities = ["read"]\n min_wrapping_ttl = "1s"\n max_wrapping_ttl = "90s" }');
    expect(can(a, 'x', 'read')).toBe(false);
    expect(can(a, 'x', 'read', { wrapTtl: 60 })).toBe(true);
    expect(can(a, 'x', 'read', { wrapTtl: 120 })).toBe(false);
    expect(can(a, 'x', 'read', { wrapTtl: 90 })).toBe(true);
    expect(a.allowOperation({ path: 'x', operation: 'read' }).reason).toBe('response wrapping required by min/max_wrapping_ttl');
    // Either limit alone requires wrapping (Vault: a nil WrapInfo fails both checks).
    expect(can(acl('path "x" { capabilities = ["read"]\n max_wrapping_ttl = "90s" }'), 'x', 'read')).toBe(false);
    expect(can(acl('path "x" { capabilities = ["read"]\n min_wrapping_ttl = "10s" }'), 'x', 'read', { wrapTtl: 5 })).toBe(false);
    expect(can(acl('path "x" { capabilities = ["read"]\n min_wrapping_ttl = "10s" }'), 'x', 'read', { wrapTtl: 3600 })).toBe(true);
  });

  it('merged wrapping TTL bounds: the smaller non-zero of each limit (Vault), so min > max denies every request', () => {
    const merged = acl(
      'path "x" { capabilities = ["read"]\n max_wrapping_ttl = "10m" }',
      'path "x" { capabilities = ["list"]\n max_wrapping_ttl = "1m"\n min_wrapping_ttl = "30s" }',
    );
    expect(can(merged, 'x', 'read', { wrapTtl: 45 })).toBe(true);
    expect(can(merged, 'x', 'read', { wrapTtl: 120 })).toBe(false);
    expect(can(merged, 'x', 'read', { wrapTtl: 20 })).toBe(false);
    const crossed = acl('path "x" { capabilities = ["read"]\n min_wrapping_ttl = "5m" }', 'path "x" { capabilities = ["read"]\n max_wrapping_ttl = "1m" }');
    for (const wrapTtl of [undefined, 30, 60, 120, 300, 600]) expect(can(crossed, 'x', 'read', { wrapTtl })).toBe(false);
    // Different patterns never merge: the deciding rule's limits alone apply.
    const other = acl('path "x/*" { capabilities = ["read"]\n max_wrapping_ttl = "1m" }', 'path "x/y" { capabilities = ["read"] }');
    expect(can(other, 'x/y', 'read')).toBe(true);
    expect(can(other, 'x/z', 'read')).toBe(false);
  });

  it('root stands alone and allows everything', () => {
    expect(
      () =>
        new Acl([
          { name: 'root', rules: [] },
          { name: 'x', rules: [] },
        ]),
    ).toThrow('other policies present along with root');
    expect(new Acl([{ name: 'root', rules: [] }]).allowOperation({ path: 'anything', operation: 'delete' }).allowed).toBe(true);
  });

  it('conditions: source CIDRs, UTC hours, max TTL; the failing condition is named', () => {
    const a = acl(`path "db/creds/app" {
      capabilities = ["read", "update"]
      conditions { source_cidrs = ["10.0.0.0/8", "127.0.0.1/32"]
        hours_utc = "08-18"
        max_ttl = "1h" }
    }`);
    const at = (h: number) => new Date(Date.UTC(2026, 0, 1, h));
    expect(a.allowOperation({ path: 'db/creds/app', operation: 'read', remoteAddress: '10.1.2.3', now: at(9) }).allowed).toBe(true);
    expect(a.allowOperation({ path: 'db/creds/app', operation: 'read', remoteAddress: '::ffff:127.0.0.1', now: at(9) }).allowed).toBe(true);
    const outside = a.allowOperation({ path: 'db/creds/app', operation: 'read', remoteAddress: '192.168.1.1', now: at(9) });
    expect(outside).toMatchObject({ allowed: false, failedCondition: expect.stringContaining('source_cidrs') });
    expect(a.allowOperation({ path: 'db/creds/app', operation: 'read', remoteAddress: '10.0.0.1', now: at(20) }).failedCondition).toContain('hours_utc');
    expect(
      a.allowOperation({ path: 'db/creds/app', operation: 'update', remoteAddress: '10.0.0.1', now: at(9), data: { ttl: '2h' } }).failedCondition,
    ).toContain('max_ttl');
    expect(a.allowOperation({ path: 'db/creds/app', operation: 'update', remoteAddress: '10.0.0.1', now: at(9), data: { ttl: '30m' } }).allowed).toBe(true);
    const night = acl('path "x" { capabilities = ["read"]\n conditions { hours_utc = "22-06" } }');
    expect(night.allowOperation({ path: 'x', operation: 'read', now: at(23) }).allowed).toBe(true);
    expect(night.allowOperation({ path: 'x', operation: 'read', now: at(12) }).allowed).toBe(false);
  });

  it('capabilities lists what the chosen rule grants, in Vault order', () => {
    const a = acl('path "secret/*" { capabilities = ["update", "read", "sudo"] }');
    expect(a.capabilities('secret/x')).toEqual(['sudo', 'read', 'update']);
    expect(a.capabilities('other')).toEqual(['deny']);
  });
});

describe('ACL properties', () => {
  const segment = fc.stringMatching(/^[a-z0-9+*]{1,6}$/);
  const pattern = fc.array(segment, { minLength: 1, maxLength: 5 }).map((s) => s.join('/').replace(/\+\*/g, '+'));
  const caps = fc.subarray(['read', 'list', 'update', 'create', 'delete', 'deny', 'sudo'], { minLength: 1 });

  it('no exception escapes the parser or the evaluator', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 200 }), (text) => {
        try {
          parsePolicy(text);
        } catch (err) {
          expect(err).toBeInstanceOf(PolicyParseError);
        }
      }),
    );
    fc.assert(
      fc.property(
        fc.array(fc.tuple(pattern, caps), { maxLength: 8 }),
        fc.string({ maxLength: 60 }),
        fc.constantFrom<AclOperation>('read', 'list', 'create', 'update', 'delete', 'patch'),
        fc.dictionary(fc.string({ maxLength: 5 }), fc.anything()),
        (rules, path, operation, data) => {
          const text = rules.map(([p, c]) => `path ${JSON.stringify(p)} { capabilities = ${JSON.stringify(c)} }`).join('\n');
          let a: Acl;
          try {
            a = new Acl([{ name: 'p', rules: text ? parsePolicy(text).rules : [] }]);
          } catch (err) {
            expect(err).toBeInstanceOf(PolicyParseError);
            return;
          }
          const d = a.allowOperation({ path, operation, data });
          expect(typeof d.allowed).toBe('boolean');
        },
      ),
    );
  });

  it('matcher work is linear in the path length', () => {
    const a = acl(
      'path "secret/*" { capabilities = ["read"] }',
      'path "secret/+/x/*" { capabilities = ["read"] }',
      'path "+/+/+" { capabilities = ["read"] }',
      'path "secret/exact" { capabilities = ["read"] }',
      'path "kv/data/aaaaaaaa*" { capabilities = ["read"] }',
    );
    const perChar: number[] = [];
    for (const n of [10, 100, 1000, 10_000]) {
      const path = ('kv/data/' + 'a/'.repeat(n)).slice(0, n);
      const stats: MatchStats = { steps: 0 };
      a.allowOperation({ path, operation: 'list' }, stats);
      perChar.push(stats.steps / n);
    }
    // Steps per character stay bounded (by 2 + 2 × the number of "+" rules), whatever the length.
    for (const ratio of perChar) expect(ratio).toBeLessThanOrEqual(2 + 2 * 2 + 1);
  });
});
