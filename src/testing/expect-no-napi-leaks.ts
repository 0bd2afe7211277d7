import { AssertionError } from 'node:assert';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { analyzeSnapshots } from '../analysis/analyze.js';
import { evaluateGate, NO_BUDGETS, type GateResult } from '../analysis/budget.js';
import type { AnalysisResult } from '../analysis/result.js';
import { captureInputs } from '../analysis/snapshot-inputs.js';
import { captureScenario } from '../capture/scenario.js';
import { formatRate, rowOf } from '../report/format.js';

export interface NoLeakOptions {
  /** The scenario module (path or file: URL): exports iteration(i), optionally setup() and teardown(). */
  scenario: string | URL;
  /** Iterations between two snapshots (default 100). */
  iterations?: number;
  /** Snapshots (default 3: a leak must grow at both steps). */
  snapshots?: number;
  /** Iterations before the first snapshot: caches, lazy initialisation (default 10). */
  warmup?: number;
  /** Most growth per iteration allowed, per name; and names that never fail. */
  maxPerIteration?: Record<string, number>;
  ignore?: string[];
  /** Keep the capture here (default: a temporary folder, removed when nothing leaked). */
  outDir?: string;
  /** Stop the child after this many ms (default: none). */
  timeoutMs?: number;
  /** The native call-site ledger (default true where it is available). */
  nativeLedger?: boolean;
}

/** Thrown when a group fails: the message lists each with its numbers, kind, fix and where it was created. */
export class NapiLeakError extends AssertionError {
  override name = 'NapiLeakError';
  readonly result: AnalysisResult;
  readonly gate: GateResult;
  /** The capture folder, kept for a second look (`napi-heapdiff report`, DevTools). */
  readonly captureDir: string;

  constructor(message: string, result: AnalysisResult, gate: GateResult, captureDir: string) {
    super({ message });
    this.result = result;
    this.gate = gate;
    this.captureDir = captureDir;
  }
}

/**
 * For a test suite: runs the scenario in a child `node` with the agent (and
 * the native call-site ledger), as `napi-heapdiff capture --scenario` does,
 * analyses the snapshots, and resolves with the analysis when no group fails.
 * Otherwise it rejects with a NapiLeakError listing each failing group. A
 * capture that cannot run (module not found, child crashed) rejects with its
 * own one-line reason.
 *
 * @example
 *   import { expectNoNapiLeaks } from 'napi-heapdiff';
 *   test('no Node-API leaks', async () => {
 *     await expectNoNapiLeaks({ scenario: new URL('./leak-check.mjs', import.meta.url), iterations: 200 });
 *   }, 60_000);
 */
export async function expectNoNapiLeaks(options: NoLeakOptions): Promise<AnalysisResult> {
  const scenario = options.scenario instanceof URL ? fileURLToPath(options.scenario) : options.scenario;
  const outDir = options.outDir ?? mkdtempSync(join(tmpdir(), 'napi-heapdiff-'));
  const capture = await captureScenario({
    scenario,
    iterations: options.iterations ?? 100,
    snapshots: options.snapshots ?? 3,
    warmup: options.warmup ?? 10,
    outDir,
    ...(options.timeoutMs !== undefined ? { timeoutMs: options.timeoutMs } : {}),
    ...(options.nativeLedger !== undefined ? { nativeLedger: options.nativeLedger } : {}),
  });
  if (!capture.ok) throw new Error(`napi-heapdiff: the scenario did not run to the end: ${capture.failure ?? 'unknown reason'} (capture folder ${outDir})`);
  const result = await analyzeSnapshots(captureInputs(outDir, capture.manifest));
  const budgets = {
    maxPerIteration: new Map(Object.entries(options.maxPerIteration ?? {})),
    ignore: new Set(options.ignore ?? []),
  };
  const gate = evaluateGate(result, options.maxPerIteration || options.ignore ? budgets : NO_BUDGETS);
  if (!gate.failed) {
    if (options.outDir === undefined) rmSync(outDir, { recursive: true, force: true });
    return result;
  }
  throw new NapiLeakError(leakMessage(result, gate, outDir), result, gate, outDir);
}

/** One paragraph per failing group: what grew and how fast, its kind and fix, where it was created. */
function leakMessage(result: AnalysisResult, gate: GateResult, outDir: string): string {
  const failing = gate.groups.filter((g) => g.status === 'fail');
  const lines = [`${failing.length} Node-API leak${failing.length === 1 ? '' : 's'} (napi-heapdiff):`];
  for (const group of failing) {
    const row = rowOf(result, group);
    const rate = group.reason === 'over-budget' ? `${formatRate(row.perIteration)}/iteration, budget ${group.maxPerIteration}` : `${formatRate(row.perIteration)}/iteration`;
    lines.push(`- ${row.name}: live ${row.live.join(' → ')} (${rate})`);
    if (row.leakKind) lines.push(`  kind: ${row.leakKind.label} — fix: ${row.leakKind.hint}`);
    const where = createdAt(row);
    if (where) lines.push(`  created at: ${where}`);
  }
  lines.push(`capture kept in ${outDir} (napi-heapdiff diff ${outDir} for the full report)`);
  return lines.join('\n');
}

function createdAt(row: ReturnType<typeof rowOf>): string | null {
  if ('frames' in row && row.frames.length > 0) return row.frames.map((frame) => frame.text).join(' ← ');
  if ('creationSites' in row && row.creationSites[0]) return (row.creationSites[0].original ?? row.creationSites[0].frame) + (row.nativeSites.length > 0 ? `; native: ${row.nativeSites.join('; ')}` : '');
  if ('location' in row) return row.originalLocation ?? row.location ?? null;
  return null;
}
