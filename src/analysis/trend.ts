/**
 * How a group's live count moved across a series of snapshots.
 * - `leak`: grew at every step;
 * - `warm-up`: grew, then stopped growing (the last step did not grow);
 * - `stable`: never changed, or moved without a direction;
 * - `shrinking`: never grew and went down.
 */
export type Verdict = 'leak' | 'warm-up' | 'stable' | 'shrinking';

export function verdictOf(live: readonly number[]): Verdict {
  if (live.length < 2) return 'stable';
  const steps = live.slice(1).map((value, i) => value - live[i]!);
  if (steps.every((step) => step > 0)) return 'leak';
  if (steps.every((step) => step === 0)) return 'stable';
  if (steps.every((step) => step <= 0)) return 'shrinking';
  // Grew somewhere and the last step did not: it levelled off. A group that
  // grew at the last step but not at every step is not called a leak; more
  // snapshots decide.
  if (steps.some((step) => step > 0) && steps.at(-1)! <= 0) return 'warm-up';
  return 'stable';
}

/**
 * Growth per iteration: the least-squares slope of live count against the
 * cumulative iteration count at each snapshot. Undefined when the iteration
 * counts do not vary (nothing to divide by).
 */
export function perIteration(iterations: readonly number[], live: readonly number[]): number | undefined {
  const n = Math.min(iterations.length, live.length);
  if (n < 2) return undefined;
  let sx = 0;
  let sy = 0;
  for (let i = 0; i < n; i++) {
    sx += iterations[i]!;
    sy += live[i]!;
  }
  const mx = sx / n;
  const my = sy / n;
  let sxy = 0;
  let sxx = 0;
  for (let i = 0; i < n; i++) {
    const dx = iterations[i]! - mx;
    sxy += dx * (live[i]! - my);
    sxx += dx * dx;
  }
  return sxx === 0 ? undefined : sxy / sxx;
}
