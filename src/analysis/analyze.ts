import { basename } from 'node:path';
import type { FolderManifest } from '../capture-folder/manifest.js';
import { retainingPath } from '../graph/distances.js';
import { HeapGraph } from '../graph/heap-graph.js';
import { collectGarbage } from '../util/collect-garbage.js';
import { loadCaptureLedger } from '../ledger/capture-ledger.js';
import type { Ledger, NameLedger } from '../ledger/ledger.js';
import { loadSnapshot, type LoadProgress } from '../snapshot/load.js';
import { STACK_NOT_SAMPLED } from '../capture/protocol.js';
import { groupKey, parseGroupKey, takeCensus, type GroupCensus, type SnapshotCensus } from './census.js';
import { explainRow } from './explain-row.js';
import { foldUnnamedGroups } from './fold-unnamed.js';
import { readSiteSeries, type NativePair } from '../native-ledger/sites.js';
import { certain, classifyAsyncLeak, classifyReferenceLeak } from './leak-kinds.js';
import { kindOfPair, makeNamesUnique, markShownByHeap, nativeSiteRow } from './native-sites.js';
import { cleanupHooksAdded, memoryReport } from './memory.js';
import { nativeMemoryRow } from './native-memory.js';
import type { AnalysisResult, AsyncContextRow, IdentityDiff, MemoryReading, NativeSiteRow, PathStep, ReferenceRow, SnapshotRow } from './result.js';
import { CONTEXT_FRAMES } from './rules/index.js';
import { SourceMapResolver } from './source-map.js';
import { perIteration, verdictOf } from './trend.js';
import { compareCodeUnits } from '../util/sorted.js';

export interface SnapshotInput {
  file: string;
  label?: string;
  /** Cumulative iterations when the snapshot was taken. */
  iterations?: number;
  /** The process that wrote it, when known (capture manifest, V8's default file name). */
  pid?: number;
  /** process.memoryUsage() of that process when it was taken. */
  memory?: MemoryReading;
  /** The capture folder it came from, with its manifest (its ledger is joined when every input shares it). */
  capture?: { folder: string; manifest: FolderManifest };
  /** The native call-site ledger's cut at this snapshot (a file), when the capture ran with it. */
  nativeLedger?: string;
}

export interface AnalyzeOptions {
  onProgress?: (event: { stage: 'load' | 'analyze'; file: string; index: number; count: number; load?: LoadProgress }) => void;
  /**
   * The exact lifecycle per name from trace events, windows aligned with the
   * snapshots. By default it is read from the capture folder the snapshots are
   * in, when that folder was traced.
   */
  ledger?: Ledger;
  /** The command to suggest under valgrind when native memory grows. */
  command?: string[];
  /**
   * The note to give when the snapshots carry no iteration counts, for callers
   * that know why (an attach); the default one names the usual remedies.
   */
  noIterationCountsNote?: string;
}

const MAX_CREATION_SITES = 5;

/** A row under construction: its counts per snapshot, before growth and verdict are decided. */
interface Draft {
  row: AsyncContextRow;
  members: Array<GroupCensus | undefined>;
  ledger: NameLedger | undefined;
}

/**
 * Attributes growth across a series of snapshots (k ≥ 2) to native async
 * context names and reference groups. Snapshots are loaded one at a time
 * (only the group census of each is kept); retained sizes and retaining paths
 * come from the last one.
 */
