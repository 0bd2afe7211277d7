import Table from 'cli-table3';
import type { AnalysisResult, AsyncContextRow, NativeMemoryRow, NativeSiteRow, PathStep, ReferenceRow } from '../analysis/result.js';
import type { InspectResult } from '../inspect/inspect-snapshot.js';
import { bytesInDecimalUnits, signedBytesInDecimalUnits } from '../util/bytes.js';
import { visible } from './escape.js';

/**
 * The terminal's renderers: the analysis (diff, capture, attach) and the
 * inspect summary as tables. Plain text in, plain text out; whether to
 * colour is the caller's to say.
 */

/** cli-table3 style without colours (they are added, if ever, by the caller). */
const COMPACT = { head: [] as string[], border: [] as string[], compact: true };

/** The terminal's shorter form of the reports' bytes: whole kilobytes (950 kB, 1.2 MB, 12 B). */
function formatBytes(bytes: number): string {
  return bytesInDecimalUnits(bytes, 0);
}

/**
 * 1,234,567. Written out rather than toLocaleString('en-US'): that maps ICU's
 * locale data on first use, some 9 MB of resident memory at the end of an
 * analysis whose peak is what a CI runner has to hold.
 */
function formatCount(n: number): string {
  const [whole, fraction] = String(n).split('.');
  const grouped = whole!.replace(/\B(?=(\d{3})+$)/g, ',');
  return fraction === undefined ? grouped : `${grouped}.${fraction}`;
}

/**
 * The terminal view of an analysis: one table per kind, then paths and notes.
 * Every string from a snapshot is untrusted (a type name can hold escape
 * sequences or newlines), so all strings are made visible first.
 */
export function renderAnalysis(untrusted: AnalysisResult, options: { color?: boolean } = {}): string {
  const result = visibleStrings(untrusted);
  const out: string[] = [];
  const labels = result.snapshots.map((s) => s.label).join(' → ');
  out.push(`snapshots: ${labels} (${result.comparison === 'identity' ? 'same process, compared by object id' : 'compared by counts'})`);
  out.push('', asyncTable(result.asyncContexts, result.ledger?.found === true, result.agent.found));
  if (result.references.length > 0) out.push('', referenceTable(result.references));
  if (result.unchangedReferenceGroups > 0) {
    out.push(`${result.unchangedReferenceGroups} reference group(s) held by global handles did not change (Node's own handles): not listed.`);
  }
  const sites = result.nativeSites ?? [];
  // A real addon has dozens of sites, nearly all balanced: the terminal lists those with something open (the reports list all).
  const openSites = sites.filter((site) => site.verdict !== 'stable' || site.live.some((n) => n > 0));
  if (openSites.length > 0) out.push('', siteTable(openSites));
  if (sites.length > openSites.length) {
    out.push(`${sites.length - openSites.length} native call site(s) of the native ledger had nothing open at any snapshot: not listed (the JSON and reports have them).`);
  }
  const native = result.nativeMemory ?? null;
  if (native) out.push('', nativeTable(native));
  const leaking = [...result.asyncContexts, ...result.references].filter((row) => row.verdict === 'leak' && row.retainingPath);
  for (const row of leaking) out.push('', `retaining path of one ${row.name}:`, `  ${formatPath(row.retainingPath!)}`);
  const labelled = [...result.asyncContexts, ...result.references, ...sites.filter((site) => site.shownBy === null), ...(native && !native.accountedFor ? [native] : [])].filter((row) => row.leakKind);
  if (labelled.length > 0) out.push('', 'leak kinds:');
  for (const row of labelled) {
    out.push(`  ${row.name}: ${row.leakKind!.label} — fix: ${row.leakKind!.hint}`);
    if (row.leakKind!.evidence && row !== native) out.push(`    evidence: ${row.leakKind!.evidence}`);
  }
  for (const row of result.asyncContexts) if (row.explanation) out.push('', `${row.name}: ${row.explanation}`);
  if (native) out.push('', `${native.name}: ${native.explanation}${native.accountedFor ? `; accounted for by ${native.accountedFor.join(', ')}` : ''}`);
  if (native?.valgrind && !native.accountedFor) out.push(`  confirm: ${native.valgrind}`);
  for (const note of result.notes) out.push('', `note: ${note}`);
  const paint = (code: string, text: string) => (options.color ? `\u001b[${code}m${text}\u001b[0m` : text);
  out.push('', result.verdict === 'leak' ? paint('1;31', `LEAK: ${leakSummary(result)}`) : paint('32', 'no leak: no group grew at every step'));
  return `${out.join('\n')}\n`;
}

