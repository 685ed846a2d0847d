/**
 * Property (issue 22, item 3): no number or duration a client sends (a declared field of any
 * route, a query parameter, a header, a nested setting, a raw sys body) earns a 5xx or an error
 * that echoes it, and no write it gets accepted leaves a setting behind that makes a later request
 * on the same mount answer 5xx. The boundary values go to every target; fast-check then sends
 * random integers, doubles, numeric strings and durations to random targets.
 */
import fc from 'fast-check';
import { openAuditedKernel } from '../support/audit';
import type { TestKernel } from '../support/kernel';
import {
  BOUNDARY_VALUES,
  numericTargets,
  probes,
  raw,
  setUpFixtures,
  text,
  type NumericTarget,
  type NumericValue,
  type Response,
} from '../support/numeric-inputs';

jest.setTimeout(180_000);

const bigInts = fc.bigInt({ min: -(1n << 70n), max: 1n << 70n });
const VALUES: fc.Arbitrary<NumericValue> = fc.oneof(
  fc.constantFrom(...BOUNDARY_VALUES),
  fc.integer({ min: -3, max: 100_000 }).map((n) => raw(String(n))),
  bigInts.map((b) => raw(b.toString())),
  bigInts.map((b) => text(b.toString())),
  fc.double({ noNaN: true, noDefaultInfinity: true }).map((d) => raw(JSON.stringify(d))),
  fc.tuple(fc.bigInt({ min: 0n, max: 1n << 66n }), fc.constantFrom('ns', 'us', 'ms', 's', 'm', 'h', 'd')).map(([n, unit]) => text(`${n}${unit}`)),
  fc.tuple(fc.nat(), fc.nat(), fc.nat()).map(([h, m, s]) => text(`${h}h${m}m${s}s`)),
);

describe('numeric inputs on every route (property, medium)', () => {
  let k: TestKernel;
  let targets: NumericTarget[];
  let probeSets: ReturnType<typeof probes>;

  beforeAll(async () => {
    const opened = await openAuditedKernel();
    k = opened.k;
    const fixtures = await setUpFixtures(opened.call);
    targets = numericTargets(k, fixtures);
    probeSets = probes(fixtures);
  });
  afterAll(async () => k?.close());

  const describeResponse = (res: Response) => `${res.status} ${(res.body ?? '').slice(0, 160)}`;

  /** What went wrong when `value` went to `target`: a 5xx, a 400 not in Vault's shape or echoing the value, a probe's 5xx after an accepted write. */
  async function problems(target: NumericTarget, value: NumericValue): Promise<string[]> {
    const where = `${target.label} = ${value.json}`;
    const res = await target.send(value);
    if (res.status >= 500) return [`${where}: ${describeResponse(res)}`];
    const found: string[] = [];
    if (res.status === 400 && !Array.isArray(res.json.errors)) found.push(`${where}: a 400 without errors: ${describeResponse(res)}`);
    // A value long enough not to occur by chance must never come back in an error.
    if (res.status >= 400 && value.query.length >= 11 && (res.body ?? '').includes(value.query)) found.push(`${where}: the error echoes the value`);
    if (target.write && res.status < 300) {
      for (const probe of probeSets[target.probe] ?? []) {
        const after = await probe.run();
        if (after.status >= 500) found.push(`${where}: accepted (${res.status}), then ${target.probe} ${probe.label} answered ${describeResponse(after)}`);
      }
    }
    return found;
  }

  it('the probes work on the fresh fixtures (a broken setting would show)', async () => {
    const answers: string[] = [];
    for (const [type, list] of Object.entries(probeSets)) {
      for (const probe of list) {
        const res = await probe.run();
        if (probe.succeeds ? res.status >= 300 : res.status < 400 || res.status >= 500) answers.push(`${type} ${probe.label}: ${describeResponse(res)}`);
      }
    }
    expect(answers).toEqual([]);
  });

  it('reaches the declared numeric fields of every backend and the undeclared numbers', () => {
    const labels = targets.map((t) => t.label);
    expect(labels.filter((l, i) => labels.indexOf(l) !== i)).toEqual([]);
    for (const expected of [
      'update auth/token/create num_uses',
      'update auth/token/create explicit_max_ttl',
      'read secret/data/pt?version',
      'update secret/destroy/pt versions',
      'update auth/approle/role/pt secret_id_num_uses',
      'update auth/approle/role/pt token_ttl',
      'update secret/config delete_version_after',
      'update secret/metadata/pt delete_version_after',
      'tune sys/auth/userpass user_lockout_config.lockout_threshold',
      'tune sys/mounts/secret max_lease_ttl',
      'X-Vault-Wrap-TTL on token lookup-self',
      'sys/init secret_shares',
      'sys/rekey/init secret_threshold',
    ])
      expect(labels).toContain(expected);
    expect(new Set(targets.map((t) => t.probe))).toEqual(
      new Set(['kv', 'kv1', 'system', 'token', 'approle', 'userpass', 'cert', 'database', 'pki', 'rabbitmq', 'policy']),
    );
  });

  it('no boundary value on any target earns a 5xx, an echo, or a setting that breaks later requests', async () => {
    const found: string[] = [];
    for (const target of targets) for (const value of BOUNDARY_VALUES) found.push(...(await problems(target, value)));
    expect(found).toEqual([]);
  });

  it('nor does any random integer, double, numeric string or duration', async () => {
    await fc.assert(
      // A counterexample prints as the target's label and the value.
      fc.asyncProperty(fc.constantFrom(...targets.map((t) => Object.assign(t, { [fc.toStringMethod]: () => t.label }))), VALUES, async (target, value) => {
        const found = await problems(target, value);
        if (found.length) throw new Error(found.join('\n'));
      }),
      { numRuns: 400, endOnFailure: true },
    );
  });
});
