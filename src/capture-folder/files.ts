import { existsSync, readdirSync, rmdirSync, rmSync } from 'node:fs';
import { isAbsolute, join, relative, resolve } from 'node:path';
import { isTemporaryName } from '../util/atomic-write.js';
import type { FolderManifest } from './manifest.js';

/**
 * The files of a capture folder (capture --scenario, capture -- <command>,
 * attach), named in one place: every module that writes or reads the folder
 * takes the names from here.
 *
 *   manifest.json                    what was captured and how it ended (manifest.ts)
 *   snapshot-<n>.heapsnapshot        scenario and attach snapshots
 *   <pid>/<seq>-<label>.heapsnapshot command mode: one folder per node process
 *   trace-<pid>-<n>.log              Node's async_hooks trace events (scenario mode)
 *   trace.json                       the same, collected over the inspector (attach)
 *   native-<pid>.bin                 the native call-site ledger of a process (LD_AUDIT library)
 *   native-<pid>-<label>.bin         its cut at a snapshot
 *   scenario-output.log              the scenario process's stdout and stderr
 *   .napi-heapdiff-events.jsonl      child → parent events while the capture runs
 *   .<name>.<pid>.tmp                a write under way (removed when a capture ends)
 */
export const MANIFEST_FILE = 'manifest.json';
/** JSON lines appended by every child-side writer; the parent turns them into manifest.json. */
export const EVENTS_FILE = '.napi-heapdiff-events.jsonl';
/** Output of the scenario process (stdout and stderr, the last 1 MiB). */
export const SCENARIO_OUTPUT_FILE = 'scenario-output.log';
/** The attach's trace-event file (NodeTracing over the inspector). */
export const ATTACH_TRACE_FILE = 'trace.json';

const SCENARIO_TRACE_FILE = /^trace-(\d+)-\d+\.log$/;
const NATIVE_LEDGER_FILE = /^native-\d+(-[\w.]+)?\.bin$/;

/** The native call-site ledger a process writes (LD_AUDIT library): the final state after it exits. */
export function nativeLedgerFile(pid: number): string {
  return `native-${pid}.bin`;
}

/** What `--trace-event-file-pattern` the scenario process gets: Node fills in pid and rotation. */
export function scenarioTracePattern(outDir: string): string {
  return join(outDir, 'trace-${pid}-${rotation}.log');
}

/**
 * The trace-event files that belong to this manifest's capture: the attach's
 * trace.json, or the scenario process's trace-<pid>-<n>.log (the pid of its
 * snapshots). A file left by another capture is never taken for this one's.
 */
export function traceFilesOf(folder: string, manifest: FolderManifest, pid: number | undefined): string[] {
  if (manifest.mode === 'attach') return existsSync(join(folder, ATTACH_TRACE_FILE)) ? [join(folder, ATTACH_TRACE_FILE)] : [];
  if (manifest.mode !== 'scenario') return [];
  const owner = pid ?? manifest.snapshots[0]?.pid;
  return readdirSync(folder)
    .filter((name) => {
      const match = SCENARIO_TRACE_FILE.exec(name);
      return match !== null && Number(match[1]) === owner;
    })
    .sort()
    .map((name) => join(folder, name));
}

/**
 * Removes what an earlier capture into the same folder wrote (the files its
 * manifest lists, its process folders when they end up empty, every
 * trace-event file, leftover temporary files), so the new manifest never
 * sits next to stale snapshots or a stale ledger. Files the manifest does not
 * list are left alone.
 */
export function clearFolder(outDir: string, previous: FolderManifest | undefined): void {
  const inside = (file: unknown): string | undefined => {
    if (typeof file !== 'string') return undefined;
    const path = resolve(outDir, file);
    const rel = relative(outDir, path);
    return rel && !rel.startsWith('..') && !isAbsolute(rel) ? path : undefined;
  };
  if (previous) {
    for (const snapshot of previous.snapshots ?? []) {
      const path = inside(snapshot.file);
      if (path) rmSync(path, { force: true });
    }
    for (const process of previous.processes ?? []) {
      const folder = inside(process.folder);
      if (folder) removeTemporaryFiles(folder);
      if (folder) rmdirQuietly(folder);
    }
    const output = inside((previous as { output?: unknown }).output);
    if (output) rmSync(output, { force: true });
  }
  // Trace files and native ledgers are cleared whatever the manifest says: a
  // ledger is never joined to another capture's snapshots.
  for (const name of readdirSync(outDir)) {
    if (SCENARIO_TRACE_FILE.test(name) || name === ATTACH_TRACE_FILE || NATIVE_LEDGER_FILE.test(name)) rmSync(join(outDir, name), { force: true });
  }
  rmSync(join(outDir, EVENTS_FILE), { force: true });
  rmSync(join(outDir, SCENARIO_OUTPUT_FILE), { force: true });
  removeTemporaryFiles(outDir);
}

/** Deletes `.<name>.<pid>.tmp` files (unfinished snapshot or manifest writes) in a folder; returns their names. */
export function removeTemporaryFiles(folder: string): string[] {
  const removed: string[] = [];
  let names: string[];
  try {
    names = readdirSync(folder);
  } catch {
    return removed;
  }
  for (const name of names) {
    if (isTemporaryName(name)) {
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
