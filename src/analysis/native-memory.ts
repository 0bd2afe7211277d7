import { bytesInDecimalUnits, signedBytesInDecimalUnits } from '../util/bytes.js';
import { certain } from './leak-kinds.js';
import type { MemoryReading, NativeMemoryRow } from './result.js';
import { perIteration } from './trend.js';

/** The name of the native-memory row: what budgets and ignores match. */
export const NATIVE_MEMORY = '(native memory)';

/** A step must add at least this much native memory, beyond every allowance, to count as growth (three snapshots or more). */
const MIN_STEP_BYTES = 1 << 20;
/**
 * What one trace event may cost the traced process until Node writes it out
 * (its TraceObject and copied arguments: about 240 bytes measured on Node 20;
 * twice that, rounded up, as the allowance).
 */
export const TRACE_EVENT_BYTES = 512;
/** Native growth must also be this many times the JS heap's (a JS leak grows V8's own C++ tables a little). */
const HEAP_TO_NATIVE_RATIO = 8;
/** RSS only (no probe): readings in the trend after the first is left out, and each step's minimum. */
const RSS_MIN_READINGS = 3;
const RSS_MIN_STEP_BYTES = 4 * 1024 * 1024;

export interface NativeMemoryInput {
  readings: Array<MemoryReading | null>;
  /** Cumulative iterations at each snapshot, when known. */
  iterations: number[] | undefined;
  /** Trace events held by the traced process in each window up to a snapshot (the capture's own memory), when traced. */
  traceEventsPerWindow: number[] | undefined;
  /** Async-context groups that grew at every step (they hold native memory too). */
  leakingContexts: string[];
  /** The command to suggest under valgrind. */
  command: string[] | undefined;
}

/**
 * Native memory as a group of its own: per snapshot, the bytes the C
 * allocator had handed out (mallinfo2, read after malloc_trim) minus the
 * ArrayBuffer backing stores (which the JS heap accounts for), when the
 * capture's memory probe ran; otherwise RSS. It leaks when every step grows
 * by at least a MiB beyond what the capture's own trace buffer could hold,
 * and far faster than the JS heap. Null without readings.
 */
export function nativeMemoryRow(input: NativeMemoryInput): NativeMemoryRow | null {
  const { readings, iterations } = input;
  if (readings.length < 2 || readings.some((r) => r === null)) return null;
  const series = readings as MemoryReading[];
  const probed = series.every((r) => typeof r.mallocInUse === 'number');
  const live = series.map((r) => (probed ? r.mallocInUse! - r.arrayBuffers : r.rss));
  const rate = iterations ? perIteration(iterations, live) : undefined;
  const heapRate = iterations ? perIteration(iterations, series.map((r) => r.heapUsed)) : undefined;
  const steps = live.slice(1).map((bytes, i) => bytes - live[i]!);
  const allowance = probed && input.traceEventsPerWindow
    ? steps.map((_, i) => (input.traceEventsPerWindow![i + 1] ?? 0) * TRACE_EVENT_BYTES)
    : steps.map(() => 0);
  const excess = steps.map((step, i) => step - allowance[i]!);

  let leaks: boolean;
  if (probed) {
    // One step could be a warm-up: a leak grows at two steps or more.
    leaks = excess.length >= 2 && excess.every((bytes) => bytes >= MIN_STEP_BYTES) && (heapRate === undefined || rate === undefined || heapRate * HEAP_TO_NATIVE_RATIO < rate);
  } else {
    // RSS keeps what the allocator freed: the first step carries the first
    // snapshot's writing, and later allocations reuse freed memory first.
    const later = excess.slice(1);
    leaks = later.length >= RSS_MIN_READINGS - 1 && later.every((bytes) => bytes >= RSS_MIN_STEP_BYTES) && (heapRate === undefined || rate === undefined || heapRate * HEAP_TO_NATIVE_RATIO < rate);
  }
  const verdict = leaks ? 'leak' : excess.every((bytes) => bytes <= -MIN_STEP_BYTES) ? 'shrinking' : excess[0]! >= MIN_STEP_BYTES && excess.at(-1)! < MIN_STEP_BYTES ? 'warm-up' : 'stable';
  const what = probed ? 'the C allocator\'s bytes in use (ArrayBuffer memory left out)' : 'RSS';
  const stepText = steps.map(formatSignedBytes).join(', ');
  const allowed = allowance.some((bytes) => bytes > 0) ? `, of which up to ${allowance.map(formatBytes).join(', ')} may be the capture's own trace-event buffer` : '';
  const perIterationText = rate === undefined ? '' : ` (${formatSignedBytes(Math.round(rate))}/iteration; the JS heap ${formatSignedBytes(Math.round(heapRate ?? 0))}/iteration)`;
  const contexts = input.leakingContexts.length > 0
    ? `; async contexts left open in the same window also hold native memory: ${input.leakingContexts.join(', ')}`
    : '; no async-context group grew at every step, so open contexts do not account for it';
  const explanation = `${what} grew ${stepText} at the steps${allowed}${perIterationText}${leaks ? contexts : ''}`;
  return {
    name: NATIVE_MEMORY,
    measure: probed ? 'malloc-in-use' : 'rss',
    live,
    growth: live.at(-1)! - live[0]!,
    perIteration: rate === undefined ? null : Math.round(rate),
    retainedSize: 0,
    verdict,
    identity: null,
    retainingPath: null,
    leakKind: leaks ? certain('native-memory', explanation) : null,
    traceAllowance: allowance.some((bytes) => bytes > 0) ? allowance : null,
    explanation,
    accountedFor: null,
    valgrind: leaks ? `valgrind --leak-check=full --show-leak-kinds=definite,possible --trace-children=yes ${input.command && input.command.length > 0 ? input.command.map(shellQuote).join(' ') : 'node app.js'}` : null,
  };
}

const formatBytes = (bytes: number): string => bytesInDecimalUnits(bytes, 1);
const formatSignedBytes = (bytes: number): string => signedBytesInDecimalUnits(bytes, 1);

function shellQuote(arg: string): string {
  return /^[\w@%+=:,./-]+$/.test(arg) ? arg : `'${arg.replaceAll("'", "'\\''")}'`;
}
