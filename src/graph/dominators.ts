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
 * Immediate dominators by semi-NCA (Georgiadis, "Linear-Time Algorithms for
 * Dominators and Related Problems", 2005): Lengauer–Tarjan's semi-dominators
 * with simple path compression, then each node's immediate dominator as the
 * nearest common ancestor of its DFS parent and semi-dominator, walked up the
 * tree built so far. No buckets, and every array is indexed by DFS preorder
 * (1..n, 0 = none), so the passes after the DFS read memory in order.
 * Iterative throughout: heap graphs are deep enough to overflow the call stack.
 *
 * Unreachable nodes are treated as DevTools treats them, so retained sizes
 * agree with Chrome's: nodes retained only weakly are DFS'd from the root as
 * extra entry points, and any still unvisited (cycles nobody holds) are
 * attached to the root one by one.
 */
export function computeDominators(graph: HeapGraph): { dominators: Dominators; spare: Uint32Array } {
  const { nodeCount, edges, firstEdge, layout, rootOrdinal } = graph;
  const { edgeFieldCount, edgeToNodeOffset, edgeToNodeShift } = layout;

  const size = nodeCount + 1;
  // Four arrays of a word per node, each reused once its first use is over
  // (peak memory matters at 4 GB snapshots): `preorder` becomes `best` once
  // the retainer lists are renumbered, and holds the dominators at the end;
  // the DFS's edge cursors become `ancestor`, and once it and `idom` are done,
  // their buffer holds the retained sizes. The semi-dominators need no array:
  // each is kept in the first slot of its node's retainer list, which nothing
  // reads again once the node is processed. Before the DFS, `vertex` and the
  // pair buffer are the essential-edge traversal's stack and marks.
  const preorderBuffer = new ArrayBuffer(size * 4);
  const pairBuffer = new ArrayBuffer(size * 8);
  /** Preorder number → ordinal. */
  const vertex = new Uint32Array(size);
  // Retainers and shallow sizes are asked for only when needed: on big graphs
  // worker threads compute them meanwhile (HeapGraph.dominators).
  const essential = graph.essentialEdges({ pageOwned: new Uint8Array(pairBuffer, 0, nodeCount), stack: vertex });
  /** Ordinal → preorder number; 0 = not visited yet. */
  const preorder = new Uint32Array(preorderBuffer, 0, nodeCount);
  /** During the DFS, each vertex's next edge to look at. */
  const nextEdge = new Uint32Array(pairBuffer, 0, size);
  /** DFS parent, then (after the NCA walk) immediate dominator. */
  const idom = new Uint32Array(pairBuffer, size * 4, size);
  let n = 0;

  const dfs = (start: number, parent: number): void => {
    preorder[start] = ++n;
    vertex[n] = start;
    idom[n] = parent;
    nextEdge[n] = firstEdge[start]!;
    let v = n;
    while (v !== parent) {
      const end = firstEdge[vertex[v]! + 1]!;
      let e = nextEdge[v]!;
      let child = 0;
      for (; e < end; e++) {
        if ((essential[e >>> 3]! & (1 << (e & 7))) === 0) continue;
        child = edges[e * edgeFieldCount + edgeToNodeOffset]! >>> edgeToNodeShift;
        if (preorder[child] === 0) break;
      }
      if (e < end) {
        nextEdge[v] = e + 1;
        preorder[child] = ++n;
        vertex[n] = child;
        idom[n] = v;
        nextEdge[n] = firstEdge[child]!;
        v = n;
      } else {
        v = idom[v]!;
      }
    }
  };

  dfs(rootOrdinal, 0);
  // Needed from here on; on big graphs a worker built them during the DFS.
  // They are this computation's own (renumbered in place below).
  const { firstRetainer, retainingNode } = graph.retainers();
  // Retainer lists hold essential edges only.
  const hasOnlyWeakRetainers = (ordinal: number): boolean => firstRetainer[ordinal] === firstRetainer[ordinal + 1];
  const unreachable = { count: nodeCount - n, examples: [] as number[] };
  if (n < nodeCount) {
    for (let o = 0; o < nodeCount; o++) {
      if (preorder[o] === 0 && hasOnlyWeakRetainers(o)) {
        if (unreachable.examples.length < MAX_EXAMPLES) unreachable.examples.push(o);
        dfs(o, 1);
      }
    }
  }
  if (n < nodeCount) {
    for (let o = 0; o < nodeCount; o++) {
      if (preorder[o] === 0) {
        if (unreachable.examples.length < MAX_EXAMPLES) unreachable.examples.push(o);
        preorder[o] = ++n;
        vertex[n] = o;
        idom[n] = 1;
      }
    }
  }

  // From here on, retainers are named by preorder number too.
  for (let k = 0, end = firstRetainer[nodeCount]!; k < end; k++) retainingNode[k] = preorder[retainingNode[k]!]!;
  /** Smallest semi-dominator on the compressed path (Lengauer–Tarjan's label, by value). */
  const best = new Uint32Array(preorderBuffer, 0, size);
  // Semi-dominators, in reverse preorder. A vertex is linked to its parent
  // in the forest once processed, so "linked" is simply "numbered above i":
  // `ancestor` starts as a copy of the parent and only path compression
  // changes it.
  const ancestor = nextEdge;
  ancestor.set(idom);
  for (let i = 1; i <= n; i++) best[i] = i;
  let compressStack = new Uint32Array(Math.min(size, 1 << 16));
  for (let i = n; i >= 2; i--) {
    const w = vertex[i]!;
    const first = firstRetainer[w]!;
    const end = firstRetainer[w + 1]!;
    // A node with no essential retainer hangs off the root.
    let s = first === end ? 1 : i;
    for (let k = first; k < end; k++) {
      const v = retainingNode[k]!;
      if (v <= i) {
        // Not linked yet: an ancestor in the DFS tree (or a node visited earlier), its own semi.
        if (v < s) s = v;
        continue;
      }
      // Linked: the smallest semi-dominator on its path up the forest, compressing the path.
      let top = 0;
      let u = v;
      while (ancestor[u]! > i) {
        if (top + 1 === compressStack.length) {
          const bigger = new Uint32Array(compressStack.length * 2);
          bigger.set(compressStack);
          compressStack = bigger;
        }
        compressStack[++top] = u;
        u = ancestor[u]!;
      }
      while (top > 0) {
        const x = compressStack[top--]!;
        const a = ancestor[x]!;
        if (best[a]! < best[x]!) best[x] = best[a]!;
        ancestor[x] = ancestor[a]!;
      }
      const candidate = best[v]!;
      if (candidate < s) s = candidate;
    }
    best[i] = s;
    if (first !== end) retainingNode[first] = s;
  }
  /** The semi-dominator of vertex i, from where the loop above left it. */
  const semi = (i: number): number => {
    const w = vertex[i]!;
    const first = firstRetainer[w]!;
    return first === firstRetainer[w + 1] ? 1 : retainingNode[first]!;
  };

  // Immediate dominators: the nearest ancestor of the parent whose number is
  // at most the semi-dominator's (ancestors' dominators are final by then).
  idom[1] = 1;
  for (let i = 2; i <= n; i++) {
    const s = semi(i);
    let d = idom[i]!;
    while (d > s) d = idom[d]!;
    idom[i] = d;
  }

  const dominator = new Uint32Array(preorderBuffer, 0, nodeCount);
  for (let i = 1; i <= n; i++) dominator[vertex[i]!] = vertex[idom[i]!]!;
  const retainedSize = new Float64Array(pairBuffer, 0, nodeCount);
  // The retainer lists are done with: when the shallow sizes are computed
  // here (no worker did), their memory holds the sizes and the pass's scratch.
  const shallow = graph.shallowSizes({ sizes: firstRetainer, owners: retainingNode });
  for (let o = 0; o < nodeCount; o++) retainedSize[o] = shallow[o]!;
  // Reverse preorder visits every node after all nodes it dominates.
  for (let i = n; i > 1; i--) {
    const o = vertex[i]!;
    retainedSize[dominator[o]!]! += retainedSize[o]!;
  }
  // `vertex` is spare from here on: the caller may reuse it (HeapGraph builds the class index in it).
  return { dominators: { dominator, retainedSize, unreachable }, spare: vertex };
}
