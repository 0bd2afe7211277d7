import type { HeapGraph } from './heap-graph.js';

/**
 * The reverse index of essential edges (those that retain, see
 * essential-edges.ts): the retainers of node i are
 * retainingNode[firstRetainer[i] .. firstRetainer[i + 1] - 1]. Only what the
 * dominator computation needs: non-retaining edges are left out, so neither
 * pass has to test them again, and no per-edge ordinal is kept.
 */
export interface Retainers {
  firstRetainer: Uint32Array;
  retainingNode: Uint32Array;
}

/** Two passes over the edges: count per target, then fill. No per-edge objects. */
export function buildRetainers(graph: HeapGraph): Retainers {
  const { nodeCount, edges, firstEdge, layout } = graph;
  const { edgeFieldCount, edgeToNodeOffset } = layout;
  const essential = graph.essentialEdges();
  const firstRetainer = new Uint32Array(nodeCount + 1);
  for (let e = 0, offset = edgeToNodeOffset; e < essential.length; e++, offset += edgeFieldCount) {
    if (essential[e] !== 0) firstRetainer[edges[offset]!]!++;
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
  const retainingNode = new Uint32Array(sum);
  for (let node = 0; node < nodeCount; node++) {
    for (let e = firstEdge[node]!, end = firstEdge[node + 1]!; e < end; e++) {
      if (essential[e] !== 0) retainingNode[fill[edges[e * edgeFieldCount + edgeToNodeOffset]!]!++] = node;
    }
  }
  return { firstRetainer, retainingNode };
}
