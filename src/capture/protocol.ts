import { fileURLToPath } from 'node:url';

/**
 * What the parent (this library) and the child side (the agent in
 * src/agent/agent.cts and the scenario harness in src/harness/) agree on.
 * The agent cannot import this file (it has no dependencies), so its copies
 * of these names must stay equal to the ones here.
 */

/** JSON lines appended by every child-side writer; the parent turns them into manifest.json. */
export const EVENTS_FILE = '.napi-heapdiff-events.jsonl';
export const MANIFEST_FILE = 'manifest.json';
/** Output of the scenario process (stdout and stderr, the last 1 MiB). */
export const SCENARIO_OUTPUT_FILE = 'scenario-output.log';

/** Set by `capture -- <command>`: the agent in each node process writes snapshots under this folder. */
export const ENV_CAPTURE_DIR = 'NAPI_HEAPDIFF_CAPTURE_DIR';
/** Milliseconds between periodic snapshots in command mode; 0 or unset = none. */
export const ENV_CAPTURE_INTERVAL = 'NAPI_HEAPDIFF_CAPTURE_INTERVAL_MS';

/** The built agent (package export `napi-heapdiff/agent`). */
export const agentPath = (): string => fileURLToPath(new URL('../agent/agent.cjs', import.meta.url));
/** The built scenario harness (a child-process entry point). */
export const harnessPath = (): string => fileURLToPath(new URL('../harness/scenario-harness.js', import.meta.url));

/** Configuration the parent passes to the harness as its only argument (JSON). */
export interface HarnessConfig {
  /** file: URL of the scenario module. */
  moduleUrl: string;
  iterations: number;
  snapshots: number;
  warmup: number;
  /** Absolute output folder; snapshots and the events file go here. */
  outDir: string;
  /** Absolute path of the agent, to reuse its settle() when it was preloaded. */
  agentPath: string;
  /** The compiled memory probe (src/native/memory-probe.c), when it could be built. */
  memoryProbePath?: string;
}

/** One line of the events file. Every writer adds v, pid and at. */
export type ChildEvent =
  | ({ event: 'harness-start'; node: string; argv: string[] } & EventBase)
  | ({ event: 'scenario-loaded'; exports: string[] } & EventBase)
  | ({ event: 'snapshot' } & SnapshotEvent & EventBase)
  | ({ event: 'snapshot-failed'; label: string; message: string } & EventBase)
  | ({ event: 'error'; phase: 'load' | 'setup' | 'iteration' | 'teardown' | 'snapshot'; index?: number; message: string } & EventBase)
  | ({ event: 'phase'; phase: string; nextIteration: number } & EventBase)
  | ({ event: 'done'; totalIterations: number; iterationStartsUs?: number[] } & EventBase)
  | ({ event: 'harness-exit'; exitCode: number; phase: string; nextIteration: number } & EventBase)
  | ({ event: 'process-start'; ppid: number; argv: string[]; execArgv: string[]; node: string; folder: string; startedAt: string } & EventBase)
  | ({ event: 'process-exit'; exitCode: number } & EventBase);

export interface EventBase {
  v: 1;
  pid: number;
  at: string;
}

export interface SnapshotEvent {
  /** Relative to the output folder, "/"-separated. */
  file: string;
  label: string;
  /** 1-based, per process. */
  seq: number;
  takenAt: string;
  /** Waiting for batched destroys. */
  settleMs: number;
  /** Explicit full GCs (scenario mode only). */
  gcMs?: number;
  writeMs: number;
  bytes: number;
  /** Scenario mode: measured iterations before this snapshot (0 for the first). */
  iterations?: number;
  /** Scenario mode: all iterations before this snapshot, warm-up included. */
  totalIterations?: number;
  uptimeMs?: number;
  /** When it was taken on the process.hrtime clock (µs), the clock of Node's trace events. */
  takenAtUs?: number;
  /** process.memoryUsage() just before it was written (and the C allocator's figures, with the memory probe). */
  memory?: MemoryReadingEvent;
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
