import type { HeapGraph } from './heap-graph.js';

/**
 * The reverse edge index: the retainers of node i are entries
 * firstRetainer[i] .. firstRetainer[i + 1] - 1 of retainingNode (the source
 * node ordinal) and retainingEdge (the edge ordinal).
 */
export interface Retainers {
  firstRetainer: Uint32Array;
  retainingNode: Uint32Array;
  retainingEdge: Uint32Array;
}

/** Two passes over the edges: count per target, then fill. No per-edge objects. */
export function buildRetainers(graph: HeapGraph): Retainers {
  const { nodeCount, edgeCount, edges, firstEdge, layout } = graph;
  const { edgeFieldCount, edgeToNodeOffset } = layout;
  const firstRetainer = new Uint32Array(nodeCount + 1);
  for (let e = 0, offset = edgeToNodeOffset; e < edgeCount; e++, offset += edgeFieldCount) {
    firstRetainer[edges[offset]!]!++;
  }
  // Exclusive prefix sums; `fill` starts at each node's first slot.
  let sum = 0;
  for (let i = 0; i < nodeCount; i++) {
    const count = firstRetainer[i]!;
    firstRetainer[i] = sum;
    sum += count;
  }
  firstRetainer[nodeCount] = sum;
  const fill = firstRetainer.slice(0, nodeCount);
  const retainingNode = new Uint32Array(edgeCount);
  const retainingEdge = new Uint32Array(edgeCount);
  for (let node = 0; node < nodeCount; node++) {
    for (let e = firstEdge[node]!, end = firstEdge[node + 1]!; e < end; e++) {
      const slot = fill[edges[e * edgeFieldCount + edgeToNodeOffset]!]!++;
      retainingNode[slot] = node;
      retainingEdge[slot] = e;
    }
  }
  return { firstRetainer, retainingNode, retainingEdge };
}
