import { goDuration, mergePatch, subkeys } from './kv-v2-values';

describe('KV v2 value helpers', () => {
  it('merge patch follows RFC 7396', () => {
    expect(mergePatch({ a: 'b', c: { d: 'e', f: 'g' } }, { a: 'z', c: { f: null } })).toEqual({ a: 'z', c: { d: 'e' } });
    expect(mergePatch({ a: [1, 2] }, { a: [3] })).toEqual({ a: [3] });
    expect(mergePatch({ a: 'x' }, { b: { c: 1 } })).toEqual({ a: 'x', b: { c: 1 } });
  });
  it('subkeys replaces leaves by null down to depth', () => {
    const v = { foo: 'abc', bar: { baz: { q: 1 } }, list: [1] };
    expect(subkeys(v, 0)).toEqual({ foo: null, bar: { baz: { q: null } }, list: null });
    expect(subkeys(v, 1)).toEqual({ foo: null, bar: null, list: null });
    expect(subkeys(v, 2)).toEqual({ foo: null, bar: { baz: null }, list: null });
  });
  it('durations print as Go does', () => {
    expect([0, 30, 90, 3600, 2764800].map(goDuration)).toEqual(['0s', '30s', '1m30s', '1h0m0s', '768h0m0s']);
  });
});