export async function analyzeSnapshots(inputs: SnapshotInput[], options: AnalyzeOptions = {}): Promise<AnalysisResult> {
  const capture = inputs[0]!.capture;
  const oneCapture = capture !== undefined && inputs.every((input) => input.capture?.manifest === capture.manifest);
  const fromFolder = options.ledger === undefined && oneCapture ? loadCaptureLedger(capture.folder, capture.manifest, inputs[0]!.pid) : undefined;
  const ledger = options.ledger ?? fromFolder?.ledger;
  const censuses: SnapshotCensus[] = [];
  const retained = new Map<string, number>();
  const paths = new Map<string, PathStep[]>();
  for (const [index, input] of inputs.entries()) {
    // The previous snapshot is dropped (only its census is kept, and its
    // graph lived in censusOf's frame, gone now): give its memory back before
    // this one takes as much.
    if (index > 0) collectGarbage();
    censuses.push(await censusOf(input, index, inputs.length, options.onProgress, censuses, retained, paths));
  }

  const snapshots: SnapshotRow[] = inputs.map((input) => ({
    file: input.file,
    label: input.label ?? basename(input.file),
    iterations: input.iterations ?? null,
  }));
  const iterations = inputs.every((input) => input.iterations !== undefined) ? inputs.map((input) => input.iterations!) : undefined;
  const identity = sameProcess(inputs, censuses);
  const agentFound = censuses.some((census) => census.agent.found);
  const keys = unionOfKeys(censuses);
  // A name holding a lone surrogate is written '?' by V8's snapshot writer and
  // U+FFFD in the trace file: join the two spellings to one row.
  const spelling = (name: string) => name.replaceAll('\uFFFD', '?');
  const heapNames = new Map(keys.map(parseGroupKey).filter((g) => g.kind === 'async-context').map((g) => [spelling(g.name), g.name]));
  const ledgerByName = new Map((ledger?.names ?? []).map((entry) => [heapNames.get(spelling(entry.name)) ?? entry.name, entry]));
  // Names only the ledger saw (no agent, or contexts the heap never held) get a row too.
  for (const name of ledgerByName.keys()) {
    const key = groupKey('async-context', name);
    if (!keys.includes(key)) keys.push(key);
  }

  const drafts: Draft[] = [];
  const references: ReferenceRow[] = [];
  let unchangedReferenceGroups = 0;
  for (const key of keys) {
    const members = censuses.map((census) => census.groups.get(key));
    const { kind, name, location } = parseGroupKey(key);
    const openAtWorkerTeardown = members.map((m) => m?.openAtWorkerTeardown ?? 0);
    const live = members.map((m, i) => (m?.ids.length ?? 0) + openAtWorkerTeardown[i]!);
    const base = {
      name,
      live,
      growth: 0,
      perIteration: null,
      retainedSize: retained.get(key) ?? 0,
      verdict: 'stable' as const,
      identity: identity && members.some((m) => (m?.ids.length ?? 0) > 0) ? identityDiff(members[0], members.at(-1)) : null,
      retainingPath: paths.get(key) ?? null,
      leakKind: null,
    };
    if (kind === 'async-context') {
      const last = members.at(-1);
      const named = members.findLast((m) => m !== undefined)?.named ?? true;
      const counters = last?.counters ?? (named ? { init: 0, destroy: 0, before: 0, after: 0 } : null);
      const row: AsyncContextRow = {
        ...base,
        named,
        creationSites: creationSites(last),
        counters,
        unclosedCallbackScopes: named ? (counters ? counters.before - counters.after : 0) : null,
        openAtWorkerTeardown,
        resourcesCollected: last?.resourcesCollected ?? 0,
        ledger: null,
        basis: 'heap',
        contextFrames: null,
        unnamedResources: null,
        explanation: null,
        nativeSites: [],
      };
      drafts.push({ row, members, ledger: named ? ledgerByName.get(name) : undefined });
    } else if (live.every((count) => count === live[0])) {
      unchangedReferenceGroups++;
    } else {
      references.push({
        ...base,
        growth: live.at(-1)! - live[0]!,
        perIteration: iterations ? roundRate(perIteration(iterations, live)) : null,
        verdict: verdictOf(live),
        location: location || null,
        originalLocation: null,
      });
    }
  }

  // Frames and NULL resources that named rows account for are folded into them.
  const records = (d: Draft) => d.members.map((m) => m?.ids.length ?? 0);
  // With the agent, its records are the contexts open in this heap (a worker's
  // are in the worker's); without it, the ledger's open count stands in.
  const openInHeap = new Map(drafts.filter((d) => d.row.named).map((d) => [d.row, agentFound || !d.ledger ? records(d) : d.ledger.windows.map((w) => w.open)]));
  const openScopes = new Map(drafts.filter((d) => d.row.named).map((d) => [d.row, d.members.map((m) => (m?.counters ? Math.max(0, m.counters.before - m.counters.after) : 0))]));
  const retainedOf = (row: AsyncContextRow) => retained.get(groupKey('async-context', row.name)) ?? 0;
  const fold = foldUnnamedGroups({ rows: drafts.map((d) => d.row), openInHeap, openScopes, retainedOf });
  const kept = new Set(fold.rows);
  const asyncContexts: AsyncContextRow[] = [];
  for (const draft of drafts) {
    const { row, ledger: own } = draft;
    if (!kept.has(row)) continue;
    const folded = fold.folded.get(row);
    row.contextFrames = folded?.contextFrames ?? null;
    row.unnamedResources = folded?.unnamedResources ?? null;
    // Counts moved by the fold no longer match the objects an identity diff compares.
    if (!row.named && row.live.at(-1) !== (draft.members.at(-1)?.ids.length ?? 0)) row.identity = null;
    // The ledger is exact where the heap cannot see (collected resources,
    // no agent): a group leaks if either view grows at every step.
    const ledgerOpen = own?.windows.map((w) => w.open);
    const fromLedger = ledgerOpen !== undefined && verdictOf(ledgerOpen) === 'leak' && verdictOf(row.live) !== 'leak';
    const trend = fromLedger ? ledgerOpen : row.live;
    row.basis = fromLedger ? 'ledger' : 'heap';
    row.growth = trend.at(-1)! - trend[0]!;
    row.perIteration = iterations ? roundRate(perIteration(iterations, trend)) : null;
    row.verdict = verdictOf(trend);
    if (own) row.ledger = cumulativeLedger(own);
    if (row.named) {
      row.explanation = explainRow({
        records: records(draft),
        recordIds: draft.members.at(-1)?.asyncIds ?? [],
        resourcesCollected: row.resourcesCollected,
        agentFound,
        ledger: own,
        ledgerFirstId: ledger?.firstAsyncId,
        unnamedResources: row.unnamedResources,
      });
    }
    asyncContexts.push(row);
  }

  const hooksAdded = cleanupHooksAdded(censuses);
  const hooksGrowth = hooksAdded.at(-1)! - hooksAdded[0]!;
  labelLeakKinds(drafts.filter((d) => kept.has(d.row)), references, iterations, hooksGrowth);
  const native = inputs.some((input) => input.nativeLedger) ? await nativeSitesOf(inputs, iterations, asyncContexts) : null;
  const nativeSites = native?.sites ?? null;
  const byGrowth = (a: { growth: number; name: string }, b: { growth: number; name: string }) => b.growth - a.growth || compareCodeUnits(a.name, b.name);
  asyncContexts.sort(byGrowth);
  references.sort(byGrowth);

  mapToOriginalSources(asyncContexts, references);

  const memory = memoryReport(inputs.map((input) => input.memory ?? null), censuses, iterations);
  const nativeMemory = nativeMemoryRow({
    readings: memory.readings,
    iterations,
    traceEventsPerWindow: fromFolder?.traceEventsPerWindow,
    leakingContexts: asyncContexts.filter((row) => row.verdict === 'leak').map((row) => row.name),
    command: options.command,
  });
  if (nativeMemory && nativeSites) {
    // Native memory that the ledger's native-only leaks grew in the same window is their finding.
    const nativeOnly = nativeSites.filter((row) => row.shownBy === null && row.verdict === 'leak').map((row) => row.name);
    if (nativeOnly.length > 0) nativeMemory.accountedFor = nativeOnly;
  }
  const notes = explain(censuses, asyncContexts, agentFound, ledger !== undefined, iterations !== undefined, options.noIterationCountsNote);
  if (fromFolder?.missing) notes.push(`no lifecycle ledger: ${fromFolder.missing}`);
  notes.push(...(native?.shortfalls ?? []));
  const findings = [...asyncContexts, ...references, ...(nativeSites ?? []).filter((row) => row.shownBy === null), ...(nativeMemory && !nativeMemory.accountedFor ? [nativeMemory] : [])];
  const leaking = findings.some((row) => row.verdict === 'leak');
  return {
    schemaVersion: 1,
    snapshots,
    comparison: identity ? 'identity' : 'aggregate',
    agent: { found: agentFound, node: censuses.find((c) => c.agent.node)?.agent.node ?? null },
    asyncContexts,
    references,
    unchangedReferenceGroups,
    memory,
    nativeMemory,
    nativeSites,
    ledger: { found: ledger !== undefined },
    notes,
    verdict: leaking ? 'leak' : 'clean',
  };
}

