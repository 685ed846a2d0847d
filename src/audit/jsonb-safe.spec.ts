import fc from 'fast-check';
import { jsonbText, storableText } from './jsonb-safe';

describe('jsonb-safe', () => {
  it('writes NUL and lone surrogates as their escapes, keeps pairs and other text', () => {
    expect(storableText('a\u0000b')).toBe('a\\u0000b');
    expect(storableText('\ud800x\udfff')).toBe('\\ud800x\\udfff');
    expect(storableText('😀 \u0001 ü')).toBe('😀 \u0001 ü');
    expect(jsonbText({ '\u0000': ['\ud800', 1], k: { '\udc00': null } })).toBe('{"\\\\u0000":["\\\\ud800",1],"k":{"\\\\udc00":null}}');
  });

  it('leaves JSON without refused escapes as JSON.stringify writes it', () => {
    const value = { path: 'a\\u0000b', n: 1 }; // a backslash before u0000: text, not NUL
    expect(jsonbText(value)).toBe(JSON.stringify(value));
  });

  it('any value: the text has no NUL or lone-surrogate escape (what jsonb refuses)', () => {
    fc.assert(
      fc.property(fc.jsonValue(), fc.string({ unit: 'binary' }), (value, key) => {
        const text = jsonbText({ [key]: value, v: key });
        expect(text).not.toMatch(/(?<!\\)(\\\\)*\\u(0000|d[89a-f])/);
        expect(text.match(/[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]|\u0000/)).toBeNull(); // eslint-disable-line no-control-regex
      }),
      { numRuns: 500 },
    );
  });
});
