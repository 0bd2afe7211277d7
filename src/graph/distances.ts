import type { HeapGraph } from './heap-graph.js';
import { NONE } from './none.js';

export interface Distances {
  /** Edges on the shortest essential path from the root; NONE when unreachable. */
  distance: Uint32Array;
  /** The edge that reaches each node on that path; NONE for the root and unreachable nodes. */
  parentEdge: Uint32Array;
}

/**
 * Breadth-first search from the root over essential edges (the same edges
 * that retain in the dominator tree), keeping for each node the edge it was
 * first reached by: following those back gives a shortest retaining path.
 */
export function computeDistances(graph: HeapGraph): Distances {
  const { nodeCount, edges, firstEdge, layout, rootOrdinal } = graph;
  const { edgeFieldCount, edgeToNodeOffset, edgeToNodeShift } = layout;
  const essential = graph.essentialEdges();
  const distance = new Uint32Array(nodeCount).fill(NONE);
  const parentEdge = new Uint32Array(nodeCount).fill(NONE);
  const queue = new Uint32Array(nodeCount);
  let head = 0;
  let tail = 0;
  distance[rootOrdinal] = 0;
  queue[tail++] = rootOrdinal;
  while (head < tail) {
    const node = queue[head++]!;
    const next = distance[node]! + 1;
    for (let e = firstEdge[node]!, end = firstEdge[node + 1]!; e < end; e++) {
      if ((essential[e >>> 3]! & (1 << (e & 7))) === 0) continue;
      const target = edges[e * edgeFieldCount + edgeToNodeOffset]! >>> edgeToNodeShift;
      if (distance[target] !== NONE) continue;
      distance[target] = next;
      parentEdge[target] = e;
      queue[tail++] = target;
    }
  }
  return { distance, parentEdge };
}

export interface PathStep {
  /** The node reached by this step. */
  node: number;
  /** The edge that leads to it from the previous step's node; undefined for the root. */
  edge: number | undefined;
}

/**
 * A shortest retaining path from the root to `node`, root first; empty when no
 * essential path reaches it.
 */
export function retainingPath(graph: HeapGraph, node: number): PathStep[] {
  const { distance, parentEdge } = graph.distances();
  if (distance[node] === NONE) return [];
  const steps: PathStep[] = [];
  let current = node;
  while (current !== graph.rootOrdinal) {
    const edge = parentEdge[current]!;
    steps.push({ node: current, edge });
    current = graph.edgeSource(edge);
  }
  steps.push({ node: graph.rootOrdinal, edge: undefined });
  return steps.reverse();
}