/** A copy with control characters and lone surrogates in every string made visible. */
function visibleStrings<T>(value: T): T {
  if (typeof value === 'string') return visible(value) as T;
  if (Array.isArray(value)) return value.map(visibleStrings) as T;
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([key, inner]) => [key, visibleStrings(inner)])) as T;
  }
  return value;
}

function asyncTable(rows: AsyncContextRow[], withLedger: boolean, agentFound: boolean): string {
  const head = ['async context (name)', 'live', ...(withLedger ? ['open (ledger)'] : []), 'growth', 'per iteration', 'retained', 'verdict', 'top creation site'];
  const table = new Table({ head, style: COMPACT });
  if (rows.length === 0) table.push([{ colSpan: head.length, content: agentFound ? '(no async context open)' : '(no async contexts found: none open, and no agent records)' }]);
  for (const row of rows) {
    const site = row.creationSites[0];
    const extra = [
      row.unclosedCallbackScopes ? `${row.unclosedCallbackScopes} callback scope(s) never closed` : '',
      row.openAtWorkerTeardown.at(-1) ? `${row.openAtWorkerTeardown.at(-1)} open at worker exit` : '',
      row.contextFrames?.at(-1) ? `holds ${row.contextFrames.at(-1)} context frame(s)` : '',
      row.unnamedResources?.at(-1) ? `${row.unnamedResources.at(-1)} unnamed NULL-resource object(s) counted here` : '',
      ...(row.nativeSites ?? []).map((site) => `native: ${site}`),
    ].filter(Boolean).join('; ');
    table.push([
      row.name + (extra ? `\n(${extra})` : ''),
      row.live.join(' → '),
      ...(withLedger ? [row.ledger ? row.ledger.open.join(' → ') : '–'] : []),
      signed(row.growth),
      row.perIteration === null ? '–' : row.perIteration.toFixed(2),
      formatBytes(row.retainedSize),
      row.verdict,
      site ? `${shortFrame(site.original ?? site.frame)} ×${site.count}` : '',
    ]);
  }
  return table.toString();
}

function referenceTable(rows: ReferenceRow[]): string {
  const table = new Table({ head: ['reference (held by a global handle)', 'location', 'live', 'growth', 'per iteration', 'retained', 'verdict'], style: COMPACT });
  for (const row of rows) {
    table.push([row.name, row.originalLocation ?? row.location ?? '', row.live.join(' → '), signed(row.growth), row.perIteration === null ? '–' : row.perIteration.toFixed(2), formatBytes(row.retainedSize), row.verdict]);
  }
  return table.toString();
}

export function formatPath(steps: PathStep[]): string {
  return steps.map((step, i) => (i === 0 ? '(root)' : `-${step.edge}→ ${step.node || `(${step.nodeType})`} @${step.id}`)).join(' ');
}

function leakSummary(result: AnalysisResult): string {
  const sites = (result.nativeSites ?? []).filter((site) => site.shownBy === null);
  const rows = [...result.asyncContexts, ...result.references, ...sites].filter((row) => row.verdict === 'leak');
  const parts = rows.map((row) => `${row.name} +${row.growth}${row.perIteration !== null ? ` (${row.perIteration.toFixed(2)}/iteration)` : ''}`);
  const native = result.nativeMemory;
  if (native?.verdict === 'leak' && !native.accountedFor) parts.push(`${native.name} ${signedBytesInDecimalUnits(native.growth, 0)}${native.perIteration !== null ? ` (${signedBytesInDecimalUnits(native.perIteration, 0)}/iteration)` : ''}`);
  return parts.join(', ');
}

