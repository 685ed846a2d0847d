import { FieldError } from './field-types';
import { ignoredParametersWarning, parseFields, type Fields } from './fields';

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

  it('reads only query-declared fields from the query string', () => {
    const { data, unknown } = parseFields(fields, { version: '2', ttl: '1h' }, true);
    expect(data).toEqual({ version: 2 });
    expect(unknown).toEqual(['ttl']);
  });
});
