import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { join } from 'node:path';
import { EVENTS_FILE } from '../capture-folder/files.js';
import { writeManifest, type CaptureManifest } from '../capture-folder/manifest.js';
import { applyEvent, type EventSummary } from './child-events.js';
import { EventLog } from './event-log.js';
import { KILL_GRACE_MS, type CommonOptions } from './progress.js';

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
        writeManifest(manifest);
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

/** The processes the events did not see end: the main child by its outcome, the others unknown. */
export function settleProcessEntries(manifest: CaptureManifest, outcome: ChildOutcome): void {
  for (const entry of manifest.processes) {
    if (entry.ended.how !== 'running') continue;
    if (entry.pid === outcome.pid && outcome.signal) entry.ended = { how: 'signal', exitCode: null, signal: outcome.signal };
    else if (entry.pid === outcome.pid && outcome.exitCode !== null) entry.ended = { how: 'exit', exitCode: outcome.exitCode, signal: null };
    else entry.ended = { how: 'unknown', exitCode: null, signal: null };
  }
}

/** Child environment without the capture's own variables inherited from an enclosing capture. */
export function cleanEnv(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const copy = { ...env };
  for (const key of Object.keys(copy)) if (key.startsWith('NAPI_HEAPDIFF_')) delete copy[key];
  return copy;
}
