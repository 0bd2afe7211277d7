import { basename, dirname } from 'node:path';
import { retainingPath } from '../graph/distances.js';
import { HeapGraph } from '../graph/heap-graph.js';
import { loadSnapshot, type LoadProgress } from '../snapshot/load.js';
import { collectGarbage } from '../util/collect-garbage.js';
import { STACK_NOT_SAMPLED } from './agent-records.js';
import { groupKey, parseGroupKey, takeCensus, type GroupCensus, type SnapshotCensus } from './census.js';
import { loadCaptureLedger } from '../ledger/capture-ledger.js';
import type { NameLedger } from '../ledger/ledger.js';
import { classifyAsyncLeak, LEAK_KINDS, type LeakKind } from './leak-kinds.js';
import { memoryReport } from './memory.js';
import type { AnalysisResult, AsyncContextRow, IdentityDiff, LeakLabel, MemoryReading, PathStep, ReferenceRow, SnapshotRow } from './result.js';
import { CONTEXT_FRAMES, UNNAMED_ASYNC_RESOURCE } from './rules/index.js';
import { perIteration, verdictOf } from './trend.js';

export interface SnapshotInput {
  file: string;
  label?: string;
  /** Cumulative iterations when the snapshot was taken. */
  iterations?: number;
  /** The process that wrote it, when known (capture manifest, V8's default file name). */
  pid?: number;
  /** process.memoryUsage() of that process when it was taken. */
  memory?: MemoryReading;
}

export interface AnalyzeOptions {
  onProgress?: (event: { stage: 'load' | 'analyze'; file: string; index: number; count: number; load?: LoadProgress }) => void;
  /**
   * The exact lifecycle per name from trace events, windows aligned with the
   * snapshots. By default it is read from the capture folder the snapshots are
   * in, when that folder was traced.
   */
  ledger?: NameLedger[];
  /** The command to suggest under valgrind when native memory grows. */
  command?: string[];
}

const MAX_CREATION_SITES = 5;

/**
 * Attributes growth across a series of snapshots (k ≥ 2) to native async
 * context names and reference groups. Snapshots are loaded one at a time
 * (only the group census of each is kept); retained sizes and retaining paths
 * come from the last one.
 */
