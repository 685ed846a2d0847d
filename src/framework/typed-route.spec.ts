/**
 * route(): handlers see ctx.data typed from the route's fields. The `@ts-expect-error` lines are
 * the assertions; `npm run typecheck` fails when one of them stops being an error.
 */
import { parseFields, type FieldData, type Fields } from './fields';
import { logical, route, type RouteContext } from './route';

const FIELDS = {
  name: { type: 'string', required: true, description: '' },
  kind: { type: 'string', allowed: ['a', 'b'], description: '' },
  count: { type: 'int', description: '' },
  depth: { type: 'int', query: true, default: 0, description: '' },
  version: { type: 'int', query: true, description: '' },
  flag: { type: 'bool', default: true, description: '' },
  ttl: { type: 'duration', description: '' },
  names: { type: 'string-list', description: '' },
  numbers: { type: 'int-list', description: '' },
  config: { type: 'map', description: '' },
  meta: { type: 'string-map', description: '' },
  anything: { type: 'any', description: '' },
} as const satisfies Fields;

describe('route(): typed handler input', () => {
  it('returns its argument unchanged', () => {
    const definition = { path: 'p', help: '', fields: FIELDS, handlers: { update: async () => null } };
    expect(route(definition)).toBe(definition);
  });

  it('types written fields by what coercion makes of them; required and defaulted ones are always there', () => {
    const update = async (ctx: RouteContext<typeof FIELDS>) => {
      const name: string = ctx.data.name;
      const depth: number = ctx.data.depth;
      const flag: boolean = ctx.data.flag;
      // @ts-expect-error an int is a number
      const countText: string | undefined = ctx.data.count;
      // @ts-expect-error a field neither required nor defaulted may be absent
      const count: number = ctx.data.count;
      const kind: 'a' | 'b' | undefined = ctx.data.kind;
      // @ts-expect-error a string field with allowed values holds one of them
      const other: 'c' | undefined = ctx.data.kind;
      const ttl: number | undefined = ctx.data.ttl;
      const names: string[] | undefined = ctx.data.names;
      const numbers: number[] | undefined = ctx.data.numbers;
      const config: Record<string, unknown> | undefined = ctx.data.config;
      const meta: Record<string, string> | undefined = ctx.data.meta;
      const anything: unknown = ctx.data.anything;
      // @ts-expect-error an undeclared field is not in data
      void ctx.data.colour;
      return logical({ name, depth, flag, countText, count, kind, other, ttl, names, numbers, config, meta, anything });
    };
    route({ path: 'p', help: '', fields: FIELDS, handlers: { update } });
  });

  it('types read fields from the query string: query fields and defaults only, required is not enforced', () => {
    route({
      path: 'p',
      help: '',
      fields: FIELDS,
      handlers: {
        read: async (ctx) => {
          const depth: number = ctx.data.depth;
          const version: number | undefined = ctx.data.version;
          // @ts-expect-error a query field without a default may be absent
          const sent: number = ctx.data.version;
          // @ts-expect-error required fields are enforced on writes only
          const name: string = ctx.data.name;
          // @ts-expect-error a field the query string does not carry is never in data
          void ctx.data.count;
          return logical({ depth, version, sent, name });
        },
      },
    });
  });

  it('a route without fields has empty data', () => {
    // @ts-expect-error no fields, no data
    route({ path: 'p', help: '', handlers: { update: async (ctx) => logical({ x: ctx.data.x }) } });
  });

  it('the type matches what parseFields produces', () => {
    const written: FieldData<typeof FIELDS, false> = parseFields(FIELDS, { name: 'n', count: '3', ttl: '1m', meta: { k: 1 } }, false).data as FieldData<
      typeof FIELDS,
      false
    >;
    expect(written).toEqual({ name: 'n', count: 3, ttl: 60, meta: { k: '1' }, depth: 0, flag: true });
    const read = parseFields(FIELDS, { version: '2' }, true).data as FieldData<typeof FIELDS, true>;
    expect(read).toEqual({ version: 2, depth: 0, flag: true });
  });
});
