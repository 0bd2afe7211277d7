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

/** What the retainer pass reads and writes: flat arrays and layout numbers only. */
export interface RetainerInput {
  nodeCount: number;
  edges: Uint32Array;
  firstEdge: Uint32Array;
  edgeFieldCount: number;
  edgeToNodeOffset: number;
  edgeToNodeShift: number;
  essential: Uint8Array;
  /** Output, nodeCount + 1 long. */
  firstRetainer: Uint32Array;
  /** Output with room for every edge, or undefined to allocate the exact size. */
  retainingNode: Uint32Array | undefined;
  /** When set, wait until its first slot is non-zero (another thread is filling `essential`); 2 means give up. */
  essentialReady: Int32Array | undefined;
  /** firstRetainer already holds each node's retainer count (computeEssentialEdges counted them). */
  counted: boolean;
}

/**
 * `into`: room for every edge (e.g. HeapSnapshot.edgeScratch), or undefined to allocate the lists' exact size.
 * `offsets`: nodeCount + 1 words (any content) for firstRetainer, or undefined to allocate them.
 */
export function buildRetainers(graph: HeapGraph, into?: Uint32Array, offsets?: Uint32Array): Retainers {
  const firstRetainer = offsets && offsets.length >= graph.nodeCount + 1 ? offsets.subarray(0, graph.nodeCount + 1).fill(0) : new Uint32Array(graph.nodeCount + 1);
  const input = retainerInput(graph, firstRetainer, into);
  return { firstRetainer: input.firstRetainer, retainingNode: fillRetainers(input) };
}

export function retainerInput(graph: HeapGraph, firstRetainer: Uint32Array, retainingNode: Uint32Array | undefined, essential = graph.essentialEdges(), essentialReady?: Int32Array, counted = false): RetainerInput {
  const { edgeFieldCount, edgeToNodeOffset, edgeToNodeShift } = graph.layout;
  return { nodeCount: graph.nodeCount, edges: graph.edges, firstEdge: graph.firstEdge, edgeFieldCount, edgeToNodeOffset, edgeToNodeShift, essential, firstRetainer, retainingNode, essentialReady, counted };
}

/**
 * Two passes over the edges: count per target (unless counted already), then fill. No per-edge
 * objects. Returns retainingNode cut to its length. It also runs in a worker
 * from its own source text (graph-workers.ts), so it refers to nothing
 * outside its body.
 */
export function fillRetainers(input: RetainerInput): Uint32Array {
  const { nodeCount, edges, firstEdge, edgeFieldCount, edgeToNodeOffset, edgeToNodeShift, essential, firstRetainer, essentialReady } = input;
  if (essentialReady) {
    while (Atomics.load(essentialReady, 0) === 0) Atomics.wait(essentialReady, 0, 0);
    if (Atomics.load(essentialReady, 0) !== 1) return new Uint32Array(0);
  }
  if (!input.counted) {
    for (let e = 0, offset = edgeToNodeOffset, edgeCount = firstEdge[nodeCount]!; e < edgeCount; e++, offset += edgeFieldCount) {
      if ((essential[e >>> 3]! & (1 << (e & 7))) !== 0) firstRetainer[edges[offset]! >>> edgeToNodeShift]!++;
    }
  }
  // Inclusive prefix sums: each node's slot holds the end of its list, and
  // the fill below moves it down to the start. Sources are visited from the
  // last node down, so each list still comes out in ascending source order,
  // with no second array of cursors.
  let sum = 0;
  for (let i = 0; i < nodeCount; i++) {
    sum += firstRetainer[i]!;
    firstRetainer[i] = sum;
  }
  firstRetainer[nodeCount] = sum;
  const retainingNode = input.retainingNode ? input.retainingNode.subarray(0, sum) : new Uint32Array(sum);
  for (let node = nodeCount - 1; node >= 0; node--) {
    for (let e = firstEdge[node + 1]! - 1, first = firstEdge[node]!; e >= first; e--) {
      if ((essential[e >>> 3]! & (1 << (e & 7))) !== 0) retainingNode[--firstRetainer[edges[e * edgeFieldCount + edgeToNodeOffset]! >>> edgeToNodeShift]!] = node;
    }
  }
  return retainingNode;
}
