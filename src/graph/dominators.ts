import type { HeapGraph } from './heap-graph.js';
import { NODE_SCRATCH_WORDS } from '../snapshot/heap-snapshot.js';

export interface Dominators {
  /** Immediate dominator ordinal per node; the root dominates itself. */
  dominator: Uint32Array;
  /**
   * Retained size per node: its self size plus everything it dominates.
   * Uint32 when the whole heap's shallow sizes add up to less than 2^32 (no
   * retained size can pass that), Float64 when they do not.
   */
  retainedSize: Uint32Array | Float64Array;
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
export function computeDominators(graph: HeapGraph, scratch?: Uint32Array): { dominators: Dominators; spare: Uint32Array } {
  const { nodeCount, edges, firstEdge, layout, rootOrdinal } = graph;
  const { edgeFieldCount, edgeToNodeOffset, edgeToNodeShift } = layout;

  const size = nodeCount + 1;
  // Four words a node, each array reused once its first use is over (peak
  // memory matters at 4 GB snapshots, and at 127 MB, where it is 1.5× the
  // file): `preorder` becomes `best` once the retainer lists are renumbered,
  // and holds the dominators at the end. The DFS's edge cursors become the
  // retainer offsets (when they are built here), then the shallow sizes. The
  // DFS parents are also Lengauer–Tarjan's `ancestor` (path compression only
  // changes vertices already processed), then the immediate dominators, then
  // the retained sizes. What the NCA pass needs of a processed vertex, its
  // semi-dominator and parent, is kept in the first slots of its retainer
  // list, which nothing reads again. Before the DFS, `vertex` and the pair
  // buffer are the essential-edge traversal's stack and marks.
  // `scratch` (the loader's node scratch, already resident: HeapSnapshot.nodeScratch)
  // holds the pair and `preorder`, the pair first so that it can be Float64.
  const own = !scratch || scratch.length < size * NODE_SCRATCH_WORDS || scratch.byteOffset % 8 !== 0;
  const pairBuffer = own ? new ArrayBuffer(size * 8) : scratch.buffer;
  const pairOffset = own ? 0 : scratch.byteOffset;
  const preorderBuffer = own ? new ArrayBuffer(size * 4) : scratch.buffer;
  const preorderOffset = own ? 0 : scratch.byteOffset + size * 8;
  /** Preorder number → ordinal. */
  const vertex = new Uint32Array(size);
  // Retainers and shallow sizes are asked for only when needed: on big graphs
  // worker threads compute them meanwhile (HeapGraph.dominators).
  const essential = graph.essentialEdges({ pageOwned: new Uint8Array(pairBuffer, pairOffset, nodeCount), stack: vertex });
  /** Ordinal → preorder number; 0 = not visited yet. */
  const preorder = new Uint32Array(preorderBuffer, preorderOffset, nodeCount);
  /** During the DFS, each vertex's next edge to look at. */
  const nextEdge = new Uint32Array(pairBuffer, pairOffset, size);
  /** DFS parent, then (after the NCA walk) immediate dominator. */
  const idom = new Uint32Array(pairBuffer, pairOffset + size * 4, size);
  let n = 0;

  /** DFS from `start`; vertex v's next edge to look at is cursors[v - base] (vertices numbered above base only). */
  const dfs = (start: number, parent: number, cursors: Uint32Array, base: number): void => {
    preorder[start] = ++n;
    vertex[n] = start;
    idom[n] = parent;
    cursors[n - base] = firstEdge[start]!;
    let v = n;
    while (v !== parent) {
      const end = firstEdge[vertex[v]! + 1]!;
      let e = cursors[v - base]!;
      let child = 0;
      for (; e < end; e++) {
        if ((essential[e >>> 3]! & (1 << (e & 7))) === 0) continue;
        child = edges[e * edgeFieldCount + edgeToNodeOffset]! >>> edgeToNodeShift;
        if (preorder[child] === 0) break;
      }
      if (e < end) {
        cursors[v - base] = e + 1;
        preorder[child] = ++n;
        vertex[n] = child;
        idom[n] = v;
        cursors[n - base] = firstEdge[child]!;
        v = n;
      } else {
        v = idom[v]!;
      }
    }
  };

  dfs(rootOrdinal, 0, nextEdge, 0);
  // Needed from here on; on big graphs a worker built them during the DFS.
  // They are this computation's own (renumbered in place below), and, when
  // built here, their offsets take the place of the edge cursors.
  const { firstRetainer, retainingNode } = graph.retainers(nextEdge);
  // Retainer lists hold essential edges only.
  const hasOnlyWeakRetainers = (ordinal: number): boolean => firstRetainer[ordinal] === firstRetainer[ordinal + 1];
  const unreachable = { count: nodeCount - n, examples: [] as number[] };
  if (n < nodeCount) {
    // Nodes no essential edge points to are entry points of their own, as in
    // DevTools; their DFS's cursors cover only the vertices it numbers.
    const base = n;
    const cursors = new Uint32Array(nodeCount - base + 1);
    for (let o = 0; o < nodeCount; o++) {
      if (preorder[o] === 0 && hasOnlyWeakRetainers(o)) {
        if (unreachable.examples.length < MAX_EXAMPLES) unreachable.examples.push(o);
        dfs(o, 1, cursors, base);
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
  const best = new Uint32Array(preorderBuffer, preorderOffset, size);
  // Semi-dominators, in reverse preorder. A vertex is linked to its parent
  // in the forest once processed, so "linked" is simply "numbered above i",
  // and the parents themselves are the forest: path compression only changes
  // vertices numbered above i, whose parent is saved by then.
  const ancestor = idom;
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
    // Semi-dominator and parent, for the NCA pass. A list of one needs only
    // the parent: its one retainer is the parent, which is then also the
    // semi-dominator and the immediate dominator, unless the parent is the
    // root, which is then the immediate dominator all the same.
    if (end - first >= 2) {
      retainingNode[first] = s;
      retainingNode[first + 1] = ancestor[i]!;
    } else if (first !== end) {
      retainingNode[first] = ancestor[i]!;
    }
  }

  // Immediate dominators: the nearest ancestor of the parent whose number is
  // at most the semi-dominator's (ancestors' dominators are final by then;
  // entries above i are what path compression left, and are not read).
  idom[1] = 1;
  for (let i = 2; i <= n; i++) {
    const w = vertex[i]!;
    const first = firstRetainer[w]!;
    const length = firstRetainer[w + 1]! - first;
    if (length < 2) {
      // No retainer: hung off the root. One: its parent.
      idom[i] = length === 0 ? 1 : retainingNode[first]!;
      continue;
    }
    const s = retainingNode[first]!;
    let d = retainingNode[first + 1]!;
    while (d > s) d = idom[d]!;
    idom[i] = d;
  }

  const dominator = new Uint32Array(preorderBuffer, preorderOffset, nodeCount);
  for (let i = 1; i <= n; i++) dominator[vertex[i]!] = vertex[idom[i]!]!;
  // The retainer lists are done with: when the shallow sizes are computed
  // here (no worker did), they go where the edge cursors and retainer offsets
  // were, with the lists as the pass's scratch.
  const shallow = graph.shallowSizes({ sizes: nextEdge, owners: retainingNode });
  let total = 0;
  for (let o = 0; o < nodeCount; o++) total += shallow[o]!;
  // The parents' and dominators' half holds the retained sizes when they fit
  // a word; past 2^32 in all, Float64: the whole pair buffer if the shallow
  // sizes are elsewhere, else an array of its own.
  const retainedSize =
    total <= 0xffffffff ? new Uint32Array(pairBuffer, pairOffset + size * 4, nodeCount)
    : shallow.buffer === pairBuffer && shallow.byteOffset >= pairOffset && shallow.byteOffset < pairOffset + size * 8 ? new Float64Array(nodeCount)
    : new Float64Array(pairBuffer, pairOffset, nodeCount);
  for (let o = 0; o < nodeCount; o++) retainedSize[o] = shallow[o]!;
  // Reverse preorder visits every node after all nodes it dominates.
  for (let i = n; i > 1; i--) {
    const o = vertex[i]!;
    retainedSize[dominator[o]!]! += retainedSize[o]!;
  }
  // `vertex` is spare from here on: the caller may reuse it (HeapGraph builds the class index in it).
  return { dominators: { dominator, retainedSize, unreachable }, spare: vertex };
}
