/**
 * Password policies (sys/policies/password) on a real kernel and PostgreSQL, through the audited
 * pipeline: Vault's shapes and status codes, the write-time checks, the ACL on the paths, the
 * service engines call (kernel.passwordPolicies), and generated passwords kept out of the audit log.
 */
import { parsePasswordPolicy, satisfiesPasswordPolicy } from '../../src/kernel/password-policy/password-policy';
import { ApiError } from '../../src/kernel/errors';
import { openAuditedKernel, type Call } from '../support/audit';
import type { TestKernel } from '../support/kernel';

jest.setTimeout(120_000);

/** Vault's documented example. */
const POLICY = `length = 20
rule "charset" {
  charset = "abcdefghijklmnopqrstuvwxyz"
  min-chars = 1
}
rule "charset" {
  charset = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
  min-chars = 1
}
rule "charset" {
  charset = "0123456789"
  min-chars = 1
}
rule "charset" {
  charset = "!@#$%^&*STUVWXYZ"
  min-chars = 2
}
`;

describe('password policies (medium)', () => {
  let k: TestKernel;
  let call: Call;
  beforeAll(async () => {
    ({ k, call } = await openAuditedKernel({ databaseDevice: true }));
  });
  afterAll(async () => k.close());

  const put = (name: string, policy: unknown) => call('PUT', `sys/policies/password/${name}`, { policy });
  const errorsOf = async (res: Promise<{ status: number; json: Record<string, unknown> }>) => {
    const r = await res;
    return { status: r.status, errors: r.json.errors };
  };

  it('write, read, list, generate and delete, in Vault’s shapes', async () => {
    // LIST (the HTTP layer's verb) arrives as GET ?list=true; an empty list is Vault's 404.
    expect((await call('GET', 'sys/policies/password?list=true')).status).toBe(404);
    expect((await put('app', POLICY)).status).toBe(204);
    const read = await call('GET', 'sys/policies/password/app');
    expect(read.status).toBe(200);
    expect(read.json.data).toEqual({ policy: POLICY });
    // POST is a write too.
    expect((await call('POST', 'sys/policies/password/other', { policy: 'length = 8\nrule "charset" { charset = "abc" }' })).status).toBe(204);
    expect((await call('GET', 'sys/policies/password?list=true')).json.data).toEqual({ keys: ['app', 'other'] });

    const parsed = parsePasswordPolicy(POLICY);
    const seen = new Set<string>();
    for (let i = 0; i < 25; i++) {
      const res = await call('GET', 'sys/policies/password/app/generate');
      expect(res.status).toBe(200);
      const password = res.json.data.password as string;
      expect(password).toHaveLength(20);
      expect(satisfiesPasswordPolicy(parsed, password)).toBe(true);
      seen.add(password);
    }
    expect(seen.size).toBe(25);

    expect((await call('DELETE', 'sys/policies/password/other')).status).toBe(204);
    expect(await errorsOf(call('GET', 'sys/policies/password/other'))).toEqual({ status: 404, errors: ['policy does not exist'] });
    expect((await call('GET', 'sys/policies/password?list=true')).json.data.keys).toEqual(['app']);
    const rows: { name: string; policy: string }[] = await k.dataSource.query('SELECT name, policy FROM password_policies ORDER BY name');
    expect(rows).toEqual([{ name: 'app', policy: POLICY }]);
  });

  it('accepts base64 and JSON documents; names are case-sensitive', async () => {
    expect((await put('b64', Buffer.from(POLICY).toString('base64'))).status).toBe(204);
    expect((await call('GET', 'sys/policies/password/b64')).json.data.policy).toBe(POLICY);
    const json = JSON.stringify({ length: 12, rule: [{ charset: [{ charset: '0123456789', 'min-chars': 12 }] }] });
    expect((await put('PIN', json)).status).toBe(204);
    expect((await call('GET', 'sys/policies/password/PIN/generate')).json.data.password).toMatch(/^[0-9]{12}$/);
    expect((await call('GET', 'sys/policies/password/pin/generate')).status).toBe(404);
  });

  it('refuses bad documents with 400 and Vault’s messages, and stores nothing', async () => {
    const cases: [unknown, string][] = [
      [undefined, 'missing policy'],
      ['', 'missing policy'],
      ['length = 20\nrule "charset" {', 'invalid password policy: unable to decode'],
      [
        'length = 20\nrule "charset" {\n charset = "abc"\n min_chars = 1\n}',
        'invalid password policy: rule "charset": unknown key "min_chars" (expected charset, min-chars)',
      ],
      ['length = 20', 'invalid password policy: no charset specified'],
      ['length = 20\nrule "charset" { charset = "" }', 'invalid password policy: rule "charset": charset must be a non-empty string'],
      ['length = 2\nrule "charset" { charset = "abc" }', 'passwords must be between 4 and 100 characters'],
      ['length = 500\nrule "charset" { charset = "abc" }', 'passwords must be between 4 and 100 characters'],
      [
        'length = 4\nrule "charset" {\n charset = "abc"\n min-chars = 5\n}',
        'invalid password policy: specified rules require at least 5 characters but 4 is specified',
      ],
      // Parses, but 95 of 100 characters must come from a 1-in-91 charset: impossible in practice.
      [
        'length = 100\nrule "charset" { charset = "bcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789!#$%&()*+,-./:;<=>?@[]^_{|}~" }\nrule "charset" {\n charset = "a"\n min-chars = 95\n}',
        'unable to generate password from provided policy: are the rules impossible?',
      ],
    ];
    for (const [policy, message] of cases) {
      const res = await errorsOf(call('PUT', 'sys/policies/password/bad', policy === undefined ? {} : { policy }));
      expect(res.status).toBe(400);
      expect((res.errors as string[])[0]).toContain(message);
    }
    expect((await call('GET', 'sys/policies/password/bad')).status).toBe(404);
    // A refused rewrite leaves the stored document alone.
    expect((await put('app', 'length = 1')).status).toBe(400);
    expect((await call('GET', 'sys/policies/password/app')).json.data.policy).toBe(POLICY);
  });

  it('unknown policies: read and generate are 404 (Vault’s), delete is 204; names are one segment', async () => {
    expect(await errorsOf(call('GET', 'sys/policies/password/nope/generate'))).toEqual({ status: 404, errors: ['policy does not exist'] });
    expect(await errorsOf(call('GET', 'sys/policies/password/nope'))).toEqual({ status: 404, errors: ['policy does not exist'] });
    expect((await call('DELETE', 'sys/policies/password/nope')).status).toBe(204);
    expect((await call('PUT', 'sys/policies/password/a/b', { policy: POLICY })).status).toBe(404);
    expect((await call('GET', 'sys/policies/password')).status).toBe(405);
  });

  it('the ACL judges sys/policies/password/<name> and .../generate like any path', async () => {
    const acl = 'path "sys/policies/password/app/generate" { capabilities = ["read"] }';
    expect((await call('PUT', 'sys/policies/acl/pw-user', { policy: acl })).status).toBe(204);
    const token = (await call('PUT', 'auth/token/create', { policies: ['pw-user'] })).json.auth.client_token as string;
    expect((await call('GET', 'sys/policies/password/app/generate', undefined, token)).status).toBe(200);
    expect((await call('GET', 'sys/policies/password/b64/generate', undefined, token)).status).toBe(403);
    expect((await call('GET', 'sys/policies/password/app', undefined, token)).status).toBe(403);
    expect((await call('PUT', 'sys/policies/password/app', { policy: 'length = 4\nrule "charset" { charset = "a" }' }, token)).status).toBe(403);
    expect((await call('DELETE', 'sys/policies/password/app', undefined, token)).status).toBe(403);
    expect((await call('GET', 'sys/policies/password?list=true', undefined, token)).status).toBe(403);
    expect((await call('GET', 'sys/policies/password/app')).json.data.policy).toBe(POLICY);
  });

  it('engines call kernel.passwordPolicies.generate; an unknown policy is a 400', async () => {
    const parsed = parsePasswordPolicy(POLICY);
    for (let i = 0; i < 20; i++) expect(satisfiesPasswordPolicy(parsed, await k.passwordPolicies.generate('app'))).toBe(true);
    await expect(k.passwordPolicies.generate('nope')).rejects.toMatchObject({ status: 400, errors: ['no password policy found ("nope")'] });
    await expect(k.passwordPolicies.generate('')).rejects.toBeInstanceOf(ApiError);
    // A write on the API is seen by the next generation (no stale cache).
    expect((await put('app', 'length = 6\nrule "charset" {\n charset = "x"\n min-chars = 6\n}')).status).toBe(204);
    expect(await k.passwordPolicies.generate('app')).toBe('xxxxxx');
    expect((await put('app', POLICY)).status).toBe(204);
    // A stored document the parser no longer accepts is a 500, never a guessed password.
    await k.dataSource.query("UPDATE password_policies SET policy = 'length = 1' WHERE name = 'b64'");
    await expect(k.passwordPolicies.generate('b64')).rejects.toMatchObject({ status: 500, errors: ['stored password policy configuration failed to parse'] });
  });

  it('generated passwords reach the audit log only as HMACs', async () => {
    const password = (await call('GET', 'sys/policies/password/app/generate')).json.data.password as string;
    const audit: { text: string }[] = await k.dataSource.query("SELECT string_agg(encode(entry_bytes, 'escape'), '') AS text FROM audit_logs");
    expect(audit[0].text).toContain('sys/policies/password/app/generate');
    expect(audit[0].text).not.toContain(password);
  });
});
