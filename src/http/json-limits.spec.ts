import { randomInt } from 'node:crypto';
import { jsonLimitError } from './json-limits';

const limits = { maxDepth: 5, maxStringLength: 10, maxObjectEntries: 3, maxArrayElements: 4 };
const check = (s: string) => jsonLimitError(Buffer.from(s), limits);

describe('jsonLimitError', () => {
  it('accepts documents within every limit', () => {
    expect(check('{"a":[1,2,3,4],"b":{"c":"0123456789"},"d":null}')).toBeNull();
  });
  it('refuses depth beyond the limit', () => {
    expect(check('[[[[[1]]]]]')).toBeNull();
    expect(check('[[[[[[1]]]]]]')).toMatch(/depth/);
  });
  it('refuses long strings, also as keys, and ignores escaped quotes', () => {
    expect(check('{"a":"01234567890"}')).toMatch(/string/);
    expect(check('{"01234567890":1}')).toMatch(/string/);
    expect(check('{"a":"\\"\\"\\"\\""}')).toBeNull();
  });
  it('refuses too many object entries or array elements', () => {
    expect(check('{"a":1,"b":2,"c":3,"d":4}')).toMatch(/entries/);
    expect(check('[1,2,3,4,5]')).toMatch(/elements/);
  });
  it('does not count brackets inside strings', () => {
    expect(check('{"a":"[[[[[[[["}')).toBeNull();
  });
  it('is linear: a 10k-deep document is refused without recursion', () => {
    const deep = '['.repeat(10_000) + ']'.repeat(10_000);
    expect(check(deep)).toMatch(/depth/);
  });
  it('measures every string as JSON.parse reads it, escapes included', () => {
    const pieces = ['a', '\\\\', '\\"', '\\n', '\\u00e9', '[', '{', ',', ' ', 'é'];
    for (let i = 0; i < 5000; i++) {
      let raw = '';
      for (let n = randomInt(0, 14); n > 0; n--) raw += pieces[randomInt(0, pieces.length)];
      const doc = `{"k":"${raw}","z":"${raw}"}`;
      const longest = Buffer.byteLength(`"${raw}"`) - 2;
      const bounded = { ...limits, maxStringLength: 8 };
      expect({ doc, error: jsonLimitError(Buffer.from(doc), bounded) }).toEqual({ doc, error: longest > 8 ? expect.stringMatching(/string/) : null });
    }
  });
});
