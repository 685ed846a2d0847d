import { FIRST_DELAY_MS, MAX_DELAY_MS, QUICK_EXIT_MS, RestartBackoff } from './restart-backoff';

describe('RestartBackoff', () => {
  it('replaces a worker that ran a while at once', () => {
    expect(new RestartBackoff().exited(QUICK_EXIT_MS)).toBe(0);
  });

  it('doubles the wait for each quick death in a row, up to the maximum', () => {
    const backoff = new RestartBackoff();
    const delays = Array.from({ length: 10 }, () => backoff.exited(100));
    expect(delays.slice(0, 4)).toEqual([FIRST_DELAY_MS, FIRST_DELAY_MS * 2, FIRST_DELAY_MS * 4, FIRST_DELAY_MS * 8]);
    expect(delays[9]).toBe(MAX_DELAY_MS);
  });

  it('starts over after a worker that ran a while', () => {
    const backoff = new RestartBackoff();
    backoff.exited(100);
    backoff.exited(100);
    expect(backoff.exited(QUICK_EXIT_MS + 1)).toBe(0);
    expect(backoff.exited(100)).toBe(FIRST_DELAY_MS);
  });
});
