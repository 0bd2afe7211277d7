import type { SnapshotCensus } from './census.js';
import type { AsyncContextRow, MemoryReading, MemoryReport } from './result.js';
import { perIteration } from './trend.js';

/** Each env cleanup hook is one CleanupHookCallback (24 bytes) in Node's CleanupQueue. */
const CLEANUP_HOOK_BYTES = 24;
/** Native growth below this per iteration is noise (allocator slack, page rounding). */
const MIN_NATIVE_BYTES_PER_ITERATION = 4096;

/**
 * Memory beside the heap: process.memoryUsage() at each snapshot, global
 * handles and env cleanup hooks. When the JS heap stays flat while RSS or
 * external memory climbs, native memory is suspected, with the names whose
 * contexts stayed open in that window and the valgrind command to confirm.
 */
export function memoryReport(readings: Array<MemoryReading | null>, censuses: SnapshotCensus[], iterations: number[] | undefined, rows: AsyncContextRow[], command: string[] | undefined): MemoryReport {
  const report: MemoryReport = {
    readings,
    globalHandles: censuses.map((c) => c.globalHandles),
    cleanupHooksAdded: censuses.map((c) => Math.round((c.cleanupQueueBytes - censuses[0]!.cleanupQueueBytes) / CLEANUP_HOOK_BYTES)),
    perIteration: null,
    nativeLeakSuspected: null,
  };
  if (!iterations || readings.some((r) => r === null)) return report;
  const series = readings as MemoryReading[];
  const slope = (pick: (r: MemoryReading) => number) => perIteration(iterations, series.map(pick)) ?? 0;
  const rate = { rss: Math.round(slope((r) => r.rss)), heapUsed: Math.round(slope((r) => r.heapUsed)), external: Math.round(slope((r) => r.external)) };
  report.perIteration = rate;
  const native = Math.max(rate.rss, rate.external);
  if (native >= MIN_NATIVE_BYTES_PER_ITERATION && rate.heapUsed * 4 < native) {
    const names = rows.filter((row) => row.growth > 0).map((row) => row.name);
    const what = rate.external >= rate.rss ? `external memory grows ${rate.external} B/iteration` : `RSS grows ${rate.rss} B/iteration`;
    report.nativeLeakSuspected = {
      names,
      message: `native leak suspected: ${what} while the JS heap grows ${rate.heapUsed} B/iteration; ${names.length > 0 ? `async contexts left open in that window: ${names.join(', ')}` : 'no async context stayed open in that window (memory allocated outside Node-API objects)'}. Confirm with valgrind (below).`,
      valgrind: `valgrind --leak-check=full --show-leak-kinds=definite,possible --trace-children=yes ${command && command.length > 0 ? command.map(shellQuote).join(' ') : 'node app.js'}`,
    };
  }
  return report;
}

function shellQuote(arg: string): string {
  return /^[\w@%+=:,./-]+$/.test(arg) ? arg : `'${arg.replaceAll("'", "'\\''")}'`;
}
