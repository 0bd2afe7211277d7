import { traceFilesOf } from '../capture-folder/files.js';
import type { FolderManifest } from '../capture-folder/manifest.js';
import { lastIndexAtOrBelow } from '../util/sorted.js';
import { BUILTIN_ASYNC_TYPES } from './builtin-async-types.js';
import { buildLedger, type Ledger } from './ledger.js';
import { readTraceFiles } from './trace-events.js';

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

/**
 * The lifecycle ledger of a capture or attach folder, from the manifest the
 * caller holds: Node's async_hooks trace events of the main process (only the
 * trace files this capture wrote), cut into windows at the snapshots' times
 * (both on the process.hrtime clock), and spread over iterations when the
 * harness recorded their start times.
 */
export function loadCaptureLedger(folder: string, manifest: FolderManifest, pid: number | undefined): CaptureLedger {
  const none = { ledger: undefined, traceEventsPerWindow: undefined };
  const files = traceFilesOf(folder, manifest, pid);
  if (files.length === 0) return { ...none, missing: undefined };
  const snapshots = manifest.snapshots.filter((s) => pid === undefined || s.pid === pid);
  if (snapshots.some((s) => typeof s.takenAtUs !== 'number')) {
    return { ...none, missing: 'the manifest has no trace-clock time for some snapshots' };
  }
  try {
    const trace = readTraceFiles(files);
    const events = trace.events.filter((e) => pid === undefined || e.pid === pid);
    const snapshotTimes = snapshots.map((s) => s.takenAtUs!);
    // Events up to each snapshot, minus those up to the one before.
    const times = trace.allTimes;
    const upTo = snapshotTimes.map((t) => (times.length > 0 && times[0]! <= t ? lastIndexAtOrBelow(times, times.length, t) + 1 : 0));
    return {
      ledger: buildLedger(events, {
        snapshotTimes,
        iterationStarts: manifest.mode === 'scenario' ? manifest.timeline?.iterationStartsUs : undefined,
        isBuiltin: (name) => BUILTIN_ASYNC_TYPES.has(name),
      }),
      traceEventsPerWindow: upTo.map((n, i) => n - (i === 0 ? 0 : upTo[i - 1]!)),
      missing: undefined,
    };
  } catch (error) {
    return { ...none, missing: (error as Error).message };
  }
}
