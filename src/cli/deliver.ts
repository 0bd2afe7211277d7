import { appendFileSync } from 'node:fs';
import { writeFileAtomic } from '../util/atomic-write.js';
import { relative } from 'node:path';
import type { Budgets, GateResult } from '../analysis/budget.js';
import type { AnalysisResult } from '../analysis/result.js';
import { renderGithubAnnotations, reportInput, visible, writeReport } from '../report/index.js';
import { formatRate, outcomeText, rowOf } from '../report/format.js';
import { EXIT_LEAK } from './exit-codes.js';
import { renderAnalysis } from '../report/terminal.js';
import { useColor } from './color.js';
import type { GateFlags } from './gate-options.js';

/**
 * How every analysing command (diff, capture, attach, report) delivers a
 * result: the same gate, the same files, terminal view and exit code. The
 * commands load it when they have a result (it brings the report writers):
 * their flags are in gate-options.ts.
 */

/**
 * What every analysing command does with its result: decide the gate, write
 * the report folder (when asked), print the terminal view and the gate, and
 * on GitHub Actions the annotations and the job summary; sets exit code 1
 * when a group fails. `saved` is what result.json holds (a capture's result
 * carries its capture outcome).
 */
export function deliverResult(
  result: AnalysisResult,
  budgets: Budgets,
  flags: GateFlags,
  options: { saved?: AnalysisResult & { capture?: unknown }; terminal?: 'full' | 'gate' } = {},
): GateResult {
  const saved = options.saved ?? result;
  const cwd = process.cwd();
  const input = reportInput(saved, budgets, cwd);
  const env = process.env;
  if (flags.report) {
    const written = writeReport(flags.report, input);
    const where = relative(cwd, flags.report) || '.';
    process.stderr.write(`napi-heapdiff: report written to ${where}: ${Object.values(written).map((w) => relative(flags.report!, w.path)).join(', ')}\n`);
    if (env.GITHUB_STEP_SUMMARY) appendFileSync(env.GITHUB_STEP_SUMMARY, `${written.markdown!.content}\n`);
  }
  const color = useColor(process.stdout);
  if (options.terminal !== 'gate') process.stdout.write(renderAnalysis(result, { color }));
  process.stdout.write(renderGate(input.gate, input.result, budgets, color, options.terminal === 'gate'));
  if (flags.report && env.GITHUB_ACTIONS === 'true') process.stdout.write(renderGithubAnnotations(input));
  if (input.gate.failed) process.exitCode = EXIT_LEAK;
  return input.gate;
}

/**
 * The gate on the terminal: after the full view only when budgets or ignores
 * are in play (otherwise its verdict line says it all); alone (`always`) it
 * lists every failing group.
 */
function renderGate(gate: GateResult, result: AnalysisResult, budgets: Budgets, color: boolean, always: boolean): string {
  if (!always && budgets.maxPerIteration.size === 0 && budgets.ignore.size === 0) return '';
  const paint = (code: string, text: string) => (color ? `\u001b[${code}m${text}\u001b[0m` : text);
  const out: string[] = always ? [] : [''];
  for (const g of gate.groups) {
    if (g.maxPerIteration === null && g.status !== 'ignored' && !(always && g.status === 'fail')) continue;
    out.push(`gate: ${visible(g.name)}: ${outcomeText(g, rowOf(result, g))}`);
  }
  for (const name of gate.unmatchedBudgets) out.push(`gate: the budget for ${JSON.stringify(name)} matched no group`);
  for (const name of gate.unmatchedIgnores) out.push(`gate: the ignored name ${JSON.stringify(name)} matched no group`);
  const failing = gate.groups.filter((g) => g.status === 'fail');
  out.push(
    failing.length > 0
      ? paint('1;31', `FAIL: ${failing.map((g) => `${visible(g.name)} (${g.reason === 'over-budget' ? `${formatRate(g.perIteration)}/iteration over ${g.maxPerIteration}` : 'leak'})`).join(', ')}`)
      : paint('32', 'pass: no group leaks beyond its budget'),
  );
  return `${out.join('\n')}\n`;
}

/** What capture and attach hold when they end. */
export interface CapturedRun {
  ok: boolean;
  failure: string | undefined;
  manifestPath: string;
  snapshotFiles: string[];
  manifest: { outDir: string; snapshots: readonly unknown[] };
}

/**
 * Where capture and attach end: with two snapshots or more, the analysis
 * (`analyse`, when there is one to run) delivered like diff's, and --json
 * written with the run's own outcome beside it; a failed run is exit 2 after
 * that (its line names a JSON file it could not write). An analysis that
 * fails after a failed run (a full disk left manifest.json behind) gives way
 * to the run's own reason.
 */
export async function deliverCapture(run: CapturedRun, flags: GateFlags & { json?: string }, budgets: Budgets, analyse: (() => Promise<AnalysisResult | undefined>) | undefined): Promise<void> {
  const { ok, failure, manifestPath, snapshotFiles, manifest } = run;
  const capture = { ok, failure: failure ?? null, manifestPath, snapshotFiles, manifest };
  const where = relative(process.cwd(), manifest.outDir) || '.';
  let analysis: AnalysisResult | undefined;
  if (analyse && manifest.snapshots.length >= 2) {
    process.stderr.write(`napi-heapdiff: captured ${manifest.snapshots.length} snapshot(s) in ${where}; analysing\n`);
    try {
      analysis = await analyse();
    } catch (error) {
      if (ok) throw error;
    }
    if (analysis) deliverResult(analysis, budgets, flags, { saved: { ...analysis, capture } });
  }
  let jsonFailure = '';
  if (flags.json) {
    try {
      writeFileAtomic(flags.json, `${JSON.stringify(analysis ? { ...analysis, capture } : { schemaVersion: 1, verdict: null, capture }, null, 2)}\n`);
    } catch (error) {
      if (ok) throw error;
      jsonFailure = `; ${flags.json} not written (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`;
    }
  }
  if (!ok) throw new Error(`${failure ?? 'the capture failed'}${jsonFailure}`);
  if (!analysis) process.stderr.write(`napi-heapdiff: captured ${manifest.snapshots.length} snapshot(s) in ${where}; see ${where}/manifest.json${flags.report ? '; no report (nothing to analyse)' : ''}\n`);
}