/** Loads one snapshot of a series and takes its census (for the last, also retained sizes and retaining paths); nothing else outlives the call. */
async function censusOf(input: SnapshotInput, index: number, count: number, report: AnalyzeOptions['onProgress'], censuses: SnapshotCensus[], retained: Map<string, number>, paths: Map<string, PathStep[]>): Promise<SnapshotCensus> {
  // Only the last snapshot computes dominators: the others would keep the loader's node scratch until a GC.
  const last = index === count - 1;
  const snapshot = await loadSnapshot(input.file, { nodeScratch: last, onProgress: report && ((load) => report({ stage: 'load', file: input.file, index, count, load })) });
  report?.({ stage: 'analyze', file: input.file, index, count });
  const graph = new HeapGraph(snapshot);
  const census = takeCensus(graph, input.file);
  if (last) measureLastSnapshot(graph, census, censuses[0] ?? census, retained, paths);
  return census;
}

/**
 * The native call-site ledger's sites as rows, joined with the heap: a named
 * site whose name is an async-context row is shown by it (the row lists it,
 * and its kind is then the pair's — exact, not inferred from heap shapes).
 */
async function nativeSitesOf(inputs: SnapshotInput[], iterations: number[] | undefined, rows: AsyncContextRow[]): Promise<{ sites: NativeSiteRow[]; shortfalls: string[] }> {
  const { sites: series, shortfalls } = await readSiteSeries(inputs.map((input) => input.nativeLedger));
  const sites = series.map((s) => nativeSiteRow(s, iterations));
  makeNamesUnique(sites);
  const unclosedScopeGrowth = rows.reduce((sum, row) => sum + Math.max(0, row.unclosedCallbackScopes ?? 0), 0);
  markShownByHeap(sites, new Set(rows.map((row) => row.name)), unclosedScopeGrowth);
  for (const row of rows) {
    const own = sites.filter((site) => site.asyncName === row.name);
    row.nativeSites = own.map((site) => site.name);
    const leaking = own.filter((site) => site.verdict === 'leak');
    const pairs = new Set(leaking.map((site) => site.pair));
    // The pattern kinds (error path, shared context, callback scope, worker teardown) already rest on the row's own counts.
    if (row.verdict !== 'leak' || pairs.size !== 1 || (row.leakKind?.certain && !['missing-destroy', 'async-work-not-deleted', 'tsfn-not-released'].includes(row.leakKind.kind))) continue;
    const open = leaking.reduce((sum, site) => sum + site.growth, 0);
    row.leakKind = certain(kindOfPair(leaking[0]!.pair as NativePair), `native ledger: ${leaking.map((site) => site.name).join('; ')} left ${open} more open (${leaking[0]!.acquire} without ${leaking[0]!.release})`);
  }
  return { sites, shortfalls };
}

