import type { CaptureManifest, ProcessEntry, SnapshotEntry } from '../capture-folder/manifest.js';
import { diskFullTarget, mentionsDiskFull } from './disk-full.js';
import type { ChildEvent } from './protocol.js';
import type { CaptureProgress } from './progress.js';

/** What the child-side events said, beyond what goes into the manifest. */
export interface EventSummary {
  /** A child-side write failed for lack of space: what it was writing (an absolute path). */
  diskFull?: string;
  done: boolean;
  error: Extract<ChildEvent, { event: 'error' }> | undefined;
  harnessExit: Extract<ChildEvent, { event: 'harness-exit' }> | undefined;
  /** The last phase the harness entered. */
  phase: Extract<ChildEvent, { event: 'phase' }> | undefined;
  notes: string[];
}

/** Applies one child event to the manifest; true when the manifest changed. */
export function applyEvent(
  manifest: CaptureManifest,
  summary: EventSummary,
  event: ChildEvent,
  report: (progress: CaptureProgress) => void,
  expectedSnapshots: number | undefined,
): boolean {
  const processEntry = (pid: number): ProcessEntry => {
    let entry = manifest.processes.find((p) => p.pid === pid);
    if (!entry) {
      // Every key up front, so the manifest lists them in this order (undefined ones are left out).
      entry = { pid, ppid: undefined, argv: undefined, node: undefined, folder: undefined, startedAt: undefined, endedAt: undefined, ended: { how: 'running', exitCode: null, signal: null } };
      manifest.processes.push(entry);
    }
    return entry;
  };
  switch (event.event) {
    case 'harness-start': {
      const entry = processEntry(event.pid);
      entry.node = event.node;
      entry.startedAt = event.at;
      manifest.node.version = event.node;
      return true;
    }
    case 'process-start': {
      const entry = processEntry(event.pid);
      Object.assign(entry, { ppid: event.ppid, argv: event.argv, node: event.node, folder: event.folder, startedAt: event.startedAt });
      report({ kind: 'process', pid: event.pid, argv: event.argv });
      return true;
    }
    case 'snapshot': {
      processEntry(event.pid);
      const snapshot: SnapshotEntry = {
        index: manifest.snapshots.length + 1,
        file: event.file,
        label: event.label,
        pid: event.pid,
        takenAt: event.takenAt,
        bytes: event.bytes,
        settleMs: event.settleMs,
        ...(event.gcMs !== undefined ? { gcMs: event.gcMs } : {}),
        writeMs: event.writeMs,
        ...(event.iterations !== undefined ? { iterations: event.iterations } : {}),
        ...(event.totalIterations !== undefined ? { totalIterations: event.totalIterations } : {}),
        ...(event.takenAtUs !== undefined ? { takenAtUs: event.takenAtUs } : {}),
        ...(event.memory !== undefined ? { memory: event.memory } : {}),
        ...(event.nativeLedger !== undefined ? { nativeLedger: event.nativeLedger } : {}),
      };
      manifest.snapshots.push(snapshot);
      report({ kind: 'snapshot', snapshot, expected: expectedSnapshots });
      return true;
    }
    case 'snapshot-failed': {
      if (mentionsDiskFull(event.message)) summary.diskFull ??= diskFullTarget(event.message, manifest.outDir);
      const note = `process ${event.pid}: snapshot "${event.label}" failed: ${event.message}`;
      summary.notes.push(note);
      report({ kind: 'note', message: note });
      return false;
    }
    case 'process-exit': {
      const entry = processEntry(event.pid);
      entry.ended = { how: 'exit', exitCode: event.exitCode, signal: null };
      entry.endedAt = event.at;
      return true;
    }
    case 'error':
      summary.error ??= event;
      if (mentionsDiskFull(event.message)) summary.diskFull ??= diskFullTarget(event.message, manifest.outDir);
      return false;
    case 'done':
      summary.done = true;
      if (event.iterationStartsUs) {
        manifest.timeline = { iterationStartsUs: event.iterationStartsUs };
        return true;
      }
      return false;
    case 'phase':
      summary.phase = event;
      return false;
    case 'harness-exit': {
      summary.harnessExit = event;
      const entry = processEntry(event.pid);
      entry.ended = { how: 'exit', exitCode: event.exitCode, signal: null };
      entry.endedAt = event.at;
      return true;
    }
    default:
      return false;
  }
}