export async function analyzeSnapshots(inputs: SnapshotInput[], options: AnalyzeOptions = {}): Promise<AnalysisResult> {
  const folders = new Set(inputs.map((input) => dirname(input.file)));
  const fromFolder = options.ledger === undefined && folders.size === 1 ? loadCaptureLedger([...folders][0]!, inputs[0]!.pid) : undefined;
  const ledgers = options.ledger ?? fromFolder?.ledger;
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
  const keys = unionOfKeys(censuses);
  // A name holding a lone surrogate is written '?' by V8's snapshot writer and
  // U+FFFD in the trace file: join the two spellings to one row.
  const spelling = (name: string) => name.replaceAll('\uFFFD', '?');
  const heapNames = new Map(keys.map(parseGroupKey).filter((g) => g.kind === 'async-context').map((g) => [spelling(g.name), g.name]));
  const ledgerByName = new Map((ledgers ?? []).map((entry) => [heapNames.get(spelling(entry.name)) ?? entry.name, entry]));
  // Names only the ledger saw (no agent, or contexts the heap never held) get a row too.
  for (const name of ledgerByName.keys()) {
    const key = groupKey('async-context', name);
    if (!keys.includes(key)) keys.push(key);
  }

  const asyncContexts: AsyncContextRow[] = [];
  const references: ReferenceRow[] = [];
  let unchangedReferenceGroups = 0;
  for (const key of keys) {
    const members = censuses.map((census) => census.groups.get(key));
    const { kind, name, location } = parseGroupKey(key);
    const sample = members.findLast((m) => m !== undefined);
    const ledger = kind === 'async-context' ? ledgerByName.get(name) : undefined;
    const openAtWorkerTeardown = members.map((m) => m?.openAtWorkerTeardown ?? 0);
    const live = members.map((m, i) => (m?.ids.length ?? 0) + openAtWorkerTeardown[i]!);
    // The ledger is exact where the heap cannot see (collected resources,
    // no agent): a group leaks if either view grows at every step.
    const ledgerOpen = ledger?.windows.map((w) => w.open);
    const trend = ledgerOpen && verdictOf(ledgerOpen) === 'leak' && verdictOf(live) !== 'leak' ? ledgerOpen : live;
    const base = {
      name,
      live,
      growth: trend.at(-1)! - trend[0]!,
      perIteration: iterations ? roundRate(perIteration(iterations, trend)) : null,
      retainedSize: retained.get(key) ?? 0,
      verdict: verdictOf(trend),
      // Identity compares objects; growth reported by ended workers has none.
      identity: identity && members.some((m) => (m?.ids.length ?? 0) > 0) ? identityDiff(members[0], members.at(-1)) : null,
      retainingPath: paths.get(key) ?? null,
      leakKind: null as LeakLabel | null,
    };
    if (kind === 'async-context') {
      const last = members.at(-1);
      const named = sample?.named ?? true;
      const counters = last?.counters ?? (named ? { init: 0, destroy: 0, before: 0, after: 0 } : null);
      asyncContexts.push({
        ...base,
        named,
        creationSites: creationSites(last),
        counters,
        unclosedCallbackScopes: named ? (counters ? counters.before - counters.after : 0) : null,
        openAtWorkerTeardown,
        resourcesCollected: last?.resourcesCollected ?? 0,
        ledger: ledger ? cumulativeLedger(ledger) : null,
        explanation: explainDisagreement(live, ledgerOpen, last?.resourcesCollected ?? 0, censuses.some((c) => c.agent.found)),
      });
    } else if (live.every((count) => count === live[0])) {
      unchangedReferenceGroups++;
    } else {
      references.push({ ...base, location: location || null });
    }
  }
  labelLeakKinds(asyncContexts, references, censuses, iterations, ledgerByName);
  const byGrowth = (a: { growth: number; name: string }, b: { growth: number; name: string }) => b.growth - a.growth || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0);
  asyncContexts.sort(byGrowth);
  references.sort(byGrowth);

  const agentFound = censuses.some((census) => census.agent.found);
  const notes = explain(censuses, asyncContexts, agentFound, iterations !== undefined);
  const leaking = [...asyncContexts, ...references].some((row) => row.verdict === 'leak');
  const memory = memoryReport(inputs.map((input) => input.memory ?? null), censuses, iterations, asyncContexts, options.command);
  if (memory.nativeLeakSuspected) notes.push(memory.nativeLeakSuspected.message);
  if (fromFolder?.missing) notes.push(`no lifecycle ledger: ${fromFolder.missing}`);
  return {
    schemaVersion: 1,
    snapshots,
    comparison: identity ? 'identity' : 'aggregate',
    agent: { found: agentFound, node: censuses.find((c) => c.agent.node)?.agent.node ?? null },
    asyncContexts,
    references,
    unchangedReferenceGroups,
    memory,
    ledger: { found: ledgers !== undefined },
    notes,
    verdict: leaking ? 'leak' : 'clean',
  };
}

