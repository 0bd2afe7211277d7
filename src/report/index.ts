import { evaluateGate, NO_BUDGETS, type Budgets } from '../analysis/budget.js';
import type { AnalysisResult } from '../analysis/result.js';
import { renderHtml } from './html.js';
import { renderJunit } from './junit.js';
import { renderMarkdown } from './markdown.js';
import type { Reporter, ReportInput } from './types.js';
import { writeFilesAtomic } from './write.js';

export type { Reporter, ReportInput } from './types.js';
export { renderGithubAnnotations } from './annotations.js';
export { renderHtml } from './html.js';
export { renderJunit } from './junit.js';
export { renderMarkdown } from './markdown.js';
export { readResultFile, checkResult, ResultFileError } from './load-result.js';
export { writeFilesAtomic, type ReportFile } from './write.js';
export * from './escape.js';

/**
 * result.json: the analysis as `diff --json` writes it (a capture's outcome
 * kept beside it), plus `gate`: the budgets applied and each group's outcome.
 * `napi-heapdiff report` re-renders from it (recomputing `gate`).
 */
export function renderJson({ result, gate }: ReportInput): string {
  return `${JSON.stringify({ ...result, gate }, null, 2)}\n`;
}

/** The report formats, keyed by name; `writeReport` writes them all. */
export const REPORTERS: Readonly<Record<string, Reporter>> = Object.freeze({
  json: { name: 'json', file: 'result.json', description: 'the analysis and the gate, as data', render: renderJson },
  markdown: { name: 'markdown', file: 'summary.md', description: 'a GitHub-flavoured summary (job summary, PR comment)', render: renderMarkdown },
  html: { name: 'html', file: 'report.html', description: 'one self-contained page with charts, tables, retaining paths, creation sites', render: renderHtml },
  junit: { name: 'junit', file: 'junit.xml', description: 'a test case per async-context name and reference group', render: renderJunit },
});

/** Builds the input of every reporter: the result and its gate under `budgets`. */
export function reportInput(result: AnalysisResult & { capture?: unknown }, budgets: Budgets = NO_BUDGETS, cwd = ''): ReportInput {
  const { gate: _previous, ...rest } = result as AnalysisResult & { capture?: unknown; gate?: unknown };
  return { result: rest, gate: evaluateGate(rest, budgets), cwd };
}

/**
 * Renders every reporter (all in memory first: a renderer that throws writes
 * nothing) and writes the files into `dir` as one unit ({@link writeFilesAtomic}).
 * Returns the files, by reporter name, with their content.
 */
export function writeReport(dir: string, input: ReportInput, reporters: readonly Reporter[] = Object.values(REPORTERS)): Record<string, { path: string; content: string }> {
  const files = reporters.map((reporter) => ({ reporter, name: reporter.file, content: reporter.render(input) }));
  const paths = writeFilesAtomic(dir, files);
  return Object.fromEntries(files.map((file, i) => [file.reporter.name, { path: paths[i]!, content: file.content }]));
}

