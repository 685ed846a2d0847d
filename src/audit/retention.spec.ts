import type { PartitionRange } from './audit-log.repository';
import { droppablePrefix } from './retention';

const range = (month: string, minSequence: number | null, maxSequence: number | null): PartitionRange => ({
  name: `p${month}`,
  month,
  minSequence,
  maxSequence,
});
const cutoff = Date.UTC(2025, 3, 15); // mid-April 2025: January to March have ended

describe('droppablePrefix', () => {
  it('drops every expired month when their entries all precede the kept ones', () => {
    expect(droppablePrefix([range('2025-01', 1, 10), range('2025-02', 11, 20), range('2025-03', 21, 30), range('2025-04', 31, 40)], cutoff)).toBe(3);
  });

  it('never drops a month that has not ended before the cutoff', () => {
    expect(droppablePrefix([range('2025-04', 1, 10), range('2025-05', 11, 20)], cutoff)).toBe(0);
  });

  it('stops before a month whose entries interleave with a kept month', () => {
    // March holds 35, after April's first entry 31: dropping March would cut a hole in the chain.
    expect(droppablePrefix([range('2025-01', 1, 10), range('2025-02', 11, 20), range('2025-03', 21, 35), range('2025-04', 31, 40)], cutoff)).toBe(2);
    // January holds 25, after February's entries: dropping January alone would leave 11..20 before its gap; both go together.
    expect(droppablePrefix([range('2025-01', 1, 25), range('2025-02', 11, 20), range('2025-03', 26, 30), range('2025-04', 31, 40)], cutoff)).toBe(3);
  });

  it('drops empty expired partitions', () => {
    expect(droppablePrefix([range('2025-01', null, null), range('2025-02', 1, 5), range('2025-05', 6, 9)], cutoff)).toBe(2);
  });
});
