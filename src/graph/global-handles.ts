import type { HeapGraph } from './heap-graph.js';
import { NONE } from './none.js';
import { compareCodeUnits } from '../util/sorted.js';

/**
 * The synthetic root whose edges are V8 global handles. Node-API references
 * (napi_ref with refcount > 0) and the resources of open napi async contexts
 * live here; see shared research on how each kind looks per Node version.
 */
export function findGlobalHandlesRoot(graph: HeapGraph): number {
  const gcRoots = findChildByName(graph, graph.rootOrdinal, '(GC roots)');
  return gcRoots === NONE ? NONE : findChildByName(graph, gcRoots, '(Global handles)');
}

function findChildByName(graph: HeapGraph, node: number, name: string): number {
  for (let e = graph.firstEdge[node]!, end = graph.firstEdge[node + 1]!; e < end; e++) {
    const target = graph.edgeTarget(e);
    if (graph.nodeName(target) === name) return target;
  }
  return NONE;
}

export interface GlobalHandleGroup {
  className: string;
  /** Targets held by strong handles (they retain). */
  strong: number;
  /** Targets held by weak handles (they do not retain). */
  weak: number;
}

/** Objects held directly by global handles, grouped by class, most first. */
export function globalHandleGroups(graph: HeapGraph): GlobalHandleGroup[] {
  const holder = findGlobalHandlesRoot(graph);
  if (holder === NONE) return [];
  const { classOf, names } = graph.classes();
  const weakType = graph.layout.edgeType.weak;
  const groups = new Map<number, GlobalHandleGroup>();
  for (let e = graph.firstEdge[holder]!, end = graph.firstEdge[holder + 1]!; e < end; e++) {
    const cls = classOf[graph.edgeTarget(e)]!;
    let group = groups.get(cls);
    if (!group) {
      group = { className: names[cls]!, strong: 0, weak: 0 };
      groups.set(cls, group);
    }
    if (graph.edgeType(e) === weakType) group.weak++;
    else group.strong++;
  }
  return [...groups.values()].sort((a, b) => b.strong + b.weak - (a.strong + a.weak) || compareCodeUnits(a.className, b.className));
}
