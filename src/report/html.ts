import { createHash } from 'node:crypto';
import type { GroupKind, GroupOutcome } from '../analysis/budget.js';
import type { AnalysisResult } from '../analysis/result.js';
import { escapeHtml } from './escape.js';
import {
  charted,
  comparisonText,
  explanationText,
  formatBudget,
  formatBytes,
  formatCount,
  formatLive,
  formatRate,
  formatSigned,
  frameText,
  budgetText,
  growthText,
  hasLedgerRows,
  isNativeMemory,
  isNativeSite,
  kindLabel,
  nativeSitesOf,
  siteChainText,
  siteCountsText,
  liveText,
  nativeMeasureText,
  rateText,
  leakKindOf,
  ledgerFound,
  ledgerOf,
  memoryGrowthText,
  memoryOf,
  memoryRows,
  outcomeText,
  plural,
  reportNotes,
  referenceLocation,
  resourcesCollectedOf,
  rowOf,
  siteFrame,
  statusText,
  type Row,
} from './format.js';
import { chartStyles, renderLineChart, seriesClass } from './svg-chart.js';
import type { ReportInput } from './types.js';

const STYLE = `
:root{color-scheme:light;font:14px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;color:#1b1f24;background:#fff}
body{margin:0 auto;max-width:1100px;padding:16px 24px 48px}
h1{font-size:22px;margin:8px 0}h2{font-size:18px;margin:28px 0 8px;border-bottom:1px solid #d0d7de;padding-bottom:4px}h3{font-size:15px;margin:18px 0 6px}h4{font-size:13px;margin:10px 0 4px}
code,.mono{font:12px/1.4 ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;white-space:pre-wrap;word-break:break-all}
table{border-collapse:collapse;margin:6px 0;width:100%}th,td{border:1px solid #d0d7de;padding:3px 8px;text-align:left;vertical-align:top}th{background:#f6f8fa}
td:nth-child(2){min-width:12em}td.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
.outcome{font-size:16px;font-weight:600;padding:6px 10px;border-radius:6px;display:inline-block}
.outcome.fail,tr.fail td.status{background:#ffebe9;color:#82071e}.outcome.pass,tr.pass td.status{background:#dafbe1;color:#116329}tr.ignored td.status{background:#f6f8fa;color:#57606a}
figure{margin:8px 0 16px}figcaption{font-size:13px}
svg.chart{width:100%;max-width:720px;height:auto;display:block}
.chart .grid{stroke:#e5e7eb;stroke-width:1}.chart .tick,.chart .axis-label{font-size:11px;fill:#57606a;stroke:none}
.series polyline{fill:none;stroke-width:2}.series circle{stroke:none}.series.dashed polyline{stroke-dasharray:6 4}
ul.legend{list-style:none;padding:0;margin:4px 0;display:flex;flex-wrap:wrap;gap:4px 16px}
.swatch{display:inline-block;width:12px;height:12px;border-radius:2px;margin-right:6px;vertical-align:-1px}
ol.path{margin:4px 0;padding-left:24px}ol.path li{margin:1px 0}
dl{display:grid;grid-template-columns:max-content 1fr;gap:2px 12px;margin:4px 0}dt{color:#57606a}dd{margin:0}
article.group{border:1px solid #d0d7de;border-radius:6px;padding:4px 14px 10px;margin:10px 0}
p.kind{background:#fff8c5;border-left:3px solid #bf8700;padding:4px 8px;margin:6px 0}p.explanation{border-left:3px solid #0969da;padding:2px 8px;margin:6px 0}
pre{background:#f6f8fa;border:1px solid #d0d7de;border-radius:6px;padding:8px 10px;margin:6px 0;overflow-x:auto}
.native-leak{background:#ffebe9;border:1px solid #ff8182;border-radius:6px;padding:4px 12px;margin:10px 0}
footer{margin-top:32px;color:#57606a;font-size:12px}
${chartStyles()}
`;

/**
 * report.html: one self-contained page (no script at all, no network: a
 * Content-Security-Policy allows only this page's own stylesheet), with an
 * inline SVG chart of live count per name across snapshots for each kind
 * (one series per leaking or failing group), tables of every group (with
 * its kind of leak, and the trace-event ledger's open count when there is a
 * ledger), memory beside the heap, and for each group worth a look its kind
 * and fix, heap and ledger counts per snapshot, retaining path and creation
 * sites. Every string from a snapshot is escaped ({@link escapeHtml}).
 */
