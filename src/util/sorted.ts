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

/**
 * Orders strings by UTF-16 code units, the same on every machine. Not
 * localeCompare: its first call maps ICU's collation data, several MB of
 * resident memory for a tie-break between class names.
 */
export function compareCodeUnits(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