function siteTable(rows: NativeSiteRow[]): string {
  const table = new Table({ head: ['native call site (native ledger)', 'acquires', 'open', 'per iteration', 'verdict', 'shown by'], style: COMPACT });
  for (const row of rows) {
    table.push([
      row.frames.length > 0 ? row.frames.map((frame, i) => (i === 0 ? frame.text : `← ${frame.text}`)).join('\n') : '(no addon frame)',
      `${row.acquire}${row.asyncName ? `\n"${row.asyncName}"` : ''}`,
      row.live.join(' → ') + (row.weak && row.weak.some((n) => n > 0) ? `\n(weak ${row.weak.at(-1)})` : ''),
      row.perIteration === null ? '–' : row.perIteration.toFixed(2),
      row.verdict,
      row.shownBy === null ? '(native only)' : row.asyncName && row.shownBy.includes(row.asyncName) ? 'its async-context row' : 'the heap',
    ]);
  }
  return table.toString();
}

function nativeTable(row: NativeMemoryRow): string {
  const table = new Table({ head: ['native memory', 'measure', 'per snapshot', 'growth', 'per iteration', 'verdict'], style: COMPACT });
  table.push([
    row.name,
    row.measure === 'malloc-in-use' ? 'C allocator in use' : 'RSS',
    row.live.map(formatBytes).join(' → '),
    signedBytesInDecimalUnits(row.growth, 0),
    row.perIteration === null ? '–' : signedBytesInDecimalUnits(row.perIteration, 0),
    row.verdict,
  ]);
  return table.toString();
}

/**
 * "fn (file:///repo/x.mjs:15:11)" → "fn x.mjs:15:11" relative to the working
 * directory, so the table stays narrow; the JSON keeps the full frame.
 */
export function shortFrame(frame: string, cwd = process.cwd()): string {
  const match = /^(?:at )?(.*?) ?\((.*)\)$/.exec(frame);
  const [fn, where] = match ? [match[1]!, match[2]!] : ['', frame];
  let path = where.replace(/^file:\/\//, '');
  if (path.startsWith(`${cwd}/`)) path = path.slice(cwd.length + 1);
  return fn ? `${fn} ${path}` : path;
}

function signed(n: number): string {
  return n > 0 ? `+${n}` : String(n);
}

/** `inspect`'s summary of one snapshot. */
export function renderInspect(r: InspectResult): string {
  const lines: string[] = [];
  lines.push(`${r.file}`);
  lines.push(`  nodes ${formatCount(r.nodeCount)}, edges ${formatCount(r.edgeCount)}, strings ${formatCount(r.stringCount)}, total self size ${formatBytes(r.totalSize)}`);
  if (r.extraNativeBytes !== undefined) lines.push(`  extra native bytes ${formatBytes(r.extraNativeBytes)}`);
  const classTable = (title: string, rows: InspectResult['topByCount']) => {
    const table = new Table({ head: [title, 'count', 'self size', 'retained size'], style: COMPACT });
    for (const row of rows) table.push([row.className, formatCount(row.count), formatBytes(row.selfSize), formatBytes(row.retainedSize)]);
    return table.toString();
  };
  lines.push('', classTable('top classes by count', r.topByCount));
  lines.push('', classTable('top classes by retained size', r.topByRetainedSize));
  const handles = new Table({ head: ['held by (Global handles)', 'strong', 'weak'], style: COMPACT });
  for (const group of r.globalHandles.byClass) handles.push([group.className, group.strong, group.weak]);
  lines.push('', `global handles: ${r.globalHandles.strong} strong, ${r.globalHandles.weak} weak`, handles.toString());
  for (const anomaly of r.anomalies) lines.push(`note: ${anomaly.message}`);
  return `${lines.join('\n')}\n`;
}
