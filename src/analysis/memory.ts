import type { SnapshotCensus } from './census.js';
import type { MemoryReading, MemoryReport } from './result.js';
import { perIteration } from './trend.js';

/** Each env cleanup hook is one CleanupHookCallback (24 bytes) in Node's CleanupQueue. */
const CLEANUP_HOOK_BYTES = 24;

/**
 * Memory beside the heap: process.memoryUsage() at each snapshot (and the C
 * allocator's bytes in use, with the capture's memory probe), the
 * `(Global handles)` edge count, and the env cleanup hooks added. Whether
 * native memory leaks is the native-memory row's to say (native-memory.ts).
 */
export function memoryReport(readings: Array<MemoryReading | null>, censuses: SnapshotCensus[], iterations: number[] | undefined): MemoryReport {
  const complete = readings.every((r) => r !== null) ? (readings as MemoryReading[]) : undefined;
  const slope = (pick: (r: MemoryReading) => number) => Math.round(perIteration(iterations!, complete!.map(pick)) ?? 0);
  return {
    readings,
    globalHandles: censuses.map((c) => c.globalHandles),
    cleanupHooksAdded: cleanupHooksAdded(censuses),
    perIteration: iterations && complete && complete.length >= 2 ? { rss: slope((r) => r.rss), heapUsed: slope((r) => r.heapUsed), external: slope((r) => r.external) } : null,
  };
}

/** Env cleanup hooks added since the first snapshot (CleanupQueue bytes / 24), per snapshot. */
export function cleanupHooksAdded(censuses: SnapshotCensus[]): number[] {
  return censuses.map((c) => Math.round((c.cleanupQueueBytes - censuses[0]!.cleanupQueueBytes) / CLEANUP_HOOK_BYTES));
}
