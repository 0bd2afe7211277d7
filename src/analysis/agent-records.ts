import { RECORD_TAG_PREFIX, REGISTRY_CLASS, REGISTRY_MARKER } from '../capture/protocol.js';
import type { HeapGraph } from '../graph/heap-graph.js';
import { NONE } from '../graph/none.js';
import { compareCodeUnits } from '../util/sorted.js';

/**
 * Reads what the napi-heapdiff agent (src/agent/agent.cts) left in a heap
 * snapshot: its registry, per async type the hook counters, the records of
 * async contexts still open, and what workers reported open at teardown.
 * The schema is described at the top of agent.cts; its names are capture/protocol.ts's.
 */


export interface HookCounters {
  init: number;
  destroy: number;
  before: number;
  after: number;
}

export interface StackCount {
  /** Frames joined by "\n", innermost first; "" when the agent could not capture one. */
  stack: string;
  count: number;
}

export interface AgentNameView {
  /** The async type: the name given to napi_async_init & co, or an AsyncResource type. */
  name: string;
  /** Records of async contexts of this type that were open when the snapshot was taken. */
  live: number;
  /** Node ordinals of those records (for identity diffs and retaining paths). */
  records: number[];
  /** Their async ids, in the same order (NaN where unreadable): joined with the trace-event ledger. */
  asyncIds: number[];
  /** Hook events on the snapshot's thread since the agent started. */
  counters: HookCounters;
  /** Creation stacks of the live records, most frequent first. */
  stacks: StackCount[];
  /** Only in a main-thread registry: what workers still had open when their environment ended. */
  workerTeardown: {
    open: number;
    /** Workers that ended with at least one of these open. */
    workers: number;
    /** Hook events inside all workers that reported. */
    counters: HookCounters;
    stacks: StackCount[];
  };
}

export interface AgentRegistryInfo {
  /** Node ordinal and V8 object id of the registry object. */
  ordinal: number;
  id: number;
  schema: string;
  pid: number | undefined;
  /** "main" or "worker <threadId>". */
  thread: string;
  node: string;
  startedAt: string;
  workersReported: number;
}

export interface AgentRecords {
  /** False when the snapshot holds no agent registry (the program ran without the agent). */
  found: boolean;
  registry: AgentRegistryInfo | undefined;
  /**
   * Further registries in the same heap (the agent loaded twice from different
   * paths); they are ignored, and their records are not counted.
   */
  ignoredRegistries: number;
  /** One entry per async type the agent saw, in the order it first saw them. */
  names: AgentNameView[];
}

const ZERO: HookCounters = { init: 0, destroy: 0, before: 0, after: 0 };

/**
 * The agent's view of one snapshot.
 *
 * Cost: one pass over the string table and one over the nodes; edges are read
 * only for the registry and for objects named `napi:<name>`. If V8 ever names
 * the records differently, a pass over every object's `__proto__` edge finds
 * them instead.
 *
 * @example
 *   const view = readAgentRecords(new HeapGraph(await loadSnapshot('s2.heapsnapshot')));
 *   for (const n of view.names) console.log(n.name, n.live, n.counters.init - n.counters.destroy);
 */
export function readAgentRecords(graph: HeapGraph): AgentRecords {
  const registries = findRegistries(graph);
  if (registries.length === 0) return { found: false, registry: undefined, ignoredRegistries: 0, names: [] };
  const registry = registries[0]!;
  const info = readRegistryInfo(graph, registry);

  const entries: NameEntry[] = [];
  const names = property(graph, registry, 'names');
  if (names !== NONE) {
    const elementType = graph.layout.edgeType.element;
    for (let e = graph.firstEdge[names]!, end = graph.firstEdge[names + 1]!; e < end; e++) {
      if (graph.edgeType(e) !== elementType) continue;
      const entry = readNameEntry(graph, graph.edgeTarget(e));
      if (entry) entries.push(entry);
    }
  }

  countRecords(graph, entries);

  return {
    found: true,
    registry: info,
    ignoredRegistries: registries.length - 1,
    names: entries.map((entry) => ({
      name: entry.name,
      live: entry.live,
      records: entry.records,
      asyncIds: entry.asyncIds,
      counters: entry.counters,
      stacks: stackCounts(graph, entry.stackCounts),
      workerTeardown: {
        open: entry.teardownOpen,
        workers: entry.teardownWorkers,
        counters: entry.workerCounters,
        stacks: entry.teardownStacks,
      },
    })),
  };
}

interface NameEntry {
  name: string;
  counters: HookCounters;
  workerCounters: HookCounters;
  teardownOpen: number;
  teardownWorkers: number;
  teardownStacks: StackCount[];
  /** Ordinal of the records' prototype, or NONE. */
  prototype: number;
  live: number;
  records: number[];
  asyncIds: number[];
  /** Stack string's name index -> count. */
  stackCounts: Map<number, number>;
}

