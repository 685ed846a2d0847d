import { FieldError } from './field-types';
import { ignoredParametersWarning, parseFields, withTrimmedFields, type Fields } from './fields';

describe('declared fields', () => {
  const fields: Fields = {
    ttl: { type: 'duration', description: '' },
    n: { type: 'int', description: '' },
    names: { type: 'string-list', description: '' },
    kind: { type: 'string', allowed: ['a', 'b'], description: '' },
    meta: { type: 'string-map', description: '' },
    version: { type: 'int', query: true, description: '', default: 0 },
    must: { type: 'string', required: true, description: '' },
  };

  it('coerces Vault-style values and reports undeclared names', () => {
    const { data, unknown } = parseFields(fields, { ttl: '1h', n: '3', names: 'x, y', kind: 'a', meta: { k: 1 }, must: 'yes', colour: 'red' }, false);
    expect(data).toEqual({ ttl: 3600, n: 3, names: ['x', 'y'], kind: 'a', meta: { k: '1' }, must: 'yes', version: 0 });
    expect(unknown).toEqual(['colour']);
    expect(ignoredParametersWarning(unknown)).toBe('Endpoint ignored these unrecognized parameters: [colour]');
  });

  it('treats "" as absent for non-strings, refuses bad values naming the field', () => {
    expect(parseFields(fields, { ttl: '', must: '' }, false).data).toEqual({ must: '', version: 0 });
    expect(() => parseFields(fields, { n: 'three', must: 'x' }, false)).toThrow(new FieldError('error converting input for field "n": expected an integer'));
    expect(() => parseFields(fields, { kind: 'c', must: 'x' }, false)).toThrow(/must be one of a, b/);
    expect(() => parseFields(fields, {}, false)).toThrow(/missing required field "must"/);
  });

  it('bounds int, int-list and duration fields: int4 and 2^31-1 seconds unless declared', () => {
    const bounded: Fields = {
      n: { type: 'int', description: '' },
      port: { type: 'int', min: 1, max: 65535, description: '' },
      seq: { type: 'int', min: 0, max: Number.MAX_SAFE_INTEGER, description: '' },
      versions: { type: 'int-list', description: '' },
      ttl: { type: 'duration', description: '' },
      short: { type: 'duration', max: 60, description: '' },
    };
    expect(
      parseFields(bounded, { n: 2147483647, port: '65535', seq: '9007199254740991', versions: [1, '2147483647'], ttl: '596523h14m7s', short: '1m' }, false)
        .data,
    ).toEqual({
      n: 2147483647,
      port: 65535,
      seq: 9007199254740991,
      versions: [1, 2147483647],
      ttl: 2147483647,
      short: 60,
    });
    expect(() => parseFields(bounded, { n: 2147483648 }, false)).toThrow(new FieldError('invalid value for field "n": must be at most 2147483647'));
    expect(() => parseFields(bounded, { port: 0 }, false)).toThrow(new FieldError('invalid value for field "port": must be at least 1'));
    expect(() => parseFields(bounded, { versions: [1, 1099511627776] }, false)).toThrow(/field "versions": must be at most 2147483647/);
    expect(() => parseFields(bounded, { ttl: 2147483648 }, false)).toThrow(/field "ttl": must be at most 596523h14m7s/);
    expect(() => parseFields(bounded, { short: '61s' }, false)).toThrow(/field "short": must be at most 1m0s/);
  });

  it('reads only query-declared fields from the query string', () => {
    const { data, unknown } = parseFields(fields, { version: '2', ttl: '1h' }, true);
    expect(data).toEqual({ version: 2 });
    expect(unknown).toEqual(['ttl']);
  });

  it('trims the string values of trim fields only, copying the input only when one changes', () => {
    const fields: Fields = { role_id: { type: 'string', description: '', trim: true }, note: { type: 'string', description: '' } };
    const input = { role_id: ' \tid-1 \n', note: ' kept ', other: ' x ' };
    expect(withTrimmedFields(fields, input)).toEqual({ role_id: 'id-1', note: ' kept ', other: ' x ' });
    expect(input.role_id).toBe(' \tid-1 \n');
    const clean = { role_id: 'id-1', note: ' kept ' };
    expect(withTrimmedFields(fields, clean)).toBe(clean);
    const notString = { role_id: 42 };
    expect(withTrimmedFields(fields, notString)).toBe(notString);
    expect(withTrimmedFields(undefined, input)).toBe(input);
  });
});
