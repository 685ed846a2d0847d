import {
  checkPasswordPolicyGenerates,
  generatePassword,
  parsePasswordPolicy,
  PasswordPolicyError,
  satisfiesPasswordPolicy,
  SAMPLE_PASSWORDS,
  type RandomIndex,
} from './password-policy';

/** Vault's documented example: 20 characters, at least one lower, upper, digit and two symbols. */
const VAULT_EXAMPLE = `length = 20
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

const count = (s: string, set: string) => Array.from(s).filter((c) => set.includes(c)).length;

/** Always the same index: a source that makes every candidate identical. */
const constant =
  (i: number): RandomIndex =>
  () =>
    i;

const error = (f: () => unknown): string => {
  try {
    f();
  } catch (err) {
    expect(err).toBeInstanceOf(PasswordPolicyError);
    return (err as Error).message;
  }
  throw new Error('expected a PasswordPolicyError');
};

describe('parsePasswordPolicy', () => {
  it('parses Vault’s example: the alphabet is the de-duplicated union of the charsets', () => {
    const p = parsePasswordPolicy(VAULT_EXAMPLE);
    expect(p.length).toBe(20);
    expect(p.rules.map((r) => r.minChars)).toEqual([1, 1, 1, 2]);
    // 26 + 26 + 10 + 8 symbols (STUVWXYZ are already upper case).
    expect(p.alphabet).toHaveLength(70);
    expect(new Set(p.alphabet).size).toBe(70);
  });

  it('accepts the JSON form, and min-chars defaults to 0', () => {
    const p = parsePasswordPolicy(JSON.stringify({ length: 8, rule: [{ charset: [{ charset: 'abc' }] }, { charset: { charset: '123', 'min-chars': 2 } }] }));
    expect(p.rules).toEqual([
      { charset: ['a', 'b', 'c'], minChars: 0 },
      { charset: ['1', '2', '3'], minChars: 2 },
    ]);
  });

  it('counts code points, not UTF-16 units', () => {
    const p = parsePasswordPolicy('length = 6\nrule "charset" {\n charset = "äö😀"\n min-chars = 1\n}');
    expect(p.alphabet).toEqual(['ä', 'ö', '😀']);
    const pw = generatePassword(p);
    expect(Array.from(pw)).toHaveLength(6);
    expect(satisfiesPasswordPolicy(p, pw)).toBe(true);
  });

  it.each([
    ['', 'invalid password policy: policy document is empty'],
    ['length = 20\nrule "charset" {', 'invalid password policy: unable to decode'],
    ['{"length": ', 'invalid password policy: unable to decode'],
    ['rule "charset" { charset = "abc" }', 'invalid password policy: length is required'],
    ['length = "20"\nrule "charset" { charset = "abc" }', 'length must be a whole number'],
    ['length = 20.5\nrule "charset" { charset = "abc" }', 'length must be a whole number'],
    ['length = 20', 'invalid password policy: no charset specified'],
    ['length = 3\nrule "charset" { charset = "abc" }', 'passwords must be between 4 and 100 characters'],
    ['length = 101\nrule "charset" { charset = "abc" }', 'passwords must be between 4 and 100 characters'],
    ['length = 20\nlenght = 2\nrule "charset" { charset = "abc" }', 'unknown key "lenght"'],
    ['length = 20\nrule "charset" {\n charset = "abc"\n min_chars = 1\n}', 'unknown key "min_chars" (expected charset, min-chars)'],
    ['length = 20\nrule "charset" { min-chars = 1 }', 'charset must be a non-empty string'],
    ['length = 20\nrule "charset" { charset = "" }', 'charset must be a non-empty string'],
    ['length = 20\nrule "charset" {\n charset = "abc"\n min-chars = -1\n}', 'min-chars must be a whole number'],
    ['length = 20\nrule "symbols" { charset = "abc" }', 'unrecognized rule type "symbols"'],
    ['length = 20\nrule "charset" "x" { charset = "abc" }', 'unknown key "x"'],
    ['length = 20\nrule "charset" { charset = "ab\\tc" }', 'non-printable character in charset'],
    [
      'length = 4\nrule "charset" {\n charset = "abc"\n min-chars = 3\n}\nrule "charset" {\n charset = "123"\n min-chars = 2\n}',
      'specified rules require at least 5 characters but 4 is specified',
    ],
  ])('refuses %j', (text, message) => {
    expect(error(() => parsePasswordPolicy(text))).toContain(message);
  });

  it('refuses an alphabet of more than 256 characters (Vault’s limit)', () => {
    const wide = Array.from({ length: 300 }, (_, i) => String.fromCodePoint(0x100 + i)).join('');
    expect(error(() => parsePasswordPolicy(`length = 20\nrule "charset" { charset = "${wide}" }`))).toContain('charset is too long: limited to 256 characters');
  });
});

describe('generatePassword', () => {
  it('over many samples: exact length, alphabet characters only, every rule met', () => {
    const p = parsePasswordPolicy(VAULT_EXAMPLE);
    const seen = new Set<string>();
    for (let i = 0; i < 2000; i++) {
      const pw = generatePassword(p);
      expect(pw).toHaveLength(20);
      expect(pw).toMatch(/^[a-zA-Z0-9!@#$%^&*]{20}$/);
      expect(count(pw, 'abcdefghijklmnopqrstuvwxyz')).toBeGreaterThanOrEqual(1);
      expect(count(pw, 'ABCDEFGHIJKLMNOPQRSTUVWXYZ')).toBeGreaterThanOrEqual(1);
      expect(count(pw, '0123456789')).toBeGreaterThanOrEqual(1);
      expect(count(pw, '!@#$%^&*STUVWXYZ')).toBeGreaterThanOrEqual(2);
      expect(satisfiesPasswordPolicy(p, pw)).toBe(true);
      seen.add(pw);
    }
    expect(seen.size).toBe(2000);
  });

  it('a tight policy (min-chars add up to the length) gives exactly one of each required set', () => {
    const p = parsePasswordPolicy(
      'length = 4\nrule "charset" {\n charset = "abcdefghijklmnopqrstuvwxyz"\n min-chars = 1\n}\nrule "charset" {\n charset = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"\n min-chars = 1\n}\nrule "charset" {\n charset = "0123456789"\n min-chars = 1\n}\nrule "charset" {\n charset = "-"\n min-chars = 1\n}',
    );
    checkPasswordPolicyGenerates(p);
    for (let i = 0; i < 500; i++) {
      const pw = generatePassword(p);
      expect([count(pw, 'abcdefghijklmnopqrstuvwxyz'), count(pw, 'ABCDEFGHIJKLMNOPQRSTUVWXYZ'), count(pw, '0123456789'), count(pw, '-')]).toEqual([1, 1, 1, 1]);
    }
  });

  it('is uniform over the passwords that satisfy the rules (not biased towards required characters)', () => {
    // Alphabet {a, b}, length 4, at least one "a": 15 valid passwords, each with probability 1/15.
    // Placing an "a" first and shuffling would give "aaaa" 4/32 instead of 1/15.
    const p = parsePasswordPolicy('length = 4\nrule "charset" { charset = "b" }\nrule "charset" {\n charset = "a"\n min-chars = 1\n}');
    const n = 15_000;
    const counts = new Map<string, number>();
    for (let i = 0; i < n; i++) {
      const pw = generatePassword(p);
      counts.set(pw, (counts.get(pw) ?? 0) + 1);
    }
    expect(counts.size).toBe(15);
    expect(counts.has('bbbb')).toBe(false);
    // Expected 1000 each, standard deviation about 31: ±200 is more than 6 deviations.
    for (const c of counts.values()) expect(Math.abs(c - n / 15)).toBeLessThan(200);
  });

  it('draws each character uniformly from the alphabet', () => {
    const p = parsePasswordPolicy('length = 100\nrule "charset" { charset = "abcd" }');
    const counts: Record<string, number> = { a: 0, b: 0, c: 0, d: 0 };
    for (let i = 0; i < 200; i++) for (const c of generatePassword(p)) counts[c]++;
    // 20,000 draws: 5,000 expected each, standard deviation about 61.
    for (const c of Object.values(counts)) expect(Math.abs(c - 5000)).toBeLessThan(400);
  });

  it('throws when its draw budget runs out', () => {
    const p = parsePasswordPolicy('length = 4\nrule "charset" { charset = "b" }\nrule "charset" {\n charset = "a"\n min-chars = 4\n}');
    // Index 1 is "b": every candidate fails at its first character.
    expect(error(() => generatePassword(p, { random: constant(1), maxDraws: 1000 }))).toContain('failed to generate password from policy');
    expect(generatePassword(p, { random: constant(0) })).toBe('aaaa');
  });
});

describe('checkPasswordPolicyGenerates (the write-time check)', () => {
  it('refuses a policy that parses but practically never generates: are the rules impossible?', () => {
    // 95 of 100 characters must be "a" out of a 90-character alphabet: probability below 90^-90.
    const others = 'bcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789!#$%&()*+,-./:;<=>?@[]^_{|}~';
    const p = parsePasswordPolicy(`length = 100\nrule "charset" { charset = "${others}" }\nrule "charset" {\n charset = "a"\n min-chars = 95\n}`);
    expect(p.alphabet).toHaveLength(90);
    expect(error(() => checkPasswordPolicyGenerates(p))).toBe('unable to generate password from provided policy: are the rules impossible?');
  });

  it('refuses a policy that generates only some of the samples: is the policy too restrictive?', () => {
    const p = parsePasswordPolicy('length = 4\nrule "charset" { charset = "b" }\nrule "charset" {\n charset = "a"\n min-chars = 4\n}');
    // Two passwords of "a" (8 draws), then only "b".
    let draws = 0;
    const twoThenNone: RandomIndex = () => (draws++ < 8 ? 0 : 1);
    expect(error(() => checkPasswordPolicyGenerates(p, twoThenNone))).toBe(
      `failed to generate passwords ${SAMPLE_PASSWORDS - 2} times out of ${SAMPLE_PASSWORDS} attempts - is the policy too restrictive?`,
    );
  });

  it('accepts ordinary policies', () => {
    expect(() => checkPasswordPolicyGenerates(parsePasswordPolicy(VAULT_EXAMPLE))).not.toThrow();
    expect(() =>
      checkPasswordPolicyGenerates(
        parsePasswordPolicy(
          'length = 100\nrule "charset" {\n charset = "0123456789"\n min-chars = 30\n}\nrule "charset" { charset = "abcdefghijklmnopqrstuvwxyz" }',
        ),
      ),
    ).not.toThrow();
  });
});

describe('satisfiesPasswordPolicy', () => {
  const p = parsePasswordPolicy('length = 5\nrule "charset" {\n charset = "abc"\n min-chars = 2\n}\nrule "charset" { charset = "123" }');
  it.each([
    ['ab123', true],
    ['ab12', false],
    ['a1234', false],
    ['ab12x', false],
  ])('%s → %s', (pw, ok) => expect(satisfiesPasswordPolicy(p, pw)).toBe(ok));
});