/** Per snapshot, cumulative created / destroyed / open from the ledger's windows. */
function cumulativeLedger(ledger: NameLedger): { created: number[]; destroyed: number[]; open: number[] } {
  let created = 0;
  let destroyed = 0;
  const out = { created: [] as number[], destroyed: [] as number[], open: [] as number[] };
  for (const window of ledger.windows) {
    created += window.created;
    destroyed += window.destroyed;
    out.created.push(created);
    out.destroyed.push(destroyed);
    out.open.push(window.open);
  }
  return out;
}

/** Leak kind, fix hint and the evidence for every leaking row. */
function labelLeakKinds(drafts: Draft[], references: ReferenceRow[], iterations: number[] | undefined, cleanupHooksGrowth: number): void {
  const span = iterations ? iterations.at(-1)! - iterations[0]! : 0;
  for (const { row, members, ledger } of drafts) {
    if (row.verdict !== 'leak') continue;
    const before = members[0]?.counters;
    const after = row.counters;
    const scopes = (c: typeof after | undefined) => (c ? c.before - c.after : 0);
    row.leakKind = classifyAsyncLeak({
      growth: row.growth,
      perIteration: row.perIteration,
      counters: row.named && members.some((m) => m?.counters) ? after : null,
      unclosedScopesGrowth: scopes(after) - scopes(before),
      workerTeardownGrowth: row.openAtWorkerTeardown.at(-1)! - row.openAtWorkerTeardown[0]!,
      iterations: ledger?.iterations,
      initsPerIteration: after && span > 0 ? (after.init - (before?.init ?? 0)) / span : null,
      resourcesCollected: row.resourcesCollected,
      cleanupHooksGrowth,
    });
  }
  for (const row of references) {
    if (row.verdict === 'leak') row.leakKind = classifyReferenceLeak(row.growth, row.location !== null, cleanupHooksGrowth);
  }
}