/** Loads one snapshot of a series and takes its census (for the last, also retained sizes and retaining paths); nothing else outlives the call. */
async function censusOf(input: SnapshotInput, index: number, count: number, report: AnalyzeOptions['onProgress'], censuses: SnapshotCensus[], retained: Map<string, number>, paths: Map<string, PathStep[]>): Promise<SnapshotCensus> {
  const snapshot = await loadSnapshot(input.file, { onProgress: report && ((load) => report({ stage: 'load', file: input.file, index, count, load })) });
  report?.({ stage: 'analyze', file: input.file, index, count });
  const graph = new HeapGraph(snapshot);
  const census = takeCensus(graph, input.file);
  if (index === count - 1) measureLastSnapshot(graph, census, censuses[0] ?? census, retained, paths);
  return census;
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

function explainDisagreement(live: number[], ledgerOpen: number[] | undefined, resourcesCollected: number, agentFound: boolean): string | null {
  if (resourcesCollected > 0) {
    return `resource collected: native-only leak — ${resourcesCollected} open context(s) whose JS resource was garbage-collected; the heap keeps nothing for them, only the native AsyncContext (and async_hooks' never-destroyed id) remain`;
  }
  if (!ledgerOpen) return null;
  const heap = live.at(-1)!;
  const open = ledgerOpen.at(-1)!;
  if (open === heap) return null;
  if (!agentFound) return `${open} open per the trace-event ledger; the heap alone carries no names (no agent records)`;
  return open > heap
    ? `${open - heap} more open per the ledger than records in the heap: contexts opened before the agent loaded, or in threads whose records are not in this heap`
    : `${heap - open} more records in the heap than open per the ledger: destroys still pending when the snapshot was taken`;
}

/** Leak kind and fix hint for every leaking row. */
function labelLeakKinds(rows: AsyncContextRow[], references: ReferenceRow[], censuses: SnapshotCensus[], iterations: number[] | undefined, ledgers: Map<string, NameLedger>): void {
  const label = (kind: LeakKind): LeakLabel => ({ kind, ...LEAK_KINDS[kind] });
  const span = iterations ? iterations.at(-1)! - iterations[0]! : 0;
  const first = censuses[0]!;
  const leakingFunctionRates = references.filter((r) => r.verdict === 'leak' && r.location !== null).map((r) => r.perIteration);
  for (const row of rows) {
    if (row.verdict !== 'leak') continue;
    const before = first.groups.get(groupKey('async-context', row.name))?.counters;
    const after = row.counters;
    const scopes = (c: typeof after | undefined) => (c ? c.before - c.after : 0);
    const ledger = ledgers.get(row.name);
    row.leakKind = label(classifyAsyncLeak({
      perIteration: row.perIteration,
      counters: after,
      unclosedScopesGrowth: scopes(after) - scopes(before),
      workerTeardownGrowth: row.openAtWorkerTeardown.at(-1)! - row.openAtWorkerTeardown[0]!,
      iterations: ledger?.iterations,
      initsPerIteration: after && span > 0 ? (after.init - (before?.init ?? 0)) / span : null,
      functionHeldAtSameRate: row.perIteration !== null && leakingFunctionRates.some((rate) => rate !== null && Math.abs(rate - row.perIteration!) < 1e-6),
    }));
  }
  for (const row of references) if (row.verdict === 'leak') row.leakKind = label('leaked-reference');
}

/** Retained sizes of every group, and a retaining path for each group that grew since the first snapshot. */
function measureLastSnapshot(graph: HeapGraph, census: SnapshotCensus, first: SnapshotCensus, retained: Map<string, number>, paths: Map<string, PathStep[]>): void {
  const { retainedSize } = graph.dominators();
  for (const group of census.groups.values()) {
    let sum = 0;
    for (const node of group.representatives) sum += retainedSize[node]!;
    retained.set(group.key, sum);
    const before = first.groups.get(group.key);
    if (group.representatives.length === 0 || (before !== undefined && before.ids.length >= group.ids.length)) continue;
    const known = new Set(before?.representativeIds ?? []);
    // Prefer a member that is new since the first snapshot.
    const node = group.representatives.find((o) => !known.has(graph.nodeId(o))) ?? group.representatives[0]!;
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

function creationSites(group: GroupCensus | undefined): Array<{ frame: string; count: number }> {
  if (!group) return [];
  const byFrame = new Map<string, number>();
  for (const { stack, count } of group.stacks) {
    // Past the first records of a name the agent samples stacks; the others
    // carry a marker, not a site.
    if (stack === STACK_NOT_SAMPLED) continue;
    const frame = stack.split('\n')[0] || '(no JS stack: created from native code)';
    byFrame.set(frame, (byFrame.get(frame) ?? 0) + count);
  }
  return [...byFrame].map(([frame, count]) => ({ frame, count })).sort((a, b) => b.count - a.count || (a.frame < b.frame ? -1 : 1)).slice(0, MAX_CREATION_SITES);
}

/** Rates are reported to 4 decimals: a slope of 0.24999999 is 0.25. */
function roundRate(rate: number | undefined): number | null {
  return rate === undefined ? null : Math.round(rate * 1e4) / 1e4;
}

function explain(censuses: SnapshotCensus[], rows: AsyncContextRow[], agentFound: boolean, haveIterations: boolean): string[] {
  const notes: string[] = [];
  const unnamed = rows.filter((row) => !row.named && row.growth > 0);
  if (!agentFound && unnamed.length > 0) {
    notes.push('Async contexts grew but these snapshots carry no names: take them with the agent loaded (node --require napi-heapdiff/agent app.js, or napi-heapdiff capture) to see each context by the name given to napi_async_init.');
  }
  if (rows.some((row) => row.name === CONTEXT_FRAMES && row.growth > 0) && rows.some((row) => row.name === UNNAMED_ASYNC_RESOURCE)) {
    notes.push('On Node 22+ every open async context also holds a context frame: the two unnamed groups count the same contexts twice.');
  }
  if (!haveIterations) notes.push('No iteration counts (no capture manifest, no --iterations): perIteration is null.');
  const sampled = rows.filter((row) => row.named && row.creationSites.reduce((n, site) => n + site.count, 0) < row.live.at(-1)! - row.openAtWorkerTeardown.at(-1)!);
  if (sampled.length > 0) {
    notes.push(`Creation sites of ${sampled.map((row) => row.name).join(', ')} count sampled stacks only: the agent keeps every stack for the first records of a name, then samples (NAPI_HEAPDIFF_STACK_SAMPLING).`);
  }
  if (censuses.length > 0 && censuses.some((c) => c.agent.found) && censuses.some((c) => !c.agent.found)) {
    notes.push('Only some snapshots carry the agent\'s records; named counts in the others are 0.');
  }
  return notes;
}
