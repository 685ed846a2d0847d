import { FieldError, parseDurationSeconds, pickCaseInsensitive, toBool, toInt, toStringList } from './field-types';

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
  it('matches raw-handler fields case-insensitively, exact first', () => {
    expect(pickCaseInsensitive({ Key: 'a' }, 'key')).toBe('a');
    expect(pickCaseInsensitive({ KEY: 'a', key: 'b' }, 'key')).toBe('b');
  });
});
