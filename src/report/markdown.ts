import type { GroupOutcome } from '../analysis/budget.js';
import type { AnalysisResult } from '../analysis/result.js';
import { escapeMarkdown, markdownCode, markdownCodeBlock } from './escape.js';
import {
  comparisonText,
  explanationText,
  formatBudget,
  formatBytes,
  formatCount,
  formatLive,
  formatRate,
  formatSigned,
  frameText,
  hasLedgerRows,
  budgetText,
  growthText,
  isNativeMemory,
  isNativeSite,
  nativeSitesOf,
  siteChainText,
  siteCountsText,
  kindLabel,
  leakKindOf,
  leakKindText,
  liveText,
  nativeMeasureText,
  ledgerFound,
  ledgerOf,
  ledgerText,
  memoryGrowthText,
  memoryOf,
  memoryRows,
  outcomeText,
  pathText,
  plural,
  rateText,
  referenceLocation,
  reportNotes,
  rowOf,
  siteFrame,
  statusText,
  type Row,
} from './format.js';
import type { ReportInput } from './types.js';

/** Rows per table, and failing groups detailed, in the summary (GitHub caps a job summary at 1 MiB); report.html has them all. */
export const MARKDOWN_MAX_ROWS = 50;

const MARK: Record<GroupOutcome['status'], string> = { fail: '❌', pass: '✅', ignored: '➖' };

/**
 * summary.md: GitHub-flavoured Markdown for a job summary or a PR comment —
 * the outcome, one table per kind (with the trace-event ledger's open count
 * beside the heap's live count when there is a ledger), memory beside the
 * heap, and for each failing group (then each leaking group that passes) why,
 * its kind of leak and fix, where it was created and how it is retained.
 * Every snapshot string is in a code span ({@link markdownCode}), a code
 * block ({@link markdownCodeBlock}) or escaped ({@link escapeMarkdown}).
 */
