import canonicalize from 'canonicalize';
import fc from 'fast-check';
import { canonicalJson, canonicalObjectText } from './canonical-json';

describe('canonicalJson (RFC 8785)', () => {
  it('matches the RFC 8785 §3.2.3 example', () => {
    const input = JSON.parse(
      '{"numbers": [333333333.33333329, 1E30, 4.50, 2e-3, 0.000000000000000000000000001], "string": "\\u20ac$\\u000F\\u000aA\'\\u0042\\u0022\\u005c\\\\\\"\\/", "literals": [null, true, false]}',
    );
    expect(canonicalJson(input).toString('utf8')).toBe(
      '{"literals":[null,true,false],"numbers":[333333333.3333333,1e+30,4.5,0.002,1e-27],"string":"€$\\u000f\\nA\'B\\"\\\\\\\\\\"/"}',
    );
  });

  it('sorts keys by UTF-16 code units, as the RFC 8785 §3.2.3 sorting example', () => {
    const input = {
      '\u20ac': 'Euro Sign',
      '\r': 'Carriage Return',
      '\ufb33': 'Hebrew Letter Dalet With Dagesh',
      '1': 'One',
      '\ud83d\ude00': 'Emoji: Grinning Face',
      '\u0080': 'Control',
      '\u00f6': 'Latin Small Letter O With Diaeresis',
    };
    const order = ['\r', '1', '\u0080', '\u00f6', '\u20ac', '\ud83d\ude00', '\ufb33'];
    // Compared as text: parsing back would put the integer-like key "1" first (JavaScript's own order).
    const expected = `{${order.map((k) => `${JSON.stringify(k)}:${JSON.stringify(input[k as keyof typeof input])}`).join(',')}}`;
    expect(canonicalJson(input).toString('utf8')).toBe(expected);
  });

  it('gives the same bytes whatever the key order, and refuses what JSON cannot carry', () => {
    expect(canonicalJson({ b: 1, a: { d: [1, 2], c: null } }).equals(canonicalJson({ a: { c: null, d: [1, 2] }, b: 1 }))).toBe(true);
    expect(() => canonicalJson(NaN)).toThrow();
    expect(() => canonicalJson({ x: Infinity })).toThrow();
    expect(() => canonicalJson(undefined)).toThrow(TypeError);
  });
});

describe('canonicalJson fast path', () => {
  // The serialiser the fast path must agree with, byte for byte.
  const reference = (v: unknown): string => canonicalize(v) as string;

  it('gives the reference bytes for any JSON value, keys in any order', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (v) => {
        expect(canonicalJson(v).toString('utf8')).toBe(reference(v));
      }),
      { numRuns: 2000 },
    );
  });

  it('gives the reference bytes for objects already in order, with array-index keys, unicode keys and undefined members', () => {
    const sortedDeep = (v: unknown): unknown =>
      Array.isArray(v)
        ? v.map(sortedDeep)
        : v && typeof v === 'object'
          ? Object.fromEntries(
              Object.keys(v)
                .sort()
                .map((k) => [k, sortedDeep((v as Record<string, unknown>)[k])]),
            )
          : v;
    fc.assert(
      fc.property(fc.jsonValue(), (v) => {
        const sorted = sortedDeep(v);
        expect(canonicalJson(sorted).toString('utf8')).toBe(reference(sorted));
      }),
      { numRuns: 2000 },
    );
    for (const v of [
      { '10': 1, '9': 2, a: 3 },
      { a: undefined, b: [undefined, 1] },
      { '\u00e9': 1, e: 2, z: 3 },
      { '\ud83d\ude00': 1, '\ufb33': 2 },
      { a: -0 },
      { a: 1e21, b: 5e-7 },
    ]) {
      expect(canonicalJson(v).toString('utf8')).toBe(reference(v));
    }
  });
});

describe('canonicalObjectText (members serialised once)', () => {
  const reference = (v: unknown): string => canonicalize(v) as string;

  it('gives the reference text for any object, members known or not, keys in any order', () => {
    fc.assert(
      fc.property(fc.dictionary(fc.string(), fc.jsonValue()), fc.boolean(), (o, useKnown) => {
        const known = new Map<unknown, string>();
        // A known text is only ever the member's own canonical text.
        if (useKnown) for (const v of Object.values(o)) if (v !== null && typeof v === 'object') known.set(v, reference(v));
        expect(canonicalObjectText(o, known)).toBe(reference(o));
      }),
      { numRuns: 2000 },
    );
  });

  it('uses a known member text by identity, and falls back for keys out of order or array-index keys', () => {
    const shared = { b: 1, a: 2 };
    expect(canonicalObjectText({ x: shared, y: { ...shared } }, new Map([[shared, 'KNOWN']]))).toBe('{"x":KNOWN,"y":{"a":2,"b":1}}');
    expect(canonicalObjectText({ b: shared, a: 1 }, new Map([[shared, 'KNOWN']]))).toBe('{"a":1,"b":{"a":2,"b":1}}');
    expect(canonicalObjectText({ '10': 1, '9': 2 }, new Map())).toBe('{"10":1,"9":2}');
    expect(canonicalObjectText({ a: undefined, b: null }, new Map())).toBe('{"b":null}');
  });
});
