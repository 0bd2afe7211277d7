import { findGlobalHandlesRoot } from '../graph/global-handles.js';
import type { HeapGraph } from '../graph/heap-graph.js';
import { NONE } from '../graph/none.js';
import { readAgentRecords, type AgentRecords, type HookCounters, type StackCount } from './agent-records.js';
import { HANDLE_RULES } from './rules/index.js';
import { LocationIndex } from './source-location.js';

export type GroupKind = 'async-context' | 'reference';

/** One group in one snapshot: which objects belong to it. */
export interface GroupCensus {
  kind: GroupKind;
  /** kind + name + location: stable across snapshots. */
  key: string;
  name: string;
  location: string | undefined;
  /** Named by the agent (async contexts), or found from heap shape alone. */
  named: boolean;
  /** V8 object ids of the members (records for named contexts, handle targets otherwise). */
  ids: number[];
  /** Extra open count not backed by objects here: contexts left open when a worker ended. */
  openAtWorkerTeardown: number;
  workersWithOpenContexts: number;
  counters: HookCounters | undefined;
  stacks: StackCount[];
  /** Node ordinals of the objects the group keeps alive (live resources, handle targets): retained size and paths. */
  representatives: number[];
  /** Their V8 object ids, comparable with other snapshots of the same process. */
  representativeIds: number[];
  /** Named contexts whose JS resource is gone (collected): only native state remains. */
  resourcesCollected: number;
  /** Named groups: the async ids of their records (joined with the trace-event ledger). */
  asyncIds: number[];
}

export interface SnapshotCensus {
  file: string;
  agent: { found: boolean; pid: number | undefined; node: string | undefined };
  groups: Map<string, GroupCensus>;
  /** Edges of the (Global handles) root, strong and weak. */
  globalHandles: number;
  /** Self size of Node's CleanupQueue nodes: each env cleanup hook (and unreleased threadsafe function) adds 24 bytes. */
  cleanupQueueBytes: number;
}

/** A group's identity across snapshots: kind, name and location, NUL-separated. */
export const groupKey = (kind: GroupKind, name: string, location?: string): string => `${kind}\u0000${name}\u0000${location ?? ''}`;

export function parseGroupKey(key: string): { kind: GroupKind; name: string; location: string } {
  const [kind, name, location] = key.split('\u0000') as [GroupKind, string, string];
  return { kind, name, location };
}

/**
 * What one snapshot holds of each group: the agent's named async contexts, and
 * every strong `(Global handles)` edge classified by the rule list. Resources
 * the agent's records point at are claimed by their name, so they are not
 * counted again as unnamed.
 */
export function takeCensus(graph: HeapGraph, file: string): SnapshotCensus {
  const groups = new Map<string, GroupCensus>();
  const group = (kind: GroupKind, name: string, location: string | undefined, named: boolean): GroupCensus => {
    const key = groupKey(kind, name, location);
    let found = groups.get(key);
    if (!found) {
      found = { kind, key, name, location, named, ids: [], openAtWorkerTeardown: 0, workersWithOpenContexts: 0, counters: undefined, stacks: [], representatives: [], representativeIds: [], resourcesCollected: 0, asyncIds: [] };
      groups.set(key, found);
    }
    return found;
  };

  const agent = readAgentRecords(graph);
  const claimed = new Set<number>();
  for (const entry of agent.names) {
    const g = group('async-context', entry.name, undefined, true);
    g.counters = entry.counters;
    g.stacks = entry.stacks;
    g.asyncIds = entry.asyncIds;
    g.openAtWorkerTeardown = entry.workerTeardown.open;
    g.workersWithOpenContexts = entry.workerTeardown.workers;
    if (entry.workerTeardown.stacks.length > 0 && g.stacks.length === 0) g.stacks = entry.workerTeardown.stacks;
    for (const record of entry.records) {
      g.ids.push(graph.nodeId(record));
      const resource = resourceOf(graph, record);
      if (resource === NONE) {
        g.resourcesCollected++;
      } else if (resource !== NO_WEAK_REF) {
        claimed.add(resource);
        g.representatives.push(resource);
        g.representativeIds.push(graph.nodeId(resource));
      }
    }
  }

  const holder = findGlobalHandlesRoot(graph);
  const globalHandles = holder === NONE ? 0 : graph.firstEdge[holder + 1]! - graph.firstEdge[holder]!;
  if (holder !== NONE) {
    const locations = new LocationIndex(graph);
    for (let edge = graph.firstEdge[holder]!, end = graph.firstEdge[holder + 1]!; edge < end; edge++) {
      const target = graph.edgeTarget(edge);
      for (const rule of HANDLE_RULES) {
        const verdict = rule.classify({ graph, locations, edge, target });
        if (verdict === undefined) continue;
        if (verdict.kind === 'ignore') break;
        // A resource the agent's records name is counted under that name only
        // (on Node 26 a JS-provided resource is held strongly: not a reference).
        if (claimed.has(target)) break;
        const g = group(verdict.kind, verdict.name, verdict.kind === 'reference' ? verdict.location : undefined, false);
        g.ids.push(graph.nodeId(target));
        g.representatives.push(target);
        g.representativeIds.push(graph.nodeId(target));
        break;
      }
    }
  }
  return { file, agent: agentInfo(agent), groups, globalHandles, cleanupQueueBytes: cleanupQueueBytes(graph) };
}

function cleanupQueueBytes(graph: HeapGraph): number {
  const nativeType = graph.layout.nodeType.native;
  const name = graph.strings.indexOf('Node / CleanupQueue');
  if (name < 0) return 0;
  let bytes = 0;
  for (let o = 0; o < graph.nodeCount; o++) {
    if (graph.nodeNameIndex(o) === name && graph.nodeType(o) === nativeType) bytes += graph.selfSize(o);
  }
  return bytes;
}

function agentInfo(agent: AgentRecords): SnapshotCensus['agent'] {
  return { found: agent.found, pid: agent.registry?.pid, node: agent.registry?.node };
}

/**
 * A record with no WeakRef in its resource field: one the snapshot caught
 * while the agent was still filling it in (the inspector runs a snapshot from
 * an interrupt, between any two statements; the fields are in-object and
 * still undefined). Its resource is unknown, not collected.
 */
const NO_WEAK_REF = -2;

/** record -resource-> WeakRef -target-> resource: the resource while it is alive, NONE once collected. */
function resourceOf(graph: HeapGraph, record: number): number {
  const ref = graph.findEdge(record, 'property', 'resource');
  if (ref === NONE) return NO_WEAK_REF;
  const weakRef = graph.edgeTarget(ref);
  if (graph.nodeName(weakRef) !== 'WeakRef') return NO_WEAK_REF;
  for (let e = graph.firstEdge[weakRef]!, end = graph.firstEdge[weakRef + 1]!; e < end; e++) {
    if (graph.edgeName(e) === 'target') {
      const target = graph.edgeTarget(e);
      // A collected target shows as undefined (an oddball), not an object.
      return graph.nodeType(target) === graph.layout.nodeType.object ? target : NONE;
    }
  }
  return NONE; // a cleared WeakRef keeps no target edge
}
