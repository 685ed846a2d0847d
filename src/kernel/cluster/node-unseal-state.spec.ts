import { NodeUnsealState } from './node-unseal-state';

const share = (byte: number) => Buffer.alloc(33, byte);

function recorder() {
  const calls: string[] = [];
  const state = new NodeUnsealState({
    unsealAll: async (key) => void calls.push(`unseal ${key.toString('hex').slice(0, 4)}`),
    sealAll: async () => void calls.push('seal'),
  });
  return { state, calls };
}

describe('NodeUnsealState', () => {
  it('counts shares from every worker toward one progress with one nonce; duplicates count once', async () => {
    const { state } = recorder();
    const first = await state.submit(1, share(1), 3);
    expect(first).toMatchObject({ kind: 'progress', progress: 1 });
    const nonce = (first as { nonce: string }).nonce;
    expect(nonce).not.toBe('');
    expect(await state.submit(2, share(1), 3)).toEqual({ kind: 'progress', progress: 1, nonce });
    expect(await state.submit(2, share(2), 3)).toEqual({ kind: 'progress', progress: 2, nonce });
    expect(state.view()).toEqual({ progress: 2, nonce });
  });

  it('hands every share to the worker that met the threshold; the progress is empty at once', async () => {
    const { state } = recorder();
    await state.submit(1, share(1), 2);
    const outcome = await state.submit(2, share(2), 2);
    expect(outcome.kind).toBe('threshold');
    expect((outcome as { shares: Buffer[] }).shares).toEqual([share(1), share(2)]);
    expect(state.view()).toEqual({ progress: 0, nonce: '' });
  });

  it('holds other submissions while a worker combines; after a failure they start a new round', async () => {
    const { state } = recorder();
    await state.submit(1, share(1), 1);
    let answered = false;
    const waiting = state.submit(2, share(2), 2).then((o) => ((answered = true), o));
    await new Promise((r) => setImmediate(r));
    expect(answered).toBe(false);
    state.combinerDone(2); // not the combiner: no effect
    await new Promise((r) => setImmediate(r));
    expect(answered).toBe(false);
    state.combinerDone(1);
    expect(await waiting).toMatchObject({ kind: 'progress', progress: 1 });
  });

  it('after an unseal every worker is told, the key is kept for later workers, and held submissions see the node unsealed', async () => {
    const { state, calls } = recorder();
    await state.submit(1, share(1), 1);
    const held = state.submit(2, share(2), 1);
    await state.unsealed(1, Buffer.from('abcd', 'hex'));
    expect(calls).toEqual(['unseal abcd']);
    expect(state.unsealKey?.toString('hex')).toBe('abcd');
    expect(await held).toEqual({ kind: 'unsealed' });
  });

  it('a seal tells every worker, zeroes and forgets the key and resets the progress', async () => {
    const { state, calls } = recorder();
    await state.submit(1, share(1), 1);
    const key = Buffer.from('abcd', 'hex');
    await state.unsealed(1, key);
    await state.submit(1, share(5), 3);
    await state.sealed();
    expect(calls).toEqual(['unseal abcd', 'seal']);
    expect(state.unsealKey).toBeUndefined();
    expect(key.equals(Buffer.alloc(2))).toBe(true);
    expect(state.view()).toEqual({ progress: 0, nonce: '' });
  });

  it('reset empties the progress', async () => {
    const { state } = recorder();
    await state.submit(1, share(1), 3);
    state.reset();
    expect(state.view()).toEqual({ progress: 0, nonce: '' });
  });
});
