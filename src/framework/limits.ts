/** Combining optional limits where 0 means "no limit". */

/** The tighter of two limits; 0 (no limit) only when both are 0. */
export function smallerNonZero(a: number, b: number): number {
  if (!a) return b;
  if (!b) return a;
  return Math.min(a, b);
}