/** Retained sizes of every group, and a retaining path for each group that grew since the first snapshot. */
function measureLastSnapshot(graph: HeapGraph, census: SnapshotCensus, first: SnapshotCensus, retained: Map<string, number>, paths: Map<string, PathStep[]>): void {
  const { retainedSize } = graph.dominators();
  const hidden = graph.layout.nodeType.hidden;
  for (const group of census.groups.values()) {
    // Several handles can hold one object (every context frame on Node 22+
    // holds `undefined`): count each object once.
    const distinct = [...new Set(group.representatives)];
    let sum = 0;
    for (const node of distinct) sum += retainedSize[node]!;
    retained.set(group.key, sum);
    const before = first.groups.get(group.key);
    if (distinct.length === 0 || (before !== undefined && before.ids.length >= group.ids.length)) continue;
    const known = new Set(before?.representativeIds ?? []);
    // Prefer a member that is new since the first snapshot. An oddball
    // (`undefined`) is reachable from everywhere: no path says anything.
    const candidates = distinct.filter((o) => graph.nodeType(o) !== hidden);
    const node = candidates.find((o) => !known.has(graph.nodeId(o))) ?? candidates[0];
    if (node === undefined) continue;
    const steps = retainingPath(graph, node);
    if (steps.length > 0) {
      paths.set(group.key, steps.map((step) => ({
        edge: step.edge === undefined ? '' : `${graph.edgeTypeName(step.edge)}:${graph.edgeName(step.edge)}`,
        node: graph.nodeName(step.node),
        nodeType: graph.nodeTypeName(step.node),
        id: graph.nodeId(step.node),
      })));
    }
  }
}

/**
 * Same process when the agent or the inputs say so (pid); V8 object ids are
 * stable within one process only, so without that the diff compares counts.
 */
function sameProcess(inputs: SnapshotInput[], censuses: SnapshotCensus[]): boolean {
  const pids = inputs.map((input, i) => input.pid ?? censuses[i]!.agent.pid);
  return pids.every((pid) => pid !== undefined && pid === pids[0]);
}