/** Registry objects, in node order: class NapiHeapdiffRegistry with the marker string. */
function findRegistries(graph: HeapGraph): number[] {
  const { nodes, layout, nodeCount } = graph;
  const { nodeFieldCount, nodeTypeOffset, nodeTypeMask, nodeNameOffset, nodeNameShift } = layout;
  const objectType = layout.nodeType.object;
  const classNames = new Set(graph.strings.indicesOf(REGISTRY_CLASS));
  const found: number[] = [];
  if (classNames.size === 0) return found;
  for (let o = 0, base = 0; o < nodeCount; o++, base += nodeFieldCount) {
    if ((nodes[base + nodeTypeOffset]! & nodeTypeMask) !== objectType || !classNames.has(nodes[base + nodeNameOffset]! >>> nodeNameShift)) continue;
    if (stringProperty(graph, o, 'marker') === REGISTRY_MARKER) found.push(o);
  }
  return found;
}

function readRegistryInfo(graph: HeapGraph, registry: number): AgentRegistryInfo {
  const pid = Number(stringProperty(graph, registry, 'pid'));
  return {
    ordinal: registry,
    id: graph.nodeId(registry),
    schema: stringProperty(graph, registry, 'schema') ?? '',
    pid: Number.isInteger(pid) ? pid : undefined,
    thread: stringProperty(graph, registry, 'thread') ?? '',
    node: stringProperty(graph, registry, 'node') ?? '',
    startedAt: stringProperty(graph, registry, 'startedAt') ?? '',
    workersReported: Number(stringProperty(graph, registry, 'workersReported')) || 0,
  };
}

function readNameEntry(graph: HeapGraph, stats: number): NameEntry | undefined {
  const name = stringProperty(graph, stats, 'name');
  if (name === undefined) return undefined;
  const teardown = parseCounters(stringProperty(graph, stats, 'workerTeardown'));
  return {
    name,
    counters: { ...ZERO, ...parseCounters(stringProperty(graph, stats, 'counts')) },
    workerCounters: { ...ZERO, ...parseCounters(stringProperty(graph, stats, 'workerCounts')) },
    teardownOpen: teardown.open ?? 0,
    teardownWorkers: teardown.workers ?? 0,
    teardownStacks: readTeardownStacks(graph, property(graph, stats, 'teardownStacks')),
    prototype: property(graph, stats, 'recordPrototype'),
    live: 0,
    records: [],
    asyncIds: [],
    stackCounts: new Map(),
  };
}

function readTeardownStacks(graph: HeapGraph, array: number): StackCount[] {
  const stacks: StackCount[] = [];
  if (array === NONE) return stacks;
  const elementType = graph.layout.edgeType.element;
  for (let e = graph.firstEdge[array]!, end = graph.firstEdge[array + 1]!; e < end; e++) {
    if (graph.edgeType(e) !== elementType) continue;
    const slot = graph.edgeTarget(e);
    const stack = stringProperty(graph, slot, 'stack');
    const count = Number(stringProperty(graph, slot, 'count'));
    if (stack !== undefined && count > 0) stacks.push({ stack, count });
  }
  return stacks.sort((a, b) => b.count - a.count || compareCodeUnits(a.stack, b.stack));
}

/**
 * Counts record objects per name: objects whose `__proto__` is a name's record
 * prototype, and their creation stacks by string.
 */
function countRecords(graph: HeapGraph, entries: NameEntry[]): void {
  const { nodes, edges, layout, nodeCount, strings, firstEdge } = graph;
  const { nodeFieldCount, nodeTypeOffset, nodeTypeMask, nodeNameOffset, nodeNameShift, edgeFieldCount, edgeTypeOffset, edgeTypeMask, edgeNameOffset, edgeToNodeOffset, edgeToNodeShift } = layout;
  const objectType = layout.nodeType.object;
  const propertyType = layout.edgeType.property;
  const byPrototype = new Map<number, NameEntry>();
  for (const entry of entries) if (entry.prototype !== NONE) byPrototype.set(entry.prototype, entry);
  if (byPrototype.size === 0) return;

  // String indices of "napi:<name>", "__proto__" and "stack".
  const isTag = new Uint8Array(strings.length);
  for (const entry of entries) for (const i of strings.indicesOf(RECORD_TAG_PREFIX + entry.name)) isTag[i] = 1;
  const protoNames = new Set(strings.indicesOf('__proto__'));
  const stackNames = new Set(strings.indicesOf('stack'));
  const asyncIdNames = new Set(strings.indicesOf('asyncId'));

  const visit = (o: number): boolean => {
    let entry: NameEntry | undefined;
    let stackNode = NONE;
    let asyncIdNode = NONE;
    for (let e = firstEdge[o]!, end = firstEdge[o + 1]!, base = e * edgeFieldCount; e < end; e++, base += edgeFieldCount) {
      if ((edges[base + edgeTypeOffset]! & edgeTypeMask) !== propertyType) continue;
      const edgeName = edges[base + edgeNameOffset]!;
      if (protoNames.has(edgeName)) {
        entry = byPrototype.get(edges[base + edgeToNodeOffset]! >>> edgeToNodeShift);
        if (entry === undefined) return false;
      } else if (stackNames.has(edgeName)) {
        stackNode = edges[base + edgeToNodeOffset]! >>> edgeToNodeShift;
      } else if (asyncIdNames.has(edgeName)) {
        asyncIdNode = edges[base + edgeToNodeOffset]! >>> edgeToNodeShift;
      }
    }
    if (entry === undefined) return false;
    entry.live++;
    entry.records.push(o);
    entry.asyncIds.push(asyncIdNode === NONE ? NaN : Number(stringValue(graph, asyncIdNode) ?? NaN));
    const key = stackNode === NONE ? NO_STACK : stringKey(graph, stackNode);
    entry.stackCounts.set(key, (entry.stackCounts.get(key) ?? 0) + 1);
    return true;
  };

  let found = 0;
  for (let o = 0, base = 0; o < nodeCount; o++, base += nodeFieldCount) {
    if ((nodes[base + nodeTypeOffset]! & nodeTypeMask) === objectType && isTag[nodes[base + nodeNameOffset]! >>> nodeNameShift] === 1 && visit(o)) found++;
  }
  if (found > 0) return;
  // Nothing under the expected names although some contexts are open: look at every object.
  if (!entries.some((entry) => entry.counters.init > entry.counters.destroy)) return;
  for (let o = 0, base = 0; o < nodeCount; o++, base += nodeFieldCount) {
    if ((nodes[base + nodeTypeOffset]! & nodeTypeMask) === objectType) visit(o);
  }
}

