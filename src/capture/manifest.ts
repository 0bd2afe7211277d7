import { readFileSync, readdirSync, rmSync, rmdirSync } from 'node:fs';
import { isAbsolute, join, relative, resolve } from 'node:path';
import { writeFileAtomic } from '../util/atomic-write.js';
import { EVENTS_FILE, MANIFEST_FILE, SCENARIO_OUTPUT_FILE, type MemoryReadingEvent } from './protocol.js';

/**
 * manifest.json, schema version 1: what a capture wrote and how it went.
 * Rewritten atomically after every snapshot, so it is always complete up to
 * the last snapshot even when the child (or the CLI) dies.
 */
export interface CaptureManifest {
  schemaVersion: 1;
  tool: { name: 'napi-heapdiff'; version: string };
  mode: 'scenario' | 'command';
  /** "running" until the capture ends; "failed" when the child did not finish cleanly. */
  status: 'running' | 'completed' | 'failed';
  /** Absolute output folder; every `file` below is relative to it, "/"-separated. */
  outDir: string;
  scenario?: {
    /** Absolute path of the scenario module. */
    module: string;
    iterations: number;
    snapshots: number;
    warmup: number;
  };
  command?: {
    argv: string[];
    cwd: string;
    /** 0 = no periodic snapshots. */
    intervalMs: number;
  };
  /** capture --timeout: the child was to be stopped after this many ms (absent: no limit). */
  timeoutMs?: number;
  /** The Node.js that ran the capture's child (scenario mode) or the CLI (command mode). */
  node: { version: string; execPath: string };
  startedAt: string;
  endedAt: string | null;
  durationMs: number | null;
  /** How the child (scenario process, or the command) ended. */
  ended: CaptureEnding;
  /** Every node process that reported to the capture, in the order they started. */
  processes: ProcessEntry[];
  /** Every snapshot, in the order they were written. */
  snapshots: SnapshotEntry[];
  /** Scenario mode: start of each measured iteration on the trace clock (µs), for the ledger. */
  timeline?: { iterationStartsUs: number[] };
  /** Scenario mode: the child's stdout+stderr (last 1 MiB), when it printed anything. */
  output?: string;
  /** Things that went wrong without ending the capture (a failed snapshot, leftover temporary files). */
  notes?: string[];
}

export interface CaptureEnding {
  how:
    | 'running'
    /** Scenario: every snapshot written, teardown done, exit 0. Command: exit code 0. */
    | 'completed'
    /** Exited with a non-zero code (or, in scenario mode, with 0 before finishing). */
    | 'exited'
    /** Killed by a signal (SIGABRT, SIGSEGV, ...). */
    | 'signal'
    /** V8 ran out of heap (the process aborts; the output says so). */
    | 'out-of-memory'
    /** The scenario threw or rejected; `phase` and `message` say where and what. */
    | 'scenario-error'
    /** The command could not be started. */
    | 'spawn-failed'
    /** The capture was interrupted (SIGINT/SIGTERM to the CLI). */
    | 'aborted'
    /** Still running after `timeoutMs` (capture --timeout): stopped with SIGTERM, then SIGKILL; `signal` is the one it died of. */
    | 'timed-out'
    /** A write into the output folder failed with ENOSPC/EDQUOT; snapshots written before are kept. */
    | 'disk-full';
  exitCode: number | null;
  signal: string | null;
  message?: string;
  /** Scenario mode: where the harness was ("warmup", "phase 2", "snapshot", "teardown", ...). */
  phase?: string;
  /** Scenario mode: the iteration that was running or failed. */
  iteration?: number;
}

export interface ProcessEntry {
  pid: number;
  ppid?: number;
  argv?: string[];
  node?: string;
  /** Command mode: the process's snapshot folder under outDir. */
  folder?: string;
  startedAt?: string;
  endedAt?: string | null;
  /** "exit": it ran its exit handlers (with exitCode); "unknown": no exit was seen (killed, crashed, or still running). */
  ended: { how: 'running' | 'exit' | 'signal' | 'unknown'; exitCode: number | null; signal: string | null };
}

export interface SnapshotEntry {
  /** 1-based over the whole capture. */
  index: number;
  file: string;
  label: string;
  pid: number;
  takenAt: string;
  bytes: number;
  settleMs: number;
  gcMs?: number;
  writeMs: number;
  /** Scenario mode: measured iterations before this snapshot (0, n, 2n, ...). */
  iterations?: number;
  /** Scenario mode: all iterations before it, warm-up included. */
  totalIterations?: number;
  /** On the process.hrtime clock (µs), the clock of Node's trace events: cuts the ledger at this snapshot. */
  takenAtUs?: number;
  /** process.memoryUsage() when it was taken (bytes), and the C allocator's bytes in use when the memory probe ran. */
  memory?: MemoryReadingEvent;
}

export function writeManifest(outDir: string, manifest: CaptureManifest): void {
  writeFileAtomic(join(outDir, MANIFEST_FILE), `${JSON.stringify(manifest, null, 2)}\n`);
}

export function readManifest(outDir: string): CaptureManifest | undefined {
  try {
    const manifest = JSON.parse(readFileSync(join(outDir, MANIFEST_FILE), 'utf8')) as CaptureManifest;
    return manifest?.schemaVersion === 1 ? manifest : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Removes what an earlier capture into the same folder wrote (the files its
 * manifest lists, its process folders when they end up empty, leftover
 * temporary files), so the new manifest never sits next to stale snapshots.
 * Files the manifest does not list are left alone.
 */
const TRACE_FILE = /^trace-\d+-\d+\.log$/;

export function removePreviousCapture(outDir: string): void {
  const previous = readManifest(outDir);
  const inside = (file: string): string | undefined => {
    const path = resolve(outDir, file);
    const rel = relative(outDir, path);
    return rel && !rel.startsWith('..') && !isAbsolute(rel) ? path : undefined;
  };
  if (previous) {
    for (const snapshot of previous.snapshots ?? []) {
      const path = typeof snapshot.file === 'string' ? inside(snapshot.file) : undefined;
      if (path) rmSync(path, { force: true });
    }
    for (const process of previous.processes ?? []) {
      const folder = typeof process.folder === 'string' ? inside(process.folder) : undefined;
      if (folder) removeTemporaryFiles(folder);
      if (folder) rmdirQuietly(folder);
    }
    if (previous.output) {
      const path = inside(previous.output);
      if (path) rmSync(path, { force: true });
    }
    // The previous run's trace-event files (the ledger), one per traced process.
    for (const name of readdirSync(outDir)) if (TRACE_FILE.test(name)) rmSync(join(outDir, name), { force: true });
  }
  rmSync(join(outDir, EVENTS_FILE), { force: true });
  rmSync(join(outDir, SCENARIO_OUTPUT_FILE), { force: true });
  removeTemporaryFiles(outDir);
}

/** Deletes `.<name>.<pid>.tmp` files (unfinished snapshot or manifest writes) in a folder. */
export function removeTemporaryFiles(folder: string): string[] {
  const removed: string[] = [];
  let names: string[];
  try {
    names = readdirSync(folder);
  } catch {
    return removed;
  }
  for (const name of names) {
    if (/^\..+\.\d+\.tmp$/.test(name)) {
      rmSync(join(folder, name), { force: true });
      removed.push(name);
    }
  }
  return removed;
}

function rmdirQuietly(folder: string): void {
  try {
    rmdirSync(folder);
  } catch {
    // not empty or gone
  }
}