export function renderHtml({ result, gate, cwd = '' }: ReportInput): string {
  const failing = gate.groups.filter((g) => g.status === 'fail');
  const headline = failing.length > 0 ? `✗ ${plural(failing.length, 'failing group')}` : '✓ no failing group';
  const styleHash = createHash('sha256').update(STYLE).digest('base64');
  const csp = `default-src 'none'; style-src 'sha256-${styleHash}'; img-src data:; base-uri 'none'; form-action 'none'`;
  const labels = result.snapshots.map((s) => s.label);
  const detailed = gate.groups.filter((g) => g.status === 'fail' || g.verdict === 'leak' || rowOf(result, g).retainingPath !== null);
  const linked = new Set(detailed);
  const nameCell = (g: GroupOutcome) => `<td>${linked.has(g) ? `<a href="#${anchor(g)}"><code>${escapeHtml(g.name)}</code></a>` : `<code>${escapeHtml(g.name)}</code>`}</td>`;

  const body: string[] = [];
  body.push('<header>', '<h1>napi-heapdiff report</h1>');
  body.push(`<p class="outcome ${failing.length > 0 ? 'fail' : 'pass'}" id="outcome">${escapeHtml(headline)}</p>`);
  const ledger = ledgerFound(result);
  const ledgerSentence = ledger === null ? '' : ` Trace-event ledger: ${ledger ? 'joined' : 'not recorded'}.`;
  body.push(`<p>${escapeHtml(`${plural(result.snapshots.length, 'snapshot')}, ${comparisonText(result)}. Analysis verdict: ${result.verdict}. Agent records: ${result.agent.found ? `found (Node ${result.agent.node ?? 'unknown'})` : 'not found'}.${ledgerSentence}`)}</p>`);
  body.push('</header>');

  body.push('<section id="snapshots"><h2>Snapshots</h2>', '<table><thead><tr><th>#</th><th>label</th><th>iterations</th><th>file</th></tr></thead><tbody>');
  for (const [i, s] of result.snapshots.entries()) {
    body.push(`<tr><td class="num">${i + 1}</td><td>${escapeHtml(s.label)}</td><td class="num">${s.iterations ?? '–'}</td><td><code>${escapeHtml(s.file)}</code></td></tr>`);
  }
  body.push('</tbody></table></section>');

  body.push('<section id="charts"><h2>Live count per name across snapshots</h2>');
  const kinds: Array<[GroupKind, string]> = [['async-context', 'Async contexts'], ['reference', 'References']];
  let charts = 0;
  for (const [kind, title] of kinds) {
    const groups = charted(gate.groups, kind);
    if (groups.length === 0) continue;
    charts++;
    const series = groups.map((g) => ({ name: g.name, values: rowOf(result, g).live }));
    body.push(`<figure class="chart-figure" data-kind="${kind}">`);
    body.push(renderLineChart({ id: `chart-${kind}`, title: `${title}: live count per name across snapshots`, xLabels: labels, series }));
    body.push(`<figcaption>${escapeHtml(title)} that leak or fail:<ul class="legend">`);
    for (const [k, g] of groups.entries()) {
      body.push(`<li><span class="swatch ${seriesClass(k)}"></span><a href="#${anchor(g)}"><code>${escapeHtml(g.name)}</code></a> <span class="mono">${escapeHtml(formatLive(rowOf(result, g).live))}</span></li>`);
    }
    body.push('</ul></figcaption></figure>');
  }
  if (charts === 0) body.push('<p>No group leaks or fails: nothing to chart.</p>');
  body.push('</section>');

  const asyncGroups = gate.groups.filter((g) => g.kind === 'async-context');
  body.push('<section id="async-contexts"><h2>Async contexts</h2>');
  if (asyncGroups.length === 0) body.push('<p>None found: no async context open, and no agent records.</p>');
  else {
    // The ledger's open count (exact) beside the heap's live count, when a ledger was joined in.
    const withLedger = hasLedgerRows(result);
    body.push(tableHead(['result', 'name', 'named', 'live', ...(withLedger ? ['ledger open'] : []), 'growth', 'per iteration', 'budget', 'retained', 'verdict', 'kind', 'top creation site']));
    for (const g of asyncGroups) {
      const row = result.asyncContexts[g.index]!;
      const site = row.creationSites[0];
      const open = withLedger ? cell(formatLive(ledgerOf(row)?.open ?? []) || '–', 'num ledger') : '';
      body.push(
        `<tr class="${g.status}">${cell(statusText(g), 'status')}${nameCell(g)}${cell(row.named ? 'yes' : 'no')}${cell(formatLive(row.live), 'num')}${open}${cell(formatSigned(row.growth), 'num')}${cell(formatRate(row.perIteration), 'num')}${cell(formatBudget(g.maxPerIteration), 'num')}${cell(formatBytes(row.retainedSize), 'num')}${cell(row.verdict)}${cell(leakKindOf(row)?.label ?? '', 'kind')}<td>${site ? `<code>${escapeHtml(frameText(siteFrame(site), cwd))}</code> ×${site.count}` : ''}</td></tr>`,
      );
    }
    body.push('</tbody></table>');
  }
  body.push('</section>');

  const referenceGroups = gate.groups.filter((g) => g.kind === 'reference');
  body.push('<section id="references"><h2>References</h2>');
  if (referenceGroups.length === 0) body.push('<p>No reference group changed.</p>');
  else {
    body.push(tableHead(['result', 'name', 'location', 'live', 'growth', 'per iteration', 'budget', 'retained', 'verdict', 'kind']));
    for (const g of referenceGroups) {
      const row = result.references[g.index]!;
      body.push(
        `<tr class="${g.status}">${cell(statusText(g), 'status')}${nameCell(g)}<td>${referenceLocation(row) === null ? '' : `<code>${escapeHtml(frameText(referenceLocation(row)!, cwd))}</code>`}</td>${cell(formatLive(row.live), 'num')}${cell(formatSigned(row.growth), 'num')}${cell(formatRate(row.perIteration), 'num')}${cell(formatBudget(g.maxPerIteration), 'num')}${cell(formatBytes(row.retainedSize), 'num')}${cell(row.verdict)}${cell(leakKindOf(row)?.label ?? '', 'kind')}</tr>`,
      );
    }
    body.push('</tbody></table>');
  }
  if (result.unchangedReferenceGroups > 0) {
    body.push(`<p>${escapeHtml(`${plural(result.unchangedReferenceGroups, 'reference group')} held by global handles did not change (Node's own handles): not listed.`)}</p>`);
  }
  body.push('</section>');

  const sites = nativeSitesOf(result);
  if (sites.length > 0) {
    const gated = new Map(gate.groups.filter((g) => g.kind === 'native-site').map((g) => [g.index, g]));
    body.push('<section id="native-sites"><h2>Native call sites</h2>', '<p>Every place an addon called a Node-API acquire function (native call-site ledger), with what is still open at each snapshot.</p>');
    body.push(tableHead(['result', 'site', 'acquires', 'async name', 'open', 'weak', 'per iteration', 'budget', 'verdict', 'shown by']));
    for (const [index, row] of sites.entries()) {
      const g = gated.get(index);
      const name = g ? nameCell(g) : `<td><code>${escapeHtml(siteChainText(row))}</code></td>`;
      body.push(`<tr class="${g?.status ?? 'detail'}">${cell(g ? statusText(g) : 'detail', 'status')}${name}${cell(row.acquire)}${cell(row.asyncName ?? '')}${cell(formatLive(row.live), 'num')}${cell(row.weak ? String(row.weak.at(-1)) : '–', 'num')}${cell(formatRate(row.perIteration), 'num')}${cell(formatBudget(g?.maxPerIteration ?? null), 'num')}${cell(row.verdict)}${cell(row.shownBy ?? 'native only')}</tr>`);
    }
    body.push('</tbody></table>', '</section>');
  }

  const native = gate.groups.find((g) => g.kind === 'native-memory');
  if (native) {
    const row = rowOf(result, native);
    body.push('<section id="native-memory"><h2>Native memory</h2>');
    body.push(tableHead(['result', 'name', 'measure', 'per snapshot', 'growth', 'per iteration', 'budget', 'verdict', 'kind']));
    body.push(`<tr class="${native.status}">${cell(statusText(native), 'status')}${nameCell(native)}${cell(isNativeMemory(row) ? nativeMeasureText(row) : '')}${cell(liveText(row), 'num')}${cell(growthText(row), 'num')}${cell(rateText(row), 'num')}${cell(budgetText(row, native.maxPerIteration), 'num')}${cell(row.verdict)}${cell(leakKindOf(row)?.label ?? '', 'kind')}</tr>`);
    body.push('</tbody></table>', `<p class="explanation">${escapeHtml(explanationText(row) ?? '')}</p>`, '</section>');
  }

  body.push(...memorySection(result));

  if (detailed.length > 0) {
    body.push('<section id="groups"><h2>Retaining paths and creation sites</h2>');
    for (const g of detailed) body.push(groupArticle(g, rowOf(result, g), labels, cwd));
    body.push('</section>');
  }

  const notes = [
    ...reportNotes(result),
    ...gate.unmatchedBudgets.map((name) => `The budget for "${name}" matched no group.`),
    ...gate.unmatchedIgnores.map((name) => `The ignored name "${name}" matched no group.`),
  ];
  if (notes.length > 0) body.push('<section id="notes"><h2>Notes</h2><ul>', ...notes.map((note) => `<li>${escapeHtml(note)}</li>`), '</ul></section>');
  body.push('<footer>Written by napi-heapdiff. This page is self-contained: no script, no network.</footer>');

  return [
    '<!DOCTYPE html>',
    '<html lang="en">',
    '<head>',
    '<meta charset="utf-8">',
    `<meta http-equiv="Content-Security-Policy" content="${escapeHtml(csp)}">`,
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    '<meta name="referrer" content="no-referrer">',
    '<link rel="icon" href="data:,">',
    `<title>${escapeHtml(`napi-heapdiff: ${headline}`)}</title>`,
    `<style>${STYLE}</style>`,
    '</head>',
    '<body>',
    ...body,
    '</body>',
    '</html>',
    '',
  ].join('\n');
}

/** "Memory beside the heap": process.memoryUsage() and global handles per snapshot, growth per iteration. */
function memorySection(result: AnalysisResult): string[] {
  const memory = memoryOf(result);
  if (memory === null) return [];
  const out = ['<section id="memory"><h2>Memory beside the heap</h2>'];
  out.push(tableHead(['snapshot', 'RSS', 'heap used', 'external', 'array buffers', 'global handles', 'cleanup hooks added'], 'memory'));
  for (const { label, reading, globalHandles, cleanupHooksAdded } of memoryRows(result, memory)) {
    const bytes = reading ? [reading.rss, reading.heapUsed, reading.external, reading.arrayBuffers] : [null, null, null, null];
    out.push(
      `<tr>${cell(label)}${bytes.map((b) => cell(b === null ? '–' : formatBytes(b), 'num', b === null ? undefined : `${b} bytes`)).join('')}${cell(formatCount(globalHandles), 'num')}${cell(cleanupHooksAdded === null ? '–' : formatSigned(cleanupHooksAdded), 'num')}</tr>`,
    );
  }
  out.push('</tbody></table>', `<p class="memory-growth">${escapeHtml(memoryGrowthText(memory))}</p>`);
  out.push('</section>');
  return out;
}

function groupArticle(g: GroupOutcome, row: Row, labels: readonly string[], cwd: string): string {
  const out: string[] = [];
  out.push(`<article class="group ${g.status}" id="${anchor(g)}" data-kind="${g.kind}" data-name="${escapeHtml(g.name)}">`);
  out.push(`<h3><code>${escapeHtml(row.name)}</code> <small>(${kindLabel(g.kind)})</small></h3>`);
  out.push(`<p>${escapeHtml(`${statusText(g)}: ${outcomeText(g, row)}`)}</p>`);
  const kind = leakKindOf(row);
  if (kind !== null) out.push(`<p class="kind">Kind: <strong>${escapeHtml(kind.label)}</strong>${kind.hint ? ` — fix: ${escapeHtml(kind.hint)}` : ''}</p>`);
  if (kind?.evidence) out.push(`<p class="evidence">Evidence: ${escapeHtml(kind.evidence)}</p>`);
  const explanation = explanationText(row);
  if (explanation !== null) out.push(`<p class="explanation">${escapeHtml(explanation)}</p>`);
  out.push('<dl>');
  const item = (term: string, value: string) => out.push(`<dt>${escapeHtml(term)}</dt><dd>${escapeHtml(value)}</dd>`);
  item('live', liveText(row));
  item('growth', growthText(row));
  item('per iteration', rateText(row));
  item('budget', budgetText(row, g.maxPerIteration));
  if (!isNativeMemory(row)) item('retained (last snapshot)', `${formatBytes(row.retainedSize)} (${row.retainedSize} bytes)`);
  if (row.identity) item('by object id', `${row.identity.newAlive} new and alive, ${row.identity.freed} freed, ${row.identity.kept} kept`);
  if ('counters' in row) {
    if (row.counters) item('hook events', `init ${row.counters.init}, destroy ${row.counters.destroy}, before ${row.counters.before}, after ${row.counters.after}`);
    if (row.unclosedCallbackScopes !== null) item('callback scopes never closed', String(row.unclosedCallbackScopes));
    if (row.openAtWorkerTeardown.some((n) => n > 0)) item('open at worker teardown', formatLive(row.openAtWorkerTeardown));
    const collected = resourcesCollectedOf(row);
    if (collected > 0) item('JS resource collected (native-only leak)', `${plural(collected, 'live context')} (last snapshot)`);
  } else if (referenceLocation(row) !== null) {
    item('function at', frameText(referenceLocation(row)!, cwd));
    if ('originalLocation' in row && row.originalLocation) item('running script', frameText(row.location!, cwd));
  } else if (isNativeMemory(row)) {
    item('measure', nativeMeasureText(row));
  } else if (isNativeSite(row)) {
    item('called at', siteChainText(row) || 'no addon frame');
    item('acquire / release', `${row.acquire} / ${row.release}`);
    item('counts per snapshot', siteCountsText(row));
    for (const frame of row.frames) item('frame', `${frame.text} — ${frame.object}+0x${frame.offset.toString(16)}`);
  }
  out.push('</dl>');
  if (isNativeMemory(row) && row.valgrind && !row.accountedFor) out.push('<p>Confirm it under valgrind:</p>', `<pre><code>${escapeHtml(row.valgrind)}</code></pre>`);
  const ledger = ledgerOf(row);
  if (ledger !== null) {
    out.push('<h4>Heap and trace-event ledger per snapshot (the ledger is exact)</h4>', tableHead(['snapshot', 'heap live', 'ledger created', 'ledger destroyed', 'ledger open'], 'ledger'));
    for (const [i, label] of labels.entries()) {
      out.push(`<tr>${cell(label)}${[row.live[i], ledger.created[i], ledger.destroyed[i], ledger.open[i]].map((n) => cell(formatCount(n), 'num')).join('')}</tr>`);
    }
    out.push('</tbody></table>');
  }
  if (row.retainingPath && row.retainingPath.length > 0) {
    out.push('<h4>Retaining path (from a GC root to one member)</h4>', '<ol class="path">');
    for (const [i, step] of row.retainingPath.entries()) {
      const node = `<code>${escapeHtml(step.node || `(${step.nodeType})`)}</code> <span class="mono">${escapeHtml(`${step.nodeType} @${step.id}`)}</span>`;
      out.push(i === 0 ? `<li>${node}</li>` : `<li><span class="mono">${escapeHtml(`—${step.edge}→`)}</span> ${node}</li>`);
    }
    out.push('</ol>');
  }
  if ('creationSites' in row && row.creationSites.length > 0) {
    out.push('<h4>Creation sites (first stack frame, live contexts in the last snapshot)</h4>', tableHead(['frame', 'count'], 'sites'));
    for (const site of row.creationSites) out.push(`<tr><td><code>${escapeHtml(frameText(siteFrame(site), cwd))}</code></td>${cell(String(site.count), 'num')}</tr>`);
    out.push('</tbody></table>');
  }
  out.push('</article>');
  return out.join('\n');
}

function anchor(g: GroupOutcome): string {
  return `${g.kind}-${g.index}`;
}

function cell(text: string, className?: string, title?: string): string {
  return `<td${className ? ` class="${className}"` : ''}${title ? ` title="${escapeHtml(title)}"` : ''}>${escapeHtml(text)}</td>`;
}

function tableHead(columns: string[], className?: string): string {
  return `<table${className ? ` class="${className}"` : ''}><thead><tr>${columns.map((c) => `<th>${escapeHtml(c)}</th>`).join('')}</tr></thead><tbody>`;
}
