import { statSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { MemoryReadingEvent } from '../capture-folder/manifest.js';
import { CaptureInputError } from './errors.js';

/**
 * What the library and the child side (the agent in src/agent/agent.cts, the
 * scenario harness in src/harness/) agree on: the agent's schema in a heap
 * snapshot, its environment variables, the events children report, the
 * harness's configuration. The agent cannot import this file (it must load
 * alone, also when injected into a running process), so its copies of these
 * names must stay equal to the ones here (test/capture/capture.test.ts checks them).
 * The capture folder's file names are capture-folder/files.ts's.
 */

/** The agent's registry object: one per thread, class name and marker (tells it from look-alikes). */
export const REGISTRY_CLASS = 'NapiHeapdiffRegistry';
export const REGISTRY_MARKER = 'napi-heapdiff agent registry';
/** The agent's snapshot schema version. */
export const SCHEMA_VERSION = '1';
/** Record objects are named `${RECORD_TAG_PREFIX}<name>` in snapshots. */
export const RECORD_TAG_PREFIX = 'napi:';
/** The `stack` of a record whose creation stack the agent did not sample. */
export const STACK_NOT_SAMPLED = '(creation stack not sampled)';
/** Overrides the agent's stack sampling policy: "first=<n> every=<m>". */
export const ENV_STACK_SAMPLING = 'NAPI_HEAPDIFF_STACK_SAMPLING';
/** Where the native call-site ledger (LD_AUDIT library) writes native-<pid>.bin; the agent cuts copies there. */
export const ENV_NATIVE_DIR = 'NAPI_HEAPDIFF_NATIVE_DIR';

/** Set by `capture -- <command>`: the agent in each node process writes snapshots under this folder. */
export const ENV_CAPTURE_DIR = 'NAPI_HEAPDIFF_CAPTURE_DIR';
/** Milliseconds between periodic snapshots in command mode; 0 or unset = none. */
export const ENV_CAPTURE_INTERVAL = 'NAPI_HEAPDIFF_CAPTURE_INTERVAL_MS';

/** The built agent (package export `napi-heapdiff/agent`). */
export const agentPath = (): string => fileURLToPath(new URL('../agent/agent.cjs', import.meta.url));

/** The agent's path, or a CaptureInputError when the package was not built. */
export function requireBuiltAgent(): string {
  const path = agentPath();
  try {
    statSync(path);
  } catch {
    throw new CaptureInputError(`agent not built (${path} is missing): run npm run build`);
  }
  return path;
}
/** The built scenario harness (a child-process entry point). */
export const harnessPath = (): string => fileURLToPath(new URL('../harness/scenario-harness.js', import.meta.url));

/** Configuration the parent passes to the harness as its only argument (JSON). */
export interface HarnessConfig {
  /** file: URL of the scenario module. */
  moduleUrl: string;
  iterations: number;
  snapshots: number;
  warmup: number;
  /** Absolute output folder: the snapshots go here. */
  outDir: string;
  /** The events file to append to (in the output folder). */
  eventsFile: string;
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
  /** The native call-site ledger's cut at this snapshot: a file in the capture folder. */
  nativeLedger?: string;
}
