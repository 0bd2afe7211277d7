/**
 * The last index i < length with sorted[i] <= value (binary search over an
 * ascending array); 0 when none is (callers check that case when it matters).
 */
export function lastIndexAtOrBelow(sorted: ArrayLike<number>, length: number, value: number): number {
  let low = 0;
  let high = length - 1;
  while (low < high) {
    const mid = (low + high + 1) >>> 1;
    if (sorted[mid]! <= value) low = mid;
    else high = mid - 1;
  }
  return low;
}
