import { TransitUsage, type UsageKey } from './transit-usage';

const key: UsageKey = { mountUuid: 'm', name: 'k', version: 1 };
const settle = () => new Promise((r) => setImmediate(r));

/** A stored count shared by "processes", as the database row is. */
function store() {
  const state = { stored: 0, writes: [] as number[], fail: false };
  const write = async (_k: UsageKey, delta: number) => {
    await settle();
    if (state.fail) throw new Error('database down');
    state.writes.push(delta);
    state.stored += delta;
    return state.stored;
  };
  return { state, write };
}

describe('TransitUsage', () => {
  it('writes counts in batches of flushEvery far from the threshold; a crash loses fewer than one batch', async () => {
    const { state, write } = store();
    const usage = new TransitUsage(write, async () => undefined, undefined, 100);
    for (let i = 0; i < 99; i++) void usage.count(key, 0, Infinity);
    await settle();
    expect(state.writes).toEqual([]);
    void usage.count(key, 0, Infinity);
    await settle();
    await settle();
    expect(state.writes).toEqual([100]);
    for (let i = 0; i < 250; i++) void usage.count(key, 0, Infinity);
    await usage.flushAll();
    expect(state.stored).toBe(350);
    expect(Math.max(...state.writes)).toBeLessThanOrEqual(200);
  });

  it('writes every operation once within a batch of the threshold, and reports the threshold exactly when reached', async () => {
    const { state, write } = store();
    const reached: number[] = [];
    const usage = new TransitUsage(write, async (_k, stored) => void reached.push(stored), undefined, 100);
    for (let i = 0; i < 10; i++) {
      // Awaited: each count is written before the operation answers.
      await usage.count(key, 0, 10);
      expect(state.stored).toBe(i + 1);
    }
    expect(reached).toEqual([10]);
  });

  it('keeps counts whose write failed and writes them with the next batch', async () => {
    const { state, write } = store();
    const logs: string[] = [];
    const usage = new TransitUsage(
      write,
      async () => undefined,
      (m) => logs.push(m),
      5,
    );
    state.fail = true;
    for (let i = 0; i < 5; i++) void usage.count(key, 0, Infinity);
    await settle();
    await settle();
    expect(state.stored).toBe(0);
    expect(logs).toEqual(['transit: could not record key usage: database down']);
    state.fail = false;
    void usage.count(key, 0, Infinity);
    await usage.flushAll();
    expect(state.stored).toBe(6);
  });

  it('with two processes a threshold is seen at most one batch late, never early', async () => {
    const { state, write } = store();
    let seenAt = 0;
    const onThreshold = async () => {
      if (!seenAt) seenAt = performed;
    };
    const a = new TransitUsage(write, onThreshold, undefined, 50);
    const b = new TransitUsage(write, onThreshold, undefined, 50);
    let performed = 0;
    for (let i = 0; i < 1000 && !seenAt; i++) {
      performed++;
      await (i % 2 ? a : b).count(key, 0, 500);
      await settle(); // a server turns its event loop between requests: batched writes complete meanwhile
    }
    expect(seenAt).toBeGreaterThanOrEqual(500);
    expect(seenAt).toBeLessThanOrEqual(500 + 50);
    expect(state.stored).toBeLessThanOrEqual(performed);
  });
});
