import {
  FieldError,
  goDuration,
  INT4_MAX,
  MAX_DURATION_SECONDS,
  parseDurationSeconds,
  pickCaseInsensitive,
  toBool,
  toDurationSeconds,
  toInt,
  toStringList,
} from './field-types';

describe('field coercion', () => {
  it('coerces strings as Vault does', () => {
    expect(toInt('n', '3')).toBe(3);
    expect(toBool('b', 'true')).toBe(true);
    expect(toBool('b', '0')).toBe(false);
    expect(toStringList('l', 'a, b')).toEqual(['a', 'b']);
    expect(() => toInt('n', '3.5')).toThrow(FieldError);
    expect(() => toBool('b', 'maybe')).toThrow(FieldError);
  });
  it('parses Go durations and seconds', () => {
    expect(parseDurationSeconds('30m')).toBe(1800);
    expect(parseDurationSeconds('768h')).toBe(768 * 3600);
    expect(parseDurationSeconds('1h30m10s')).toBe(5410);
    expect(parseDurationSeconds(90)).toBe(90);
    expect(parseDurationSeconds('45')).toBe(45);
    expect(() => parseDurationSeconds('10 parsecs')).toThrow(FieldError);
  });
  it('keeps integers within the int4 range unless given bounds, naming the limit and never the value', () => {
    expect(toInt('n', INT4_MAX)).toBe(2147483647);
    expect(toInt('n', '-2147483648')).toBe(-2147483648);
    expect(() => toInt('n', 2147483648)).toThrow(new FieldError('invalid value for field "n": must be at most 2147483647'));
    expect(() => toInt('n', -2147483649)).toThrow(new FieldError('invalid value for field "n": must be at least -2147483648'));
    for (const huge of [1e308, '9223372036854775807', '9'.repeat(400)])
      expect(() => toInt('n', huge)).toThrow(/^invalid value for field "n": must be at most 2147483647$/);
    expect(toInt('after', '4294967296', { min: 0, max: Number.MAX_SAFE_INTEGER })).toBe(4294967296);
    expect(() => toInt('port', 0, { min: 1, max: 65535 })).toThrow(/must be at least 1/);
    // A declared bound beyond 2^53-1 still stops where numbers stop being exact.
    expect(() => toInt('n', 2 ** 53, { max: Infinity })).toThrow(/must be at most 9007199254740991/);
  });
  it('refuses durations Go cannot hold, as Vault does; a field also refuses those beyond its maximum', () => {
    expect(parseDurationSeconds('2562047h47m16s')).toBe(9223372036);
    for (const huge of ['2562047h47m17s', '9223372036854775807s', '9999999999999h', 1e308, '99999999999999999999'])
      expect(() => parseDurationSeconds(huge)).toThrow(new FieldError('invalid duration'));
    expect(toDurationSeconds('ttl', '596523h14m7s')).toBe(MAX_DURATION_SECONDS);
    expect(() => toDurationSeconds('ttl', '596523h14m8s')).toThrow(new FieldError('invalid value for field "ttl": must be at most 596523h14m7s'));
    expect(() => toDurationSeconds('ttl', 2147483648)).toThrow(/must be at most 596523h14m7s/);
    expect(() => toDurationSeconds('ttl', '9999999999999h')).toThrow(new FieldError('error converting input for field "ttl": expected a duration'));
    expect(() => toDurationSeconds('ttl', '2h', 3600)).toThrow(/must be at most 1h0m0s/);
    expect(goDuration(MAX_DURATION_SECONDS)).toBe('596523h14m7s');
  });
  it('matches raw-handler fields case-insensitively, exact first', () => {
    expect(pickCaseInsensitive({ Key: 'a' }, 'key')).toBe('a');
    expect(pickCaseInsensitive({ KEY: 'a', key: 'b' }, 'key')).toBe('b');
  });
});