/** Key for a record without a readable stack. */
const NO_STACK = -1;

/**
 * A number standing for a string node's content: the name index for flat
 * strings (the snapshot's string table holds each content once); for the rare
 * concatenated string, the negated ordinal - 2.
 */
function stringKey(graph: HeapGraph, node: number): number {
  const type = graph.nodeType(node);
  if (type === graph.layout.nodeType.string) return graph.nodeNameIndex(node);
  if (type === graph.layout.nodeType['concatenated string']) return -2 - node;
  return NO_STACK;
}

function stackCounts(graph: HeapGraph, counts: Map<number, number>): StackCount[] {
  const merged = new Map<string, number>();
  for (const [key, count] of counts) {
    const stack = key === NO_STACK ? '' : key >= 0 ? graph.strings.get(key) : (stringValue(graph, -2 - key) ?? '');
    merged.set(stack, (merged.get(stack) ?? 0) + count);
  }
  return [...merged].map(([stack, count]) => ({ stack, count })).sort((a, b) => b.count - a.count || compareCodeUnits(a.stack, b.stack));
}

/** The target of `node`'s property edge called `name`, or NONE. */
function property(graph: HeapGraph, node: number, name: string): number {
  const propertyType = graph.layout.edgeType.property;
  for (let e = graph.firstEdge[node]!, end = graph.firstEdge[node + 1]!; e < end; e++) {
    if (graph.edgeType(e) === propertyType && graph.edgeName(e) === name) return graph.edgeTarget(e);
  }
  return NONE;
}

function stringProperty(graph: HeapGraph, node: number, name: string): string | undefined {
  const target = property(graph, node, name);
  return target === NONE ? undefined : stringValue(graph, target);
}

/**
 * The content of a string node. Flat strings carry it as their name; a
 * concatenated string is put back together from its `first` and `second`
 * parts; sliced strings (no offset in the snapshot) and non-strings give
 * undefined.
 */
export function stringValue(graph: HeapGraph, node: number): string | undefined {
  const { string: flatType } = graph.layout.nodeType;
  const consType = graph.layout.nodeType['concatenated string'];
  const type = graph.nodeType(node);
  if (type === flatType) return graph.nodeName(node);
  if (type !== consType) return undefined;
  const parts: string[] = [];
  const stack = [node];
  while (stack.length > 0) {
    if (parts.length > 10_000) return undefined;
    const current = stack.pop()!;
    const currentType = graph.nodeType(current);
    if (currentType === flatType) {
      parts.push(graph.nodeName(current));
      continue;
    }
    if (currentType !== consType) return undefined;
    const first = graph.findEdge(current, 'internal', 'first');
    const second = graph.findEdge(current, 'internal', 'second');
    if (first === NONE || second === NONE) return undefined;
    stack.push(graph.edgeTarget(second), graph.edgeTarget(first));
  }
  return parts.join('');
}

/** "init=5 destroy=3 before=0 after=0" -> { init: 5, destroy: 3, before: 0, after: 0 }. */
export function parseCounters(text: string | undefined): Record<string, number> {
  const counters: Record<string, number> = {};
  if (text === undefined) return counters;
  for (const match of text.matchAll(/([A-Za-z]+)=(\d+)/g)) counters[match[1]!] = Number(match[2]);
  return counters;
}
