import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { mkdirSync, rmSync, statSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { EventLog } from './event-log.js';
import { CaptureInputError } from './errors.js';
import { removePreviousCapture, removeTemporaryFiles, writeManifest, type CaptureEnding, type CaptureManifest, type ProcessEntry, type SnapshotEntry } from './manifest.js';
import { EVENTS_FILE, MANIFEST_FILE, agentPath, type ChildEvent } from './protocol.js';
import { toolVersion } from './version.js';

/** Progress reports; the library never prints, the CLI turns these into lines. */
export type CaptureProgress =
  | { kind: 'started'; pid: number; argv: string[] }
  | { kind: 'process'; pid: number; argv: string[] }
  | { kind: 'snapshot'; snapshot: SnapshotEntry; expected: number | undefined }
  | { kind: 'note'; message: string }
  | { kind: 'ended'; ending: CaptureEnding };

export interface CaptureResult {
  /** True when the child finished cleanly (see CaptureEnding). */
  ok: boolean;
  /** One line: why it did not, for the CLI to print. */
  failure: string | undefined;
  manifest: CaptureManifest;
  manifestPath: string;
  /** Absolute paths of all snapshots, in the order they were written. */
  snapshotFiles: string[];
}

export interface CommonOptions {
  outDir: string;
  onProgress?: (progress: CaptureProgress) => void;
  /** Aborting kills the child (SIGTERM) and ends the capture as "aborted". */
  signal?: AbortSignal;
  /** Environment for the child; default process.env. */
  env?: NodeJS.ProcessEnv;
  /** How often the events file is read, ms (default 100). */
  pollMs?: number;
  /** Stop the child (SIGTERM, then SIGKILL) once it has run this long, ms; 0 or undefined = no limit. The capture ends as "timed-out". */
  timeoutMs?: number;
  /** How long a child stopped by the timeout or an abort gets between SIGTERM and SIGKILL, ms (default 2000). */
  killGraceMs?: number;
}

/** Default time between SIGTERM and SIGKILL when the capture stops a child. */
export const KILL_GRACE_MS = 2000;

export function checkNonNegativeInteger(value: number, what: string, minimum: number): void {
  if (!Number.isInteger(value) || value < minimum) throw new CaptureInputError(`${what} must be an integer ≥ ${minimum} (got ${value})`);
}

/** ENOSPC (or EDQUOT): the file system the capture writes to is full. */
export function isDiskFull(error: unknown): boolean {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  return code === 'ENOSPC' || code === 'EDQUOT';
}

/** The same, from an error message a child reported (it crossed the process boundary as text). */
export function mentionsDiskFull(text: string | undefined): boolean {
  return text !== undefined && /\b(ENOSPC|EDQUOT)\b|no space left on device|disk quota exceeded/i.test(text);
}

/**
 * The file a disk-full error was about, as the user knows it: a snapshot's
 * temporary name `.snapshot-2.heapsnapshot.123.tmp` becomes `snapshot-2.heapsnapshot`.
 */
export function diskFullTarget(errorOrMessage: NodeJS.ErrnoException | string, outDir: string): string {
  const path = typeof errorOrMessage === 'string' ? /'([^']+)'/.exec(errorOrMessage)?.[1] : errorOrMessage.path;
  if (!path) return outDir;
  const name = basename(path).replace(/^\.(.+)\.\d+\.tmp$/, '$1');
  return join(dirname(path), name);
}

/**
 * Writes the first manifest of a capture; a failure (full disk, read-only
 * folder) is a CaptureInputError, since nothing has started yet.
 */
export function writeFirstManifest(outDir: string, manifest: CaptureManifest): void {
  try {
    writeManifest(outDir, manifest);
  } catch (error) {
    const e = error as NodeJS.ErrnoException;
    const reason = isDiskFull(e) ? `no space left on device (${e.code})` : (e.code ?? e.message.split('\n')[0]);
    throw new CaptureInputError(`cannot write ${join(outDir, MANIFEST_FILE)}: ${reason}`);
  }
}

