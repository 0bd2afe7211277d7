import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomic } from '../util/atomic-write.js';
import { MANIFEST_FILE } from './files.js';

/** How a capture knew the agent was in the process it attached to. */
export type AgentStatus = 'injected' | 'preloaded' | 'none';
/** The only hosts attach connects to. */
export type LoopbackHost = '127.0.0.1' | '::1';

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
  /** The native call-site ledger cut at this snapshot (native-<pid>-<label>.bin), when the capture ran with it. */
  nativeLedger?: string;
}

/**
 * Memory when a snapshot was taken, in bytes: process.memoryUsage(), and
 * with the memory probe the bytes the C allocator has handed out
 * (mallinfo2: arenas and mmapped blocks), read after malloc_trim(0) so that
 * RSS too counts what is in use rather than freed memory glibc kept.
 */
export interface MemoryReadingEvent {
  rss: number;
  heapUsed: number;
  external: number;
  arrayBuffers: number;
  mallocInUse?: number;
}

/**
 * manifest.json of an attach: the capture manifest (schema version 1, the
 * same fields, read by `diff <folder>` the same way) with mode "attach", an
 * `attach` block instead of `scenario`/`command`, and endings of its own.
 * `node` is the target's Node.js; `processes` holds the target alone.
 */
export interface AttachManifest extends Omit<CaptureManifest, 'mode' | 'scenario' | 'command' | 'ended' | 'output'> {
  mode: 'attach';
  attach: {
    pid: number;
    /** Where its inspector answered (always loopback). */
    host: LoopbackHost;
    port: number;
    /** "opened": by this attach (SIGUSR1); "already-open": it was open before (--inspect, --port, inspector.open()). */
    inspector: 'opened' | 'already-open';
    /** The inspector was closed again at the end (only one this attach opened is closed). */
    inspectorClosed: boolean;
    /** "injected": installed by --inject-agent (sees contexts created after `agentInjectedAt` only); "preloaded": it ran with the agent; "none". */
    agent: AgentStatus;
    agentInjectedAt: string | null;
    /** The injected agent's hook was disabled again when detaching. */
    agentRemoved: boolean;
    /** Snapshots asked for, and ms between the starts of two. */
    snapshots: number;
    intervalMs: number;
  };
  ended: AttachEnding;
}

export interface AttachEnding extends Omit<CaptureEnding, 'how' | 'phase' | 'iteration'> {
  how:
    | 'running'
    /** Every snapshot written, the target still running. */
    | 'completed'
    /** The target exited during the capture (its exit code is not known to a process that did not start it). */
    | 'exited'
    /** The inspector connection closed while the target kept running (inspector.close() in it, another tool). */
    | 'disconnected'
    /** Interrupted (SIGINT/SIGTERM to the CLI, or the caller's AbortSignal). */
    | 'aborted'
    /** A write into the output folder failed with ENOSPC/EDQUOT; the snapshots written before are kept. */
    | 'disk-full'
    /** A snapshot or another protocol step failed; `message` says which. */
    | 'failed';
}

/** Any capture folder's manifest: what `diff <folder>`, the ledger and the reports read. */
export type FolderManifest = CaptureManifest | AttachManifest;

/** Rewrites manifest.json atomically: readers see the previous manifest or this one, whole. */
export function writeManifest(manifest: FolderManifest): void {
  writeFileAtomic(join(manifest.outDir, MANIFEST_FILE), `${JSON.stringify(manifest, null, 2)}\n`);
}

/** The manifest in a folder: undefined when there is none, it is not JSON, or not schema 1. */
export function readManifest(folder: string): FolderManifest | undefined {
  try {
    const manifest = JSON.parse(readFileSync(join(folder, MANIFEST_FILE), 'utf8')) as FolderManifest;
    return manifest?.schemaVersion === 1 ? manifest : undefined;
  } catch {
    return undefined;
  }
}