export function renderMarkdown({ result, gate, cwd = '' }: ReportInput): string {
  const out: string[] = [];
  const failing = gate.groups.filter((g) => g.status === 'fail');
  out.push(failing.length > 0 ? `## napi-heapdiff: ❌ ${plural(failing.length, 'failing group')}` : '## napi-heapdiff: ✅ no failing group', '');

  const series = result.snapshots.map((s) => `${markdownCode(s.label)}${s.iterations !== null ? ` (${plural(s.iterations, 'iteration')})` : ''}`).join(' → ');
  out.push(`Snapshots: ${series}; ${comparisonText(result)}${ledgerFound(result) ? '; trace-event ledger joined' : ''}.`, '');
  if (failing.length > 0) {
    const leaks = failing.filter((g) => g.reason === 'leak').length;
    const over = failing.filter((g) => g.reason === 'over-budget').length;
    out.push(`Failing: ${leaks} leaking, ${over} over budget.`, '');
  }

  const asyncGroups = gate.groups.filter((g) => g.kind === 'async-context');
  out.push('### Async contexts', '');
  if (asyncGroups.length === 0) {
    out.push('None found: no async context open, and no agent records.', '');
  } else {
    // The ledger's open count (exact) beside the heap's live count, when a ledger was joined in.
    const ledger = hasLedgerRows(result);
    out.push(
      `| result | name | live |${ledger ? ' ledger open |' : ''} growth | per iteration | budget | retained | verdict |`,
      `| --- | --- | --- |${ledger ? ' --- |' : ''} ---: | ---: | ---: | ---: | --- |`,
    );
    for (const g of asyncGroups.slice(0, MARKDOWN_MAX_ROWS)) {
      const row = result.asyncContexts[g.index]!;
      const open = ledger ? [formatLive(ledgerOf(row)?.open ?? []) || '–'] : [];
      out.push(tableRow([`${MARK[g.status]} ${statusText(g)}`, markdownCode(row.name, { inTable: true }), formatLive(row.live), ...open, formatSigned(row.growth), formatRate(row.perIteration), formatBudget(g.maxPerIteration), formatBytes(row.retainedSize), row.verdict]));
    }
    out.push(...more(asyncGroups.length), '');
  }

  const referenceGroups = gate.groups.filter((g) => g.kind === 'reference');
  if (referenceGroups.length > 0) {
    out.push('### References', '');
    out.push('| result | name | location | live | growth | per iteration | budget | retained | verdict |', '| --- | --- | --- | --- | ---: | ---: | ---: | ---: | --- |');
    for (const g of referenceGroups.slice(0, MARKDOWN_MAX_ROWS)) {
      const row = result.references[g.index]!;
      const location = referenceLocation(row) === null ? '' : markdownCode(frameText(referenceLocation(row)!, cwd), { inTable: true });
      out.push(tableRow([`${MARK[g.status]} ${statusText(g)}`, markdownCode(row.name, { inTable: true }), location, formatLive(row.live), formatSigned(row.growth), formatRate(row.perIteration), formatBudget(g.maxPerIteration), formatBytes(row.retainedSize), row.verdict]));
    }
    out.push(...more(referenceGroups.length), '');
  }
  if (result.unchangedReferenceGroups > 0) {
    out.push(`${plural(result.unchangedReferenceGroups, 'reference group')} held by global handles did not change (Node's own handles): not listed.`, '');
  }

  const sites = nativeSitesOf(result);
  if (sites.length > 0) {
    const gated = new Map(gate.groups.filter((g) => g.kind === 'native-site').map((g) => [g.index, g]));
    out.push('### Native call sites', '', 'Every place an addon called a Node-API acquire function (native call-site ledger), with what is still open at each snapshot.', '');
    out.push('| result | site | acquires | open | per iteration | budget | verdict | shown by |', '| --- | --- | --- | --- | ---: | ---: | --- | --- |');
    for (const [index, row] of sites.slice(0, MARKDOWN_MAX_ROWS).entries()) {
      const g = gated.get(index);
      const result = g ? `${MARK[g.status]} ${statusText(g)}` : '➖ detail';
      const acquires = `${escapeMarkdown(row.acquire)}${row.asyncName ? ` ${markdownCode(row.asyncName, { inTable: true })}` : ''}`;
      const weak = row.weak && row.weak.some((n) => n > 0) ? ` (weak ${row.weak.at(-1)})` : '';
      out.push(tableRow([result, markdownCode(siteChainText(row), { inTable: true }), acquires, `${formatLive(row.live)}${weak}`, formatRate(row.perIteration), formatBudget(g?.maxPerIteration ?? null), row.verdict, row.shownBy === null ? 'native only' : escapeMarkdown(row.shownBy)]));
    }
    out.push(...more(sites.length), '');
  }

  const native = gate.groups.find((g) => g.kind === 'native-memory');
  if (native) {
    const row = rowOf(result, native);
    out.push('### Native memory', '');
    out.push('| result | measure | per snapshot | growth | per iteration | budget | verdict |', '| --- | --- | --- | ---: | ---: | ---: | --- |');
    out.push(tableRow([`${MARK[native.status]} ${statusText(native)}`, isNativeMemory(row) ? nativeMeasureText(row) : '', liveText(row), growthText(row), rateText(row), budgetText(row, native.maxPerIteration), row.verdict]), '');
  }

  out.push(...memorySection(result));

  if (failing.length > 0) {
    out.push('### Failing groups', '');
    for (const g of failing.slice(0, MARKDOWN_MAX_ROWS)) out.push(...details(g, rowOf(result, g), cwd));
    out.push(...more(failing.length));
  }
  // Leaks that pass the gate (within their budget, or ignored) still get their kind and fix.
  const passingLeaks = gate.groups.filter((g) => g.status !== 'fail' && g.verdict === 'leak');
  if (passingLeaks.length > 0) {
    out.push('### Leaking groups within budget or ignored', '');
    for (const g of passingLeaks.slice(0, MARKDOWN_MAX_ROWS)) out.push(...details(g, rowOf(result, g), cwd));
    out.push(...more(passingLeaks.length));
  }

  const notes = [
    ...reportNotes(result).map(escapeMarkdown),
    ...gate.unmatchedBudgets.map((name) => `The budget for ${markdownCode(name)} matched no group.`),
    ...gate.unmatchedIgnores.map((name) => `The ignored name ${markdownCode(name)} matched no group.`),
  ];
  if (notes.length > 0) out.push('### Notes', '', ...notes.map((note) => `- ${note}`), '');
  return `${out.join('\n').trimEnd()}\n`;
}

