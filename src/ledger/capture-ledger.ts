import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { BUILTIN_ASYNC_TYPES } from './builtin-async-types.js';
import { lastIndexAtOrBelow } from '../util/sorted.js';
import { buildLedger, type Ledger } from './ledger.js';
import { readTraceFiles } from './trace-events.js';

/** The trace files a capture folder holds: one per traced process (capture), or the attach's one. */
const TRACE_FILE = /^trace-(\d+)-\d+\.log$|^trace\.json$/;

export interface CaptureLedger {
  ledger: Ledger | undefined;
  /**
   * Trace events recorded in each window up to a snapshot (all types): the
   * traced process held each in its trace buffer, C++ memory the capture
   * itself adds, so a native-memory measure must not count it as the addon's.
   */
  traceEventsPerWindow: number[] | undefined;
  /** Why there is none, when the folder was traced but the ledger cannot be built. */
  missing: string | undefined;
}

interface LedgerManifest {
  snapshots?: Array<{ pid?: number; takenAtUs?: number }>;
  timeline?: { iterationStartsUs?: number[] };
}

/**
 * The lifecycle ledger of a capture or attach folder: Node's async_hooks trace
 * events of the main process, cut into windows at the snapshots' times (both
 * on the process.hrtime clock), and spread over iterations when the harness
 * recorded their start times.
 */
export function loadCaptureLedger(folder: string, pid: number | undefined): CaptureLedger {
  const manifestPath = join(folder, 'manifest.json');
  if (!existsSync(manifestPath)) return { ledger: undefined, traceEventsPerWindow: undefined, missing: undefined };
  const manifest = JSON.parse(readFileSync(manifestPath, 'utf8')) as LedgerManifest;
  const files = readdirSync(folder).filter((name) => {
    const match = TRACE_FILE.exec(name);
    return match !== null && (match[1] === undefined || pid === undefined || Number(match[1]) === pid);
  });
  if (files.length === 0) return { ledger: undefined, traceEventsPerWindow: undefined, missing: undefined };
  const snapshots = (manifest.snapshots ?? []).filter((s) => pid === undefined || s.pid === pid);
  if (snapshots.some((s) => typeof s.takenAtUs !== 'number')) {
    return { ledger: undefined, traceEventsPerWindow: undefined, missing: 'the manifest has no trace-clock time for some snapshots' };
  }
  try {
    const trace = readTraceFiles(files.map((name) => join(folder, name)));
    const events = trace.events.filter((e) => pid === undefined || e.pid === pid);
    const snapshotTimes = snapshots.map((s) => s.takenAtUs!);
    // Events up to each snapshot, minus those up to the one before.
    const times = trace.allTimes;
    const upTo = snapshotTimes.map((t) => (times.length > 0 && times[0]! <= t ? lastIndexAtOrBelow(times, times.length, t) + 1 : 0));
    return {
      ledger: buildLedger(events, {
        snapshotTimes,
        iterationStarts: manifest.timeline?.iterationStartsUs,
        isBuiltin: (name) => BUILTIN_ASYNC_TYPES.has(name),
      }),
      traceEventsPerWindow: upTo.map((n, i) => n - (i === 0 ? 0 : upTo[i - 1]!)),
      missing: undefined,
    };
  } catch (error) {
    return { ledger: undefined, traceEventsPerWindow: undefined, missing: (error as Error).message };
  }
}
