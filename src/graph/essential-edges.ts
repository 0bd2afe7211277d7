import type { StringTable } from '../snapshot/string-table.js';
import type { HeapGraph } from './heap-graph.js';

/**
 * WeakMap entries appear twice: once from the key and once from the table,
 * with this edge name. DevTools keeps the key's edge and drops the table's.
 */
const EPHEMERON_EDGE = /^\d+ \/ part of key \(.*? @\d+\) -> value \(.*? @\d+\) pair in WeakMap \(table @(\d+)\)$/;

/**
 * The one predicate both dominator passes (forward DFS, backward semi-
 * dominators) and retaining paths use: which edges keep their target alive.
 * It follows Chrome DevTools (HeapSnapshot.ts computeIsEssentialEdge) so our
 * retained sizes match what people see there:
 * - weak edges never retain;
 * - a WeakMap table's edge to a value does not (the key's edge does);
 * - self edges do not;
 * - shortcut edges retain only from the root (they mark the user's globals);
 * - from a node not reachable from the user's globals ("page-owned"), an edge
 *   into a page-owned node does not retain, so objects also held by internal
 *   machinery (debugger, caches) stay attributed to the program's own objects.
 * Fills a bitmap over edge ordinals (zeroed on entry): edge e is essential
 * when bit e & 7 of byte e >>> 3 is set. With `retainerCounts` (zeroed,
 * nodeCount + 1 long), also counts each node's essential retainers, the first
 * half of building the retainer lists (retainers.ts), at no extra pass.
 * `scratch` lends the traversal its two node-sized arrays (any content): the
 * dominator computation lends memory it fills later anyway, so that they add
 * nothing to its peak.
 */
export function computeEssentialEdges(graph: HeapGraph, essential: Uint8Array = new Uint8Array(essentialBitmapBytes(graph.edgeCount)), retainerCounts?: Uint32Array, scratch?: EssentialScratch): Uint8Array {
  const { nodeCount, edges, firstEdge, layout, rootOrdinal, nodes } = graph;
  const { edgeFieldCount, edgeTypeOffset, edgeTypeMask, edgeNameOffset, edgeToNodeOffset, edgeToNodeShift } = layout;
  const weak = layout.edgeType.weak;
  const shortcut = layout.edgeType.shortcut;
  const internal = layout.edgeType.internal;
  const tableIdByName = weakMapTableIds(graph.strings);
  const { nodeFieldCount, nodeIdOffset } = layout;

  // Page-owned nodes: everything reachable over non-weak edges from the user
  // roots (the root's shortcut targets, the global objects, and in browser
  // snapshots "(Document DOM trees)"). The traversal only marks them: the
  // edges are decided below in file order, which reads memory in order (the
  // two passes take about two thirds of the time of one that decides each
  // edge as the traversal meets it).
  const pageOwned = scratch ? scratch.pageOwned.fill(0, 0, nodeCount) : new Uint8Array(nodeCount);
  const stack = scratch?.stack ?? new Uint32Array(nodeCount);
  let top = 0;
  const syntheticType = layout.nodeType.synthetic;
  for (let e = firstEdge[rootOrdinal]!, end = firstEdge[rootOrdinal + 1]!; e < end; e++) {
    const type = edges[e * edgeFieldCount + edgeTypeOffset]! & edgeTypeMask;
    const target = edges[e * edgeFieldCount + edgeToNodeOffset]! >>> edgeToNodeShift;
    const isUserGlobal = type === shortcut;
    const isDomTrees = type === layout.edgeType.element && graph.nodeType(target) === syntheticType && graph.nodeName(target) === '(Document DOM trees)';
    if ((isUserGlobal || isDomTrees) && !pageOwned[target]) {
      pageOwned[target] = 1;
      stack[top++] = target;
    }
  }
  while (top > 0) {
    const node = stack[--top]!;
    for (let e = firstEdge[node]!, end = firstEdge[node + 1]!; e < end; e++) {
      const base = e * edgeFieldCount;
      if ((edges[base + edgeTypeOffset]! & edgeTypeMask) === weak) continue;
      const target = edges[base + edgeToNodeOffset]! >>> edgeToNodeShift;
      if (pageOwned[target]) continue;
      pageOwned[target] = 1;
      stack[top++] = target;
    }
  }

  // The rules, for every edge in file order.
  for (let node = 0; node < nodeCount; node++) {
    const isRoot = node === rootOrdinal;
    const outside = pageOwned[node] === 0 && !isRoot;
    const tableId = tableIdByName === undefined ? 0 : nodes[node * nodeFieldCount + nodeIdOffset]!;
    for (let e = firstEdge[node]!, end = firstEdge[node + 1]!; e < end; e++) {
      const base = e * edgeFieldCount;
      const type = edges[base + edgeTypeOffset]! & edgeTypeMask;
      if (type === weak || (type === shortcut && !isRoot)) continue;
      const target = edges[base + edgeToNodeOffset]! >>> edgeToNodeShift;
      if (target === node || (outside && pageOwned[target] === 1)) continue;
      if (type === internal && tableId !== 0 && tableIdByName![edges[base + edgeNameOffset]!] === tableId) continue;
      essential[e >>> 3]! |= 1 << (e & 7);
      if (retainerCounts) retainerCounts[target]!++;
    }
  }
  return essential;
}

/** Node-sized scratch for the page-owned traversal: at least nodeCount bytes and nodeCount words. */
export interface EssentialScratch {
  pageOwned: Uint8Array;
  stack: Uint32Array;
}

/** For each string index that names a WeakMap table edge, the table's object id; 0 elsewhere. */
function weakMapTableIds(strings: StringTable): Uint32Array | undefined {
  let ids: Uint32Array | undefined;
  for (const i of strings.indicesContaining('pair in WeakMap (table @')) {
    const match = EPHEMERON_EDGE.exec(strings.get(i));
    if (!match) continue;
    ids ??= new Uint32Array(strings.length);
    ids[i] = Number(match[1]);
  }
  return ids;
}

/** Bytes of the essential-edge bitmap (one bit per edge: 1/8 of a byte array's memory). */
export function essentialBitmapBytes(edgeCount: number): number {
  return (edgeCount + 7) >>> 3;
}
