import { writeManifest, type CaptureEnding } from '../capture-folder/manifest.js';
import type { EventSummary } from './child-events.js';
import { cleanEnv, runChild, settleProcessEntries, type ChildOutcome } from './child-process.js';
import { CaptureInputError, checkNonNegativeInteger } from './errors.js';
import { checkCaptureFolder, finishCapture, newManifest, openCaptureFolder, type CaptureResult } from './lifecycle.js';
import { nativeLedgerEnv } from './native-ledger-env.js';
import { appendRequire } from './node-options.js';
import type { CommonOptions } from './progress.js';
import { ENV_CAPTURE_DIR, ENV_CAPTURE_INTERVAL, requireBuiltAgent } from './protocol.js';

export interface CommandCaptureOptions extends CommonOptions {
  /** The command and its arguments, run without a shell (e.g. ["node", "app.js"], ["npm", "test"]). */
  command: string[];
  /** Snapshot every node process every this many ms (0 = only at start-up, on SIGUSR2 and at exit). */
  intervalMs?: number;
  cwd?: string;
  /** Run the command with the native call-site ledger (default true; Linux x86-64 with glibc and a C compiler). */
  nativeLedger?: boolean;
}

/**
 * Runs any command with the agent added to NODE_OPTIONS. Every node process
 * that inherits it writes snapshots into `<outDir>/<pid>/` after start-up,
 * every `intervalMs`, on SIGUSR2 and at exit; manifest.json lists them all,
 * rewritten after each. The command's stdio is the caller's.
 *
 * @example
 *   const result = await captureCommand({ command: ['node', 'server.js'], outDir: 'out', intervalMs: 30_000 });
 */
export async function captureCommand(options: CommandCaptureOptions): Promise<CaptureResult> {
  if (options.command.length === 0 || options.command[0] === '') throw new CaptureInputError('no command given after --');
  const intervalMs = options.intervalMs ?? 0;
  checkNonNegativeInteger(intervalMs, '--interval', 0);
  if (options.timeoutMs !== undefined) checkNonNegativeInteger(options.timeoutMs, '--timeout', 0);
  const agent = requireBuiltAgent();
  const outDir = checkCaptureFolder(options.outDir);
  const cwd = options.cwd ?? process.cwd();

  const manifest = newManifest('command', outDir, { command: { argv: options.command, cwd, intervalMs }, timeoutMs: options.timeoutMs || undefined });
  openCaptureFolder(manifest);

  const native = options.nativeLedger === false ? { env: cleanEnv(options.env ?? process.env) } : nativeLedgerEnv(outDir, cleanEnv(options.env ?? process.env));
  const env = native.env;
  env.NODE_OPTIONS = appendRequire(env.NODE_OPTIONS, agent);
  env[ENV_CAPTURE_DIR] = outDir;
  if (intervalMs > 0) env[ENV_CAPTURE_INTERVAL] = String(intervalMs);

  const summary: EventSummary = { done: false, error: undefined, harnessExit: undefined, phase: undefined, notes: [] };
  if (native.unavailable) summary.notes.push(`no native call-site ledger: ${native.unavailable}`);
  const [file, ...args] = options.command;
  const outcome = await runChild(file!, args, { stdio: 'inherit', env, cwd }, manifest, summary, { ...options });
  const ending = commandEnding(outcome, summary, options.command, manifest.snapshots.length, outDir, options.timeoutMs);
  options.onProgress?.({ kind: 'ended', ending });
  settleProcessEntries(manifest, outcome);
  const result = finishCapture(manifest, ending, summary.notes, outcome.writeError);
  if (result.ok && manifest.processes.length === 0) {
    // Not a failure of the command, but nothing was captured.
    result.manifest.notes = [...(result.manifest.notes ?? []), 'no node process loaded the agent (was NODE_OPTIONS dropped?)'];
    try {
      writeManifest(result.manifest);
    } catch {
      // The manifest written a moment ago stands; only this note is missing from it.
    }
  }
  return result;
}

function commandEnding(outcome: ChildOutcome, summary: EventSummary, command: string[], written: number, outDir: string, timeoutMs: number | undefined): CaptureEnding {
  const base = { exitCode: outcome.exitCode, signal: outcome.signal };
  const name = command[0]!;
  if (outcome.spawnError) {
    const code = outcome.spawnError.code;
    const reason = code === 'ENOENT' ? 'command not found' : code === 'EACCES' ? 'permission denied' : outcome.spawnError.message;
    return { how: 'spawn-failed', ...base, message: `cannot run ${name}: ${reason}` };
  }
  if (outcome.aborted) return { how: 'aborted', ...base, message: `capture interrupted; ${name} was stopped` };
  if (outcome.timedOut) {
    const killed = outcome.signal ? `; stopped with ${outcome.signal}` : '';
    return { how: 'timed-out', ...base, message: `${name} stopped by --timeout after ${timeoutMs} ms${killed}; ${written} snapshot(s) taken` };
  }
  // The command may well have finished; the capture did not. (A manifest.json
  // the parent cannot write is finishManifest's to report.)
  if (summary.diskFull !== undefined) {
    return { how: 'disk-full', ...base, message: `no space left on device writing ${summary.diskFull}; ${written} snapshot(s) written before are kept in ${outDir}` };
  }
  if (outcome.signal) return { how: 'signal', ...base, message: `${name} was killed by ${outcome.signal}` };
  if (outcome.exitCode !== 0) return { how: 'exited', ...base, message: `${name} exited with code ${outcome.exitCode}` };
  return { how: 'completed', ...base };
}
