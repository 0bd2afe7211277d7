import { isAbsolute, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { GroupOutcome } from '../analysis/budget.js';
import { bytesInDecimalUnits, signedBytesInDecimalUnits } from '../util/bytes.js';
import type { AnalysisResult, AsyncContextRow, MemoryReading, MemoryReport, NativeMemoryRow, NativeSiteRow, PathStep, ReferenceRow } from '../analysis/result.js';

/**
 * Formatting shared by the report formats. Everything here returns plain,
 * unescaped text: each format escapes what it is given.
 */

export type Row = AsyncContextRow | ReferenceRow | NativeSiteRow | NativeMemoryRow;

/** The row an outcome is about. */
export function rowOf(result: AnalysisResult, group: GroupOutcome): Row {
  if (group.kind === 'native-memory') return result.nativeMemory!;
  if (group.kind === 'native-site') return result.nativeSites![group.index]!;
  return group.kind === 'async-context' ? result.asyncContexts[group.index]! : result.references[group.index]!;
}

/** A creation site as the user wrote it: through the script's source map when it has one. */
export function siteFrame(site: { frame: string; original?: string | null }): string {
  return typeof site.original === 'string' ? site.original : site.frame;
}

/** A reference's function location in the original source when mapped, else in the running script; null for non-functions. */
export function referenceLocation(row: Row): string | null {
  if (!('location' in row) || row.location === null) return null;
  const original = (row as { originalLocation?: unknown }).originalLocation;
  return typeof original === 'string' ? original : row.location;
}

/** The native-memory row counts bytes, every other row objects. */
export function isNativeMemory(row: Row): row is NativeMemoryRow {
  return 'measure' in row;
}

/** Live counts per snapshot, in bytes for native memory. */
export function liveText(row: Row): string {
  return isNativeMemory(row) ? row.live.map(formatBytes).join(' → ') : formatLive(row.live);
}

export function growthText(row: Row): string {
  return isNativeMemory(row) ? formatSignedBytes(row.growth) : formatSigned(row.growth);
}

/** Growth per iteration: a rate of objects, or bytes for native memory. */
export function rateText(row: Row): string {
  if (!isNativeMemory(row)) return formatRate(row.perIteration);
  return row.perIteration === null ? '–' : formatSignedBytes(row.perIteration);
}

/** A budget, in bytes for native memory. */
export function budgetText(row: Row, max: number | null): string {
  return isNativeMemory(row) && max !== null ? `${formatBytes(max)}` : formatBudget(max);
}

/** The native-memory group, when the result has one (results saved before it existed do not). */
export function nativeMemoryOf(result: AnalysisResult): NativeMemoryRow | null {
  const row = (result as { nativeMemory?: unknown }).nativeMemory as NativeMemoryRow | null | undefined;
  return row && typeof row === 'object' && Array.isArray(row.live) ? row : null;
}

/** What native memory is measured as, in words. */
export function nativeMeasureText(row: NativeMemoryRow): string {
  return row.measure === 'malloc-in-use' ? 'C allocator, bytes in use (ArrayBuffers left out)' : 'RSS';
}

/** 1.00, 0.25, 0.3333: two decimals at least, four at most (the precision of perIteration). */
export function formatRate(rate: number | null): string {
  if (rate === null) return '–';
  const rounded = Number(rate.toFixed(4));
  const decimals = (String(rounded).split('.')[1] ?? '').length;
  return rounded.toFixed(Math.max(2, Math.min(4, decimals)));
}

/** A budget as it was given: 0.5, 2. */
export function formatBudget(max: number | null): string {
  return max === null ? '–' : String(max);
}

export function formatSigned(n: number): string {
  return n > 0 ? `+${n}` : String(n);
}

/** Bytes with a sign when positive: +1.2 kB, 0 B, -950 B. */
export function formatSignedBytes(bytes: number): string {
  return signedBytesInDecimalUnits(bytes, 1);
}

/** A count that may be missing (a result with fewer values than snapshots). */
export function formatCount(n: number | null | undefined): string {
  return typeof n === 'number' ? String(n) : '–';
}

export function formatLive(live: readonly number[]): string {
  return live.join(' → ');
}

/** Bytes in decimal units, like DevTools: 950 B, 6.2 kB, 1.4 MB. */
export function formatBytes(bytes: number): string {
  return bytesInDecimalUnits(bytes, 1);
}

export function kindLabel(kind: GroupOutcome['kind']): string {
  return kind === 'async-context' ? 'async context' : kind === 'reference' ? 'reference' : kind === 'native-site' ? 'native call site' : 'native memory';
}

/** Whether a row is a native call site of the native ledger. */
export function isNativeSite(row: Row): row is NativeSiteRow {
  return 'pair' in row && 'frames' in row;
}

/** The native sites of a result (results saved before the native ledger existed have none). */
export function nativeSitesOf(result: AnalysisResult): NativeSiteRow[] {
  const sites = (result as { nativeSites?: unknown }).nativeSites;
  return Array.isArray(sites) ? (sites as NativeSiteRow[]) : [];
}

/** A site's chain of addon frames, innermost first: "open_context (helper.c:17) ← StartA (helper.c:36)". */
export function siteChainText(row: NativeSiteRow): string {
  return row.frames.map((frame) => frame.text).join(' ← ');
}

/** acquired 40, released 0, open 40 (of them weak 40), per snapshot joined by →. */
export function siteCountsText(row: NativeSiteRow): string {
  const weak = row.weak && row.weak.some((n) => n > 0) ? `, of them weak (refcount 0) ${row.weak.join(' → ')}` : '';
  return `acquired ${row.acquired.join(' → ')}, released ${row.released.join(' → ')}, open ${row.live.join(' → ')}${weak}`;
}

// The fields below were added to the result after its first version: a result
// saved by an older version (or by hand) may lack them, so each is read through
// an accessor that gives null (or 0) for a missing or malformed value.

/** The kind of leak of a group (label, fix hint, what it rests on), when the analysis classified it. */
export function leakKindOf(row: Row): { label: string; hint: string; evidence: string | null; certain: boolean } | null {
  const kind = (row as { leakKind?: unknown }).leakKind as { label?: unknown; hint?: unknown; evidence?: unknown; certain?: unknown } | null | undefined;
  if (!kind || typeof kind.label !== 'string') return null;
  return {
    label: kind.label,
    hint: typeof kind.hint === 'string' ? kind.hint : '',
    evidence: typeof kind.evidence === 'string' && kind.evidence ? kind.evidence : null,
    certain: kind.certain !== false,
  };
}

/**
 * The kind of leak and its fix hint, when the analysis classified the group
 * ("missing destroy — fix: pair every napi_async_init with …"); null otherwise.
 */
export function leakKindText(row: Row): string | null {
  const kind = leakKindOf(row);
  if (kind === null) return null;
  return kind.hint ? `${kind.label} — fix: ${kind.hint}` : kind.label;
}

/** `text`, followed by the group's kind and fix hint when it has one ("…; missing destroy — fix: …"). */
export function withLeakKind(text: string, row: Row): string {
  const kind = leakKindText(row);
  return kind === null ? text : `${text}; ${kind}`;
}

/** Why heap and ledger disagree (or what native memory did), when the analysis says so and the kind's evidence does not already say it. */
export function explanationText(row: Row): string | null {
  const explanation = (row as { explanation?: unknown }).explanation;
  if (typeof explanation !== 'string' || !explanation) return null;
  return leakKindOf(row)?.evidence === explanation ? null : explanation;
}

export type Ledger = NonNullable<AsyncContextRow['ledger']>;

/** An async-context group's exact per-snapshot counts from Node's trace events, when the capture recorded them. */
export function ledgerOf(row: Row): Ledger | null {
  const ledger = (row as { ledger?: unknown }).ledger as Partial<Ledger> | null | undefined;
  if (!ledger || !Array.isArray(ledger.created) || !Array.isArray(ledger.destroyed) || !Array.isArray(ledger.open)) return null;
  return ledger as Ledger;
}

/** "created 110 → 160 → 210, destroyed 100 → 100 → 100, open 10 → 60 → 110". */
export function ledgerText(ledger: Ledger): string {
  return `created ${formatLive(ledger.created)}, destroyed ${formatLive(ledger.destroyed)}, open ${formatLive(ledger.open)}`;
}

/** Whether any async-context group carries ledger counts (the tables then get a column for them). */
export function hasLedgerRows(result: AnalysisResult): boolean {
  return result.asyncContexts.some((row) => ledgerOf(row) !== null);
}

/** Whether a trace-event ledger was joined in; null when the result does not say (older results). */
export function ledgerFound(result: AnalysisResult): boolean | null {
  const ledger = (result as { ledger?: unknown }).ledger as { found?: unknown } | undefined;
  return ledger && typeof ledger.found === 'boolean' ? ledger.found : null;
}

/** Live contexts (last snapshot) whose JS resource was collected: a native-only leak. */
export function resourcesCollectedOf(row: Row): number {
  const n = (row as { resourcesCollected?: unknown }).resourcesCollected;
  return typeof n === 'number' && Number.isFinite(n) ? n : 0;
}

/** The memory readings beside the heap, when the result has them. */
export function memoryOf(result: AnalysisResult): MemoryReport | null {
  const memory = (result as { memory?: unknown }).memory as Partial<MemoryReport> | undefined;
  if (!memory || typeof memory !== 'object' || !Array.isArray(memory.readings) || !Array.isArray(memory.globalHandles)) return null;
  return {
    readings: memory.readings,
    globalHandles: memory.globalHandles,
    cleanupHooksAdded: Array.isArray(memory.cleanupHooksAdded) ? memory.cleanupHooksAdded : [],
    perIteration: memory.perIteration ?? null,
  };
}

/** One row of the memory table per snapshot: the reading (or null), global handles, cleanup hooks added. */
export function memoryRows(result: AnalysisResult, memory: MemoryReport): Array<{ label: string; reading: MemoryReading | null; globalHandles: number | null; cleanupHooksAdded: number | null }> {
  return result.snapshots.map((snapshot, i) => ({
    label: snapshot.label,
    reading: memory.readings[i] ?? null,
    globalHandles: memory.globalHandles[i] ?? null,
    cleanupHooksAdded: memory.cleanupHooksAdded[i] ?? null,
  }));
}

/** The line under the memory table: growth per iteration, or why it was not measured. */
export function memoryGrowthText(memory: MemoryReport): string {
  const rate = memory.perIteration;
  if (rate) {
    return `Growth per iteration (least squares): RSS ${formatSignedBytes(rate.rss)}, heap used ${formatSignedBytes(rate.heapUsed)}, external ${formatSignedBytes(rate.external)}.`;
  }
  return memory.readings.every((r) => r === null)
    ? 'No process memory reading came with these snapshots: growth per iteration not measured.'
    : 'Growth per iteration not measured: it needs iteration counts and memory readings from enough snapshots.';
}

/** The analysis notes a report lists. */
export function reportNotes(result: AnalysisResult): string[] {
  return result.notes;
}

/** One line on why a group failed or passed, without its name (numbers and fixed words only). */
export function outcomeText(group: GroupOutcome, row: Row): string {
  const trend = `${liveText(row)} (${growthText(row)}${row.perIteration !== null ? `, ${rateText(row)}/iteration` : ''})`;
  switch (group.reason) {
    case 'over-budget':
      return `over budget: ${rateText(row)}/iteration > ${budgetText(row, group.maxPerIteration)}/iteration allowed; live ${trend}, verdict ${row.verdict}`;
    case 'within-budget':
      return `within budget: ${rateText(row)}/iteration ≤ ${budgetText(row, group.maxPerIteration)}/iteration allowed; live ${trend}, verdict ${row.verdict}`;
    case 'leak':
      return `leak: grew at every step, live ${trend}${group.budgetUnchecked ? '; budget not checked (no iteration counts)' : ''}`;
    case 'ignored':
      return `ignored by configuration; live ${trend}, verdict ${row.verdict}`;
    case 'accounted': {
      const by = (row as { accountedFor?: string[] | null }).accountedFor ?? [];
      return `accounted for by ${by.join(', ')}; live ${trend}, verdict ${row.verdict}`;
    }
    case 'no-leak':
      return `${row.verdict}: live ${trend}`;
  }
}

/** A short status word for tables. */
export function statusText(group: GroupOutcome): string {
  switch (group.reason) {
    case 'over-budget':
      return 'FAIL (over budget)';
    case 'leak':
      return 'FAIL (leak)';
    case 'within-budget':
      return 'pass (within budget)';
    case 'ignored':
      return 'ignored';
    case 'accounted':
      return 'pass (accounted for)';
    case 'no-leak':
      return 'pass';
  }
}

/** A retaining path on one line, without object ids: (root) -element:1→ (GC roots) -internal:68→ Object. */
export function pathText(steps: readonly PathStep[], options: { ids?: boolean } = {}): string {
  return steps
    .map((step, i) => {
      const node = step.node || `(${step.nodeType})`;
      const id = options.ids ? ` @${step.id}` : '';
      return i === 0 ? '(root)' : `-${step.edge}→ ${node}${id}`;
    })
    .join(' ');
}

export interface SourceLocation {
  /** The function, when the frame names one. */
  fn: string;
  /** The script as written in the frame, made relative to `cwd` when under it. */
  file: string;
  /** True when `file` is a path relative to `cwd` (so it can be annotated). */
  inCwd: boolean;
  line: number | null;
  column: number | null;
}

/**
 * Splits a V8 stack frame ("fn (file:///repo/x.mjs:15:11)", "at x.mjs:3:1",
 * "node:internal/...") into function and location, the path made relative to
 * `cwd` when it is inside it.
 */
export function parseFrame(frame: string, cwd: string): SourceLocation {
  const match = /^(?:at )?(.*?) ?\(([^()]*)\)$/.exec(frame.trim());
  const [fn, where] = match ? [match[1]!, match[2]!] : ['', frame.trim().replace(/^at /, '')];
  const position = /^(.*?):(\d+)(?::(\d+))?$/.exec(where);
  let file = position ? position[1]! : where;
  const line = position ? Number(position[2]) : null;
  const column = position?.[3] !== undefined ? Number(position[3]) : null;
  if (file.startsWith('file://')) {
    try {
      file = fileURLToPath(file);
    } catch {
      // leave it as written
    }
  }
  let inCwd = false;
  if (isAbsolute(file) && cwd) {
    const rel = relative(cwd, file);
    if (rel && !rel.startsWith('..') && !isAbsolute(rel)) {
      file = rel.split(sep).join('/');
      inCwd = true;
    }
  }
  return { fn, file, inCwd, line, column };
}

/** "fn x.mjs:15:11": a frame shortened to the working directory. */
export function frameText(frame: string, cwd: string): string {
  const loc = parseFrame(frame, cwd);
  const where = `${loc.file}${loc.line !== null ? `:${loc.line}` : ''}${loc.column !== null ? `:${loc.column}` : ''}`;
  return loc.fn ? `${loc.fn} ${where}` : where;
}

/** Which groups the charts plot: every leaking or failing group. */
export function charted(groups: readonly GroupOutcome[], kind: GroupOutcome['kind']): GroupOutcome[] {
  return groups.filter((g) => g.kind === kind && (g.verdict === 'leak' || g.status === 'fail'));
}

export function comparisonText(result: AnalysisResult): string {
  return result.comparison === 'identity' ? 'same process, compared by object id' : 'compared by counts';
}

export function plural(n: number, one: string, many = `${one}s`): string {
  return `${n} ${n === 1 ? one : many}`;
}
