import { holderName, localDeadline, safetyMarginMs } from './leader-lease';

describe('leader lease: the local deadline', () => {
  it('stops counting itself leader a margin before the TTL runs out (a fifth of the TTL, at most 2 s)', () => {
    expect(safetyMarginMs(15_000)).toBe(2000);
    expect(safetyMarginMs(3000)).toBe(600);
    expect(localDeadline(1000, 15_000)).toBe(14_000);
    expect(localDeadline(0, 3000)).toBe(2400);
  });

  it('names the holder by node and worker', () => {
    expect(holderName({ nodeId: 'node-a', workerId: 2 })).toBe('node-a#2');
  });
});
