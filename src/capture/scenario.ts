import { statSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { compileNativeHelper } from '../native/compile.js';
import { writeFileAtomic } from '../util/atomic-write.js';
import { CaptureInputError } from './errors.js';
import { EVENTS_FILE, SCENARIO_OUTPUT_FILE, scenarioTracePattern } from '../capture-folder/files.js';
import type { CaptureEnding } from '../capture-folder/manifest.js';
import type { EventSummary } from './child-events.js';
import { cleanEnv, runChild, settleProcessEntries, type ChildOutcome } from './child-process.js';
import { mentionsDiskFull } from './disk-full.js';
import { checkNonNegativeInteger } from './errors.js';
import { checkCaptureFolder, finishCapture, newManifest, openCaptureFolder, type CaptureResult } from './lifecycle.js';
import type { CommonOptions } from './progress.js';
import { nativeLedgerEnv } from './native-ledger-env.js';
import { harnessPath, requireBuiltAgent, type HarnessConfig } from './protocol.js';

export interface ScenarioCaptureOptions extends CommonOptions {
  /** Path of an ESM or CommonJS module exporting iteration(i), and optionally setup() and teardown(). */
  scenario: string;
  /** Iterations between two snapshots. */
  iterations: number;
  /** Snapshots to write (≥ 2): one after warm-up, then one after each `iterations`. */
  snapshots: number;
  /** Iterations before the first snapshot (default 0). */
  warmup?: number;
  /** The node binary for the child (default: this one). */
  nodePath?: string;
  /** Extra node options for the child, before --require. */
  execArgv?: string[];
  /** Run the child with the native call-site ledger (default true; Linux x86-64 with glibc and a C compiler). */
  nativeLedger?: boolean;
}

/**
 * Runs a scenario in a child `node --require <agent> <harness>` and writes
 * snapshot-1.heapsnapshot … snapshot-k.heapsnapshot and manifest.json into
 * `outDir`. Resolves with the result whether or not the child finished
 * cleanly (`ok`, `failure`); throws CaptureInputError before starting when
 * the request itself is wrong.
 *
 * @example
 *   const result = await captureScenario({ scenario: 'leak.mjs', iterations: 100, snapshots: 3, outDir: 'out' });
 *   if (!result.ok) console.error(result.failure);
 */
export async function captureScenario(options: ScenarioCaptureOptions): Promise<CaptureResult> {
  const warmup = options.warmup ?? 0;
  checkNonNegativeInteger(options.iterations, '--iterations', 1);
  checkNonNegativeInteger(options.snapshots, '--snapshots', 2);
  checkNonNegativeInteger(warmup, '--warmup', 0);
  if (options.timeoutMs !== undefined) checkNonNegativeInteger(options.timeoutMs, '--timeout', 0);
  const modulePath = resolve(options.scenario);
  let isFile = false;
  try {
    isFile = statSync(modulePath).isFile();
  } catch {
    // reported below
  }
  if (!isFile) throw new CaptureInputError(`scenario module not found: ${options.scenario}`);
  const agent = requireBuiltAgent();
  const outDir = checkCaptureFolder(options.outDir);

  const manifest = newManifest('scenario', outDir, {
    scenario: { module: modulePath, iterations: options.iterations, snapshots: options.snapshots, warmup },
    timeoutMs: options.timeoutMs || undefined,
  });
  if (options.nodePath) manifest.node.execPath = options.nodePath;
  openCaptureFolder(manifest);

  const probe = compileNativeHelper('memory-probe', options.env ?? process.env);
  const config: HarnessConfig = {
    moduleUrl: pathToFileURL(modulePath).href,
    iterations: options.iterations,
    snapshots: options.snapshots,
    warmup,
    outDir,
    eventsFile: join(outDir, EVENTS_FILE),
    agentPath: agent,
    ...(probe.path ? { memoryProbePath: probe.path } : {}),
  };
  const summary: EventSummary = { done: false, error: undefined, harnessExit: undefined, phase: undefined, notes: [] };
  if (probe.unavailable) summary.notes.push(`native memory is measured from RSS only: the memory probe is unavailable (${probe.unavailable})`);
  const native = options.nativeLedger === false ? { env: cleanEnv(options.env ?? process.env) } : nativeLedgerEnv(outDir, cleanEnv(options.env ?? process.env));
  if (native.unavailable) summary.notes.push(`no native call-site ledger: ${native.unavailable}`);
  const outcome = await runChild(
    options.nodePath ?? process.execPath,
    [...(options.execArgv ?? []), ...traceArgs(outDir), '--require', agent, harnessPath(), JSON.stringify(config)],
    { stdio: ['ignore', 'pipe', 'pipe'], env: native.env, cwd: process.cwd() },
    manifest,
    summary,
    { ...options, expectedSnapshots: options.snapshots },
  );

  let outputWritten = false;
  if (outcome.output.length > 0) {
    try {
      writeFileAtomic(resolve(outDir, SCENARIO_OUTPUT_FILE), outcome.output);
      manifest.output = SCENARIO_OUTPUT_FILE;
      outputWritten = true;
    } catch (error) {
      summary.notes.push(`cannot write ${SCENARIO_OUTPUT_FILE}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
    }
  }
  const outputFile = outputWritten ? relative(process.cwd(), resolve(outDir, SCENARIO_OUTPUT_FILE)) || SCENARIO_OUTPUT_FILE : undefined;
  const ending = scenarioEnding(outcome, summary, manifest.snapshots.length, options.snapshots, outputFile, outDir, options.timeoutMs);
  options.onProgress?.({ kind: 'ended', ending });
  settleProcessEntries(manifest, outcome);
  return finishCapture(manifest, ending, summary.notes, outcome.writeError);
}

const OUT_OF_MEMORY = /JavaScript heap out of memory|Reached heap limit|FatalProcessOutOfMemory|Fatal process out of memory/;

function scenarioEnding(outcome: ChildOutcome, summary: EventSummary, written: number, expected: number, outputFile: string | undefined, outDir: string, timeoutMs: number | undefined): CaptureEnding {
  const base = { exitCode: outcome.exitCode, signal: outcome.signal };
  const where = summary.harnessExit ? { phase: summary.harnessExit.phase, iteration: summary.harnessExit.nextIteration - 1 } : {};
  const progress = `after ${written} of ${expected} snapshots`;
  const seeOutput = outcome.output.trim() && outputFile ? `; output in ${outputFile}` : '';
  if (outcome.spawnError) {
    return { how: 'spawn-failed', ...base, message: `cannot start the scenario process: ${outcome.spawnError.message}` };
  }
  if (outcome.aborted) return { how: 'aborted', ...base, message: `capture interrupted ${progress}` };
  if (outcome.timedOut) {
    // No exit handler runs when it is killed: the last phase reported says where it was.
    const phase = summary.phase?.phase;
    const killed = outcome.signal ? `; stopped with ${outcome.signal}` : '';
    return { how: 'timed-out', ...base, ...(phase ? { phase } : {}), message: `scenario process timed out after ${timeoutMs} ms${phase ? ` in ${phase}` : ''} ${progress}${killed}${seeOutput}` };
  }
  // The child's own writes (snapshots); a manifest.json the parent cannot write is finishManifest's to report.
  const diskFull = summary.diskFull ?? (!summary.error && outcome.exitCode !== 0 && mentionsDiskFull(outcome.output) ? outDir : undefined);
  if (diskFull !== undefined) {
    const phase = summary.error?.phase === 'snapshot' ? 'snapshot' : summary.phase?.phase;
    return { how: 'disk-full', ...base, ...(phase ? { phase } : {}), message: `no space left on device writing ${diskFull}: capture stopped ${progress} (the snapshots written are kept)` };
  }
  if (summary.error) {
    const { phase: step, index, message } = summary.error;
    const what = step === 'iteration' ? `scenario iteration ${index} failed` : step === 'load' ? 'cannot load the scenario' : `scenario ${step} failed`;
    const phase = step === 'iteration' ? (summary.phase?.phase ?? step) : step;
    return { how: 'scenario-error', ...base, phase, ...(index !== undefined ? { iteration: index } : {}), message: `${what}: ${message}` };
  }
  if (OUT_OF_MEMORY.test(outcome.output)) {
    const phase = summary.phase?.phase;
    return { how: 'out-of-memory', ...base, ...(phase ? { phase } : {}), message: `scenario process ran out of memory${phase ? ` in ${phase}` : ''} ${progress}${seeOutput}` };
  }
  if (outcome.signal) {
    // No exit handler runs on a fatal signal: the last phase reported says where it was.
    const phase = summary.phase?.phase;
    return { how: 'signal', ...base, ...(phase ? { phase } : {}), message: `scenario process was killed by ${outcome.signal}${phase ? ` in ${phase}` : ''} ${progress}${seeOutput}` };
  }
  if (outcome.exitCode !== 0) {
    return { how: 'exited', ...base, ...where, message: `scenario process exited with code ${outcome.exitCode} ${progress}${seeOutput}` };
  }
  if (!summary.done || written !== expected) {
    const stalled = summary.harnessExit ? ` in ${summary.harnessExit.phase} (iteration ${summary.harnessExit.nextIteration - 1} never finished?)` : '';
    return { how: 'exited', ...base, ...where, message: `scenario process exited before finishing${stalled} ${progress}` };
  }
  return { how: 'completed', ...base };
}

/**
 * Node's own async_hooks trace events (a begin per init, an end per destroy,
 * every non-built-in name included): the exact lifecycle ledger, written by
 * the process at exit into the capture folder.
 */
export function traceArgs(outDir: string): string[] {
  return ['--trace-event-categories', 'node.async_hooks', '--trace-event-file-pattern', scenarioTracePattern(outDir)];
}