function unionOfKeys(censuses: SnapshotCensus[]): string[] {
  const keys = new Set<string>();
  for (const census of censuses) for (const key of census.groups.keys()) keys.add(key);
  return [...keys];
}

function identityDiff(first: GroupCensus | undefined, last: GroupCensus | undefined): IdentityDiff {
  const before = new Set(first?.ids ?? []);
  const after = new Set(last?.ids ?? []);
  let kept = 0;
  for (const id of after) if (before.has(id)) kept++;
  return { newAlive: after.size - kept, freed: before.size - kept, kept };
}

/** Creation sites and function locations as written in the original source, where the scripts ship source maps. */
function mapToOriginalSources(rows: AsyncContextRow[], references: ReferenceRow[]): void {
  const maps = new SourceMapResolver();
  for (const row of rows) for (const site of row.creationSites) site.original = maps.resolveText(site.frame)?.original ?? null;
  for (const row of references) if (row.location) row.originalLocation = maps.resolveText(row.location)?.original ?? null;
}

function creationSites(group: GroupCensus | undefined): AsyncContextRow['creationSites'] {
  if (!group) return [];
  const byFrame = new Map<string, number>();
  for (const { stack, count } of group.stacks) {
    // Past the first records of a name the agent samples stacks; the others
    // carry a marker, not a site.
    if (stack === STACK_NOT_SAMPLED) continue;
    const frame = stack.split('\n')[0] || '(no JS stack: created from native code)';
    byFrame.set(frame, (byFrame.get(frame) ?? 0) + count);
  }
  return [...byFrame].map(([frame, count]) => ({ frame, count, original: null })).sort((a, b) => b.count - a.count || (a.frame < b.frame ? -1 : 1)).slice(0, MAX_CREATION_SITES);
}

/** Rates are reported to 4 decimals: a slope of 0.24999999 is 0.25. */
function roundRate(rate: number | undefined): number | null {
  return rate === undefined ? null : Math.round(rate * 1e4) / 1e4;
}

function explain(censuses: SnapshotCensus[], rows: AsyncContextRow[], agentFound: boolean, ledgerFound: boolean, haveIterations: boolean, noIterationCountsNote: string | undefined): string[] {
  const notes: string[] = [];
  const unnamed = rows.filter((row) => !row.named && row.growth > 0);
  if (!agentFound && unnamed.length > 0) {
    notes.push(ledgerFound
      ? 'Async contexts grew; the trace-event ledger names them, but the heap alone cannot say which unnamed object is whose: with the agent loaded (node --require napi-heapdiff/agent app.js, or napi-heapdiff capture) each context is counted by name in the heap too.'
      : 'Async contexts grew but these snapshots carry no names: take them with the agent loaded (node --require napi-heapdiff/agent app.js, or napi-heapdiff capture) to see each context by the name given to napi_async_init.');
  }
  if (rows.some((row) => !row.named && row.name === CONTEXT_FRAMES && row.growth > 0)) {
    notes.push('Some context frames (Node 22+: one per open async context, async work item, threadsafe function or open callback scope) belong to no named or unnamed group above: contexts whose resource was collected, or created without the agent seeing them.');
  }
  if (!haveIterations) notes.push(noIterationCountsNote ?? 'No iteration counts (no capture manifest, no --iterations): perIteration is null.');
  const sampled = rows.filter((row) => row.named && row.creationSites.reduce((n, site) => n + site.count, 0) < row.live.at(-1)! - row.openAtWorkerTeardown.at(-1)!);
  if (sampled.length > 0) {
    notes.push(`Creation sites of ${sampled.map((row) => row.name).join(', ')} count sampled stacks only: the agent keeps every stack for the first records of a name, then samples (NAPI_HEAPDIFF_STACK_SAMPLING).`);
  }
  if (censuses.length > 0 && censuses.some((c) => c.agent.found) && censuses.some((c) => !c.agent.found)) {
    notes.push('Only some snapshots carry the agent\'s records; named counts in the others are 0.');
  }
  return notes;
}
