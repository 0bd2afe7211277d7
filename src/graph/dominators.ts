import type { HeapGraph } from './heap-graph.js';

export interface Dominators {
  /** Immediate dominator ordinal per node; the root dominates itself. */
  dominator: Uint32Array;
  /** Retained size per node: its self size plus everything it dominates. Float64: sums pass 2^32. */
  retainedSize: Float64Array;
  /** Nodes no essential path from the root reaches (DevTools hangs them off the root too). */
  unreachable: { count: number; examples: number[] };
}

const MAX_EXAMPLES = 10;

/**
 * Immediate dominators by Lengauer–Tarjan ("A fast algorithm for finding
 * dominators in a flowgraph", 1979), the simple eval/link variant, iterative
 * throughout (heap graphs are deep enough to overflow the call stack).
 * Vertices are numbered 1..n with 0 as "none", as in the paper.
 *
 * Unreachable nodes are treated as DevTools treats them, so retained sizes
 * agree with Chrome's: nodes retained only weakly are DFS'd from the root as
 * extra entry points, and any still unvisited (cycles nobody holds) are
 * attached to the root one by one.
 */
export function computeDominators(graph: HeapGraph): Dominators {
  const { nodeCount, edges, firstEdge, layout, rootOrdinal } = graph;
  const { edgeFieldCount, edgeToNodeOffset } = layout;
  // Retainers and shallow sizes are asked for only when needed: on big graphs
  // worker threads compute them meanwhile (HeapGraph.dominators). Their
  // scratch arrays then overlap the ones below; the peak stays under 2× the
  // file at 763 MB (npm run bench).
  const essential = graph.essentialEdges();

  const size = nodeCount + 1;
  const parent = new Uint32Array(size);
  const ancestor = new Uint32Array(size);
  const vertex = new Uint32Array(size);
  const label = new Uint32Array(size);
  const semi = new Uint32Array(size);
  const dom = new Uint32Array(size);
  // The DFS's per-vertex edge cursor; after the DFS the same memory holds the
  // bucket heads (peak memory matters at 4 GB snapshots).
  const nextEdge = new Uint32Array(size);
  // Buckets as singly linked lists: each vertex joins exactly one bucket once.
  const bucketNext = new Uint32Array(size);
  // Path-compression stack: deep only on chain-like graphs, so it grows on demand.
  let compressStack = new Uint32Array(Math.min(size, 1 << 16));
  let n = 0;

  const dfs = (start: number): void => {
    nextEdge[start] = firstEdge[start - 1]!;
    let v = start;
    while (v !== 0) {
      if (semi[v] === 0) {
        semi[v] = ++n;
        vertex[n] = label[v] = v;
      }
      let following = parent[v]!;
      const vOrdinal = v - 1;
      const end = firstEdge[vOrdinal + 1]!;
      for (let e = nextEdge[v]!; e < end; e++) {
        if (essential[e] === 0) continue;
        const w = edges[e * edgeFieldCount + edgeToNodeOffset]! + 1;
        if (semi[w] === 0) {
          parent[w] = v;
          nextEdge[w] = firstEdge[w - 1]!;
          nextEdge[v] = e + 1;
          following = w;
          break;
        }
      }
      if (following === parent[v]) nextEdge[v] = end;
      v = following;
    }
  };

  const evaluate = (v: number): number => {
    if (ancestor[v] === 0) return v;
    // Path compression, iteratively.
    let top = 0;
    let u = v;
    while (ancestor[ancestor[u]!] !== 0) {
      if (top + 1 === compressStack.length) {
        const bigger = new Uint32Array(compressStack.length * 2);
        bigger.set(compressStack);
        compressStack = bigger;
      }
      compressStack[++top] = u;
      u = ancestor[u]!;
    }
    while (top > 0) {
      const w = compressStack[top--]!;
      const a = ancestor[w]!;
      if (semi[label[a]!]! < semi[label[w]!]!) label[w] = label[a]!;
      ancestor[w] = ancestor[a]!;
    }
    return label[v]!;
  };

  const r = rootOrdinal + 1;
  dfs(r);
  // Needed from here on; on big graphs a worker built them during the DFS.
  const { firstRetainer, retainingNode } = graph.retainers();
  // Retainer lists hold essential edges only.
  const hasOnlyWeakRetainers = (ordinal: number): boolean => firstRetainer[ordinal] === firstRetainer[ordinal + 1];
  const unreachable = { count: nodeCount - n, examples: [] as number[] };
  if (n < nodeCount) {
    for (let v = 1; v <= nodeCount; v++) {
      if (semi[v] === 0 && hasOnlyWeakRetainers(v - 1)) {
        if (unreachable.examples.length < MAX_EXAMPLES) unreachable.examples.push(v - 1);
        parent[v] = r;
        dfs(v);
      }
    }
  }
  if (n < nodeCount) {
    for (let v = 1; v <= nodeCount; v++) {
      if (semi[v] === 0) {
        if (unreachable.examples.length < MAX_EXAMPLES) unreachable.examples.push(v - 1);
        parent[v] = r;
        semi[v] = ++n;
        vertex[n] = label[v] = v;
      }
    }
  }

  const bucketHead = nextEdge.fill(0);
  for (let i = n; i >= 2; i--) {
    const w = vertex[i]!;
    const wOrdinal = w - 1;
    const first = firstRetainer[wOrdinal]!;
    const end = firstRetainer[wOrdinal + 1]!;
    for (let k = first; k < end; k++) {
      const u = evaluate(retainingNode[k]! + 1);
      if (semi[u]! < semi[w]!) semi[w] = semi[u]!;
    }
    // A node with no essential retainer hangs off the root.
    if (first === end) semi[w] = semi[r]!;
    const semiVertex = vertex[semi[w]!]!;
    bucketNext[w] = bucketHead[semiVertex]!;
    bucketHead[semiVertex] = w;
    const p = parent[w]!;
    ancestor[w] = p;
    for (let v = bucketHead[p]!; v !== 0; v = bucketNext[v]!) {
      const u = evaluate(v);
      dom[v] = semi[u]! < semi[v]! ? u : p;
    }
    bucketHead[p] = 0;
  }
  dom[0] = dom[r] = r;
  for (let i = 2; i <= n; i++) {
    const w = vertex[i]!;
    if (dom[w] !== vertex[semi[w]!]) dom[w] = dom[dom[w]!]!;
  }

  // `label` is no longer needed: it becomes the result, dominator per ordinal.
  const dominator = label.subarray(0, nodeCount);
  const shallow = graph.shallowSizes();
  const retainedSize = new Float64Array(nodeCount);
  for (let o = 0; o < nodeCount; o++) {
    dominator[o] = dom[o + 1]! - 1;
    retainedSize[o] = shallow[o]!;
  }
  // Reverse DFS order visits every node after all nodes it dominates.
  for (let i = n; i > 1; i--) {
    const o = vertex[i]! - 1;
    retainedSize[dominator[o]!]! += retainedSize[o]!;
  }
  return { dominator, retainedSize, unreachable };
}