function details(g: GroupOutcome, row: Row, cwd: string): string[] {
  const out = [`#### ${MARK[g.status]} ${markdownCode(row.name)} (${kindLabel(g.kind)})`, '', `- ${outcomeText(g, row)}`];
  const kind = leakKindText(row);
  if (kind !== null) out.push(`- kind: ${escapeMarkdown(kind)}`);
  const evidence = leakKindOf(row)?.evidence;
  if (evidence) out.push(`- evidence: ${escapeMarkdown(evidence)}`);
  const ledger = ledgerOf(row);
  if (ledger !== null) out.push(`- heap live ${formatLive(row.live)}; trace-event ledger (exact): ${ledgerText(ledger)}`);
  const explanation = explanationText(row);
  if (explanation !== null) out.push(`- ${escapeMarkdown(explanation)}`);
  if ('creationSites' in row) {
    const sites = row.creationSites.map((site) => `${markdownCode(frameText(siteFrame(site), cwd))} ×${site.count}`);
    if (sites.length === 1) out.push(`- created at: ${sites[0]}`);
    else if (sites.length > 1) out.push('- created at:', ...sites.map((site) => `  - ${site}`));
    if (row.unclosedCallbackScopes) out.push(`- ${plural(row.unclosedCallbackScopes, 'callback scope')} opened and never closed`);
    const atTeardown = row.openAtWorkerTeardown.at(-1) ?? 0;
    if (atTeardown > 0) out.push(`- ${atTeardown} still open when a worker thread ended`);
  } else if (referenceLocation(row) !== null) {
    out.push(`- function at: ${markdownCode(frameText(referenceLocation(row)!, cwd))}`);
  }
  if (isNativeSite(row)) {
    out.push(`- called at: ${row.frames.map((frame) => markdownCode(frame.text)).join(' ← ') || 'no addon frame'}`);
    out.push(`- ${siteCountsText(row)}`);
  }
  if (isNativeMemory(row) && row.valgrind && !row.accountedFor) out.push('- confirm it under valgrind:', '', markdownCodeBlock(row.valgrind, 'sh'));
  if (row.retainingPath) out.push(`- retaining path: ${markdownCode(pathText(row.retainingPath))}`);
  out.push('');
  return out;
}

/** "Memory beside the heap": process.memoryUsage() and global handles per snapshot, growth per iteration. */
function memorySection(result: AnalysisResult): string[] {
  const memory = memoryOf(result);
  if (memory === null) return [];
  const out = ['### Memory beside the heap', ''];
  out.push('| snapshot | RSS | heap used | external | array buffers | global handles | cleanup hooks added |', '| --- | ---: | ---: | ---: | ---: | ---: | ---: |');
  for (const { label, reading, globalHandles, cleanupHooksAdded } of memoryRows(result, memory)) {
    const bytes = reading ? [reading.rss, reading.heapUsed, reading.external, reading.arrayBuffers].map(formatBytes) : ['–', '–', '–', '–'];
    out.push(tableRow([markdownCode(label, { inTable: true }), ...bytes, formatCount(globalHandles), cleanupHooksAdded === null ? '–' : formatSigned(cleanupHooksAdded)]));
  }
  out.push('', memoryGrowthText(memory), '');
  return out;
}

function tableRow(cells: string[]): string {
  return `| ${cells.join(' | ')} |`;
}

function more(count: number): string[] {
  return count > MARKDOWN_MAX_ROWS ? ['', `… and ${count - MARKDOWN_MAX_ROWS} more: see report.html.`] : [];
}
