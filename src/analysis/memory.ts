import type { SnapshotCensus } from './census.js';
import type { AsyncContextRow, MemoryReading, MemoryReport } from './result.js';
import { perIteration } from './trend.js';

/** Each env cleanup hook is one CleanupHookCallback (24 bytes) in Node's CleanupQueue. */
const CLEANUP_HOOK_BYTES = 24;
/** Native growth must be large per iteration, large at every step, and far above the heap's. */
const MIN_NATIVE_BYTES_PER_ITERATION = 8 * 1024;
/** Twice what one snapshot write leaves in RSS on a small heap. */
const MIN_NATIVE_STEP_BYTES = 4 * 1024 * 1024;
const HEAP_TO_NATIVE_RATIO = 8;
/** Readings in the trend (after the first is left out): four snapshots or more. */
const MIN_READINGS = 3;

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
  const growth = snapshotGrowth(readings as MemoryReading[], iterations);
  if (!growth) return report;
  const { rate, steps } = growth;
  report.perIteration = rate;
  const native = Math.max(rate.rss, rate.external);
  const nativeSteps = rate.external >= rate.rss ? steps.external : steps.rss;
  if (nativeSteps.every((step) => step >= MIN_NATIVE_STEP_BYTES) && native >= MIN_NATIVE_BYTES_PER_ITERATION && rate.heapUsed * HEAP_TO_NATIVE_RATIO < native) {
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

type Rate = { rss: number; heapUsed: number; external: number };
interface Growth {
  rate: Rate;
  /** Growth per step, for the every-step test. */
  steps: { rss: number[]; external: number[] };
}

/**
 * Growth across snapshots. Writing a snapshot leaves allocator slack in RSS
 * (tens of MB at the first write, ~2 MB at each later one, and the program's
 * allocations reuse that freed memory first), so the reading before the first
 * snapshot is left out when there are three or more, at least two steps are
 * needed, and each step must pass MIN_NATIVE_STEP_BYTES.
 */
function snapshotGrowth(readings: MemoryReading[], iterations: number[]): Growth | undefined {
  const from = readings.length >= 3 ? 1 : 0;
  const series = readings.slice(from);
  if (series.length < MIN_READINGS) return undefined;
  const x = iterations.slice(from);
  const slope = (pick: (r: MemoryReading) => number) => Math.round(perIteration(x, series.map(pick)) ?? 0);
  const step = (pick: (r: MemoryReading) => number) => series.slice(1).map((r, i) => pick(r) - pick(series[i]!));
  return {
    rate: { rss: slope((r) => r.rss), heapUsed: slope((r) => r.heapUsed), external: slope((r) => r.external) },
    steps: { rss: step((r) => r.rss), external: step((r) => r.external) },
  };
}

function shellQuote(arg: string): string {
  return /^[\w@%+=:,./-]+$/.test(arg) ? arg : `'${arg.replaceAll("'", "'\\''")}'`;
}