/** Creates the output folder and clears an earlier capture out of it. */
export function prepareOutDir(outDir: string): string {
  const absolute = resolve(outDir);
  try {
    mkdirSync(absolute, { recursive: true });
  } catch (error) {
    throw new CaptureInputError(`cannot create output folder ${outDir}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
  }
  if (!statSync(absolute).isDirectory()) throw new CaptureInputError(`output path ${outDir} is not a folder`);
  removePreviousCapture(absolute);
  return absolute;
}

export function requireBuiltAgent(): string {
  const path = agentPath();
  try {
    statSync(path);
  } catch {
    throw new CaptureInputError(`agent not built (${path} is missing): run npm run build`);
  }
  return path;
}

/** The manifest of a capture that is starting. */
export function newManifest(mode: CaptureManifest['mode'], outDir: string, extra: Pick<CaptureManifest, 'scenario' | 'command' | 'timeoutMs'>): CaptureManifest {
  return {
    schemaVersion: 1,
    tool: { name: 'napi-heapdiff', version: toolVersion() },
    mode,
    status: 'running',
    outDir,
    ...extra,
    node: { version: process.version, execPath: process.execPath },
    startedAt: new Date().toISOString(),
    endedAt: null,
    durationMs: null,
    ended: { how: 'running', exitCode: null, signal: null },
    processes: [],
    snapshots: [],
  };
}

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

export interface ChildOutcome {
  pid: number | undefined;
  exitCode: number | null;
  signal: NodeJS.Signals | null;
  spawnError: NodeJS.ErrnoException | undefined;
  aborted: boolean;
  /** Stopped by `timeoutMs`. */
  timedOut: boolean;
  /** The first failed write of manifest.json while the child ran (e.g. ENOSPC). */
  writeError: NodeJS.ErrnoException | undefined;
  /** Collected stdout+stderr (only when the child's output was piped). */
  output: string;
}

const OUTPUT_LIMIT = 1 << 20;

/**
 * Runs the child, turning its events into manifest updates as they arrive
 * (the manifest is rewritten after every snapshot), and resolves when it has
 * exited and its output is drained. A timeout or an abort stops it with
 * SIGTERM, then SIGKILL after `killGraceMs`. A manifest write that fails
 * (a full disk) is recorded in `writeError`, never thrown: the snapshots
 * already written and the last complete manifest stay as they are.
 */
export function runChild(
  command: string,
  args: string[],
  spawnOptions: SpawnOptions,
  manifest: CaptureManifest,
  summary: EventSummary,
  options: CommonOptions & { expectedSnapshots?: number },
): Promise<ChildOutcome> {
  const outDir = manifest.outDir;
  const log = new EventLog(join(outDir, EVENTS_FILE));
  const report = options.onProgress ?? (() => {});
  return new Promise((resolvePromise) => {
    let child: ChildProcess;
    const outcome: ChildOutcome = { pid: undefined, exitCode: null, signal: null, spawnError: undefined, aborted: false, timedOut: false, writeError: undefined, output: '' };
    let outputLength = 0;
    const chunks: Buffer[] = [];
    const collect = (chunk: Buffer) => {
      chunks.push(chunk);
      outputLength += chunk.length;
      while (outputLength - chunks[0]!.length > OUTPUT_LIMIT) outputLength -= chunks.shift()!.length;
    };
    const drainEvents = () => {
      let changed = false;
      for (const event of log.read()) changed = applyEvent(manifest, summary, event, report, options.expectedSnapshots) || changed;
      if (!changed) return;
      try {
        writeManifest(outDir, manifest);
      } catch (error) {
        // Kept on disk: the previous manifest (writes are atomic). The next
        // write, at the latest the final one in finishManifest, tries again.
        outcome.writeError ??= error as NodeJS.ErrnoException;
      }
    };
    const poll = setInterval(drainEvents, options.pollMs ?? 100);
    poll.unref();
    const grace = options.killGraceMs ?? KILL_GRACE_MS;
    let killTimer: NodeJS.Timeout | undefined;
    let timeoutTimer: NodeJS.Timeout | undefined;
    let closeTimer: NodeJS.Timeout | undefined;
    const running = () => child !== undefined && child.exitCode === null && child.signalCode === null;
    /** SIGTERM now; SIGKILL if it is still there after the grace period (a busy loop, an ignored SIGTERM). */
    const stop = () => {
      if (!running()) return;
      child.kill('SIGTERM');
      killTimer ??= setTimeout(() => {
        if (!running()) return;
        child.kill('SIGKILL');
      }, grace);
    };
    const onAbort = () => {
      outcome.aborted = true;
      stop();
    };
    let finished = false;
    const finish = () => {
      if (finished) return;
      finished = true;
      clearInterval(poll);
      clearTimeout(killTimer);
      clearTimeout(timeoutTimer);
      clearTimeout(closeTimer);
      // Pipes a process the child started may still hold: stop reading them, or this process never exits.
      child?.stdout?.destroy();
      child?.stderr?.destroy();
      options.signal?.removeEventListener('abort', onAbort);
      drainEvents();
      if (log.malformedLines > 0) summary.notes.push(`${log.malformedLines} unreadable line(s) in the events file`);
      outcome.output = Buffer.concat(chunks).toString('utf8');
      resolvePromise(outcome);
    };
    try {
      child = spawn(command, args, spawnOptions);
    } catch (error) {
      outcome.spawnError = error as NodeJS.ErrnoException;
      finish();
      return;
    }
    outcome.pid = child.pid;
    if (child.pid !== undefined) report({ kind: 'started', pid: child.pid, argv: [command, ...args] });
    child.stdout?.on('data', collect);
    child.stderr?.on('data', collect);
    child.once('error', (error: NodeJS.ErrnoException) => {
      // Spawn failures (ENOENT, EACCES) come here and are followed by no 'close'.
      if (outcome.pid === undefined || error.syscall?.startsWith('spawn')) {
        outcome.spawnError = error;
        finish();
      }
    });
    child.once('exit', (code, signal) => {
      outcome.exitCode = code;
      outcome.signal = signal;
      // 'close' waits for the output pipes, which a process the child started may hold open forever.
      closeTimer = setTimeout(finish, grace);
    });
    child.once('close', (code, signal) => {
      outcome.exitCode = code;
      outcome.signal = signal;
      finish();
    });
    if (options.timeoutMs !== undefined && options.timeoutMs > 0) {
      timeoutTimer = setTimeout(() => {
        if (!running()) return;
        outcome.timedOut = true;
        stop();
      }, options.timeoutMs);
    }
    if (options.signal?.aborted) onAbort();
    else options.signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/** Applies one child event to the manifest; true when the manifest changed. */
function applyEvent(
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

/**
 * Ends the manifest: the ending, times, process endings the events did not
 * give, temporary files removed. Deletes the events file and writes the
 * manifest; when that write fails (a full disk), the previous manifest stays
 * on disk and the result says so instead of throwing.
 */
export function finishManifest(manifest: CaptureManifest, ending: CaptureEnding, outcome: ChildOutcome, notes: string[]): CaptureResult {
  const outDir = manifest.outDir;
  const removed = removeTemporaryFiles(outDir);
  for (const entry of manifest.processes) {
    if (entry.folder) removed.push(...removeTemporaryFiles(join(outDir, entry.folder)));
    if (entry.ended.how !== 'running') continue;
    if (entry.pid === outcome.pid && outcome.signal) entry.ended = { how: 'signal', exitCode: null, signal: outcome.signal };
    else if (entry.pid === outcome.pid && outcome.exitCode !== null) entry.ended = { how: 'exit', exitCode: outcome.exitCode, signal: null };
    else entry.ended = { how: 'unknown', exitCode: null, signal: null };
  }
  if (removed.length > 0) notes.push(`removed ${removed.length} unfinished temporary file(s)`);
  if (outcome.writeError) notes.push(`${MANIFEST_FILE} could not be updated while the capture ran (${outcome.writeError.code ?? outcome.writeError.message.split('\n')[0]})`);
  manifest.ended = ending;
  manifest.status = endedNormally(manifest.mode, ending) ? 'completed' : 'failed';
  manifest.endedAt = new Date().toISOString();
  manifest.durationMs = Date.parse(manifest.endedAt) - Date.parse(manifest.startedAt);
  if (notes.length > 0) manifest.notes = notes;
  // Events first: on a full disk every freed byte helps the manifest through.
  rmSync(join(outDir, EVENTS_FILE), { force: true });
  let failure = manifest.status === 'completed' ? undefined : (ending.message ?? ending.how);
  try {
    writeManifest(outDir, manifest);
  } catch (error) {
    const e = error as NodeJS.ErrnoException;
    const why = isDiskFull(e) ? `no space left on device (${e.code})` : (e.code ?? e.message.split('\n')[0]);
    const cannot = `cannot update ${join(outDir, MANIFEST_FILE)}: ${why}; the one on disk is the last complete version`;
    failure = failure && ending.how === 'disk-full' ? `${failure}; ${MANIFEST_FILE} could not be updated either` : failure ? `${failure}; ${cannot}` : cannot;
    manifest.status = 'failed';
  }
  return {
    ok: failure === undefined,
    failure,
    manifest,
    manifestPath: join(outDir, MANIFEST_FILE),
    snapshotFiles: manifest.snapshots.map((s) => join(outDir, ...s.file.split('/'))),
  };
}

/**
 * A capture that did what was asked: the scenario ran every phase, or the
 * command exited 0 — or was stopped by the --timeout the user gave, the
 * normal way to end a program that never exits by itself (a server). Its
 * snapshots are then analysed like any others.
 */
export function endedNormally(mode: CaptureManifest['mode'], ending: CaptureEnding): boolean {
  return ending.how === 'completed' || (mode === 'command' && ending.how === 'timed-out');
}

/** Child environment without the capture's own variables inherited from an enclosing capture. */
export function cleanEnv(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const copy = { ...env };
  for (const key of Object.keys(copy)) if (key.startsWith('NAPI_HEAPDIFF_')) delete copy[key];
  return copy;
}
