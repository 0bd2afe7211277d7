import type { HeapGraph } from './heap-graph.js';

/** What the shallow-size pass reads and writes: flat arrays and layout numbers only. */
export interface ShallowSizeInput {
  nodeCount: number;
  rootOrdinal: number;
  nodes: Uint32Array;
  edges: Uint32Array;
  firstEdge: Uint32Array;
  nodeFieldCount: number;
  nodeTypeOffset: number;
  nodeTypeMask: number;
  nodeSelfSizeOffset: number;
  nodeNameOffset: number;
  nodeNameShift: number;
  edgeFieldCount: number;
  edgeTypeOffset: number;
  edgeTypeMask: number;
  edgeToNodeOffset: number;
  edgeToNodeShift: number;
  types: { hidden: number; array: number; native: number; synthetic: number; weakEdge: number };
  /** String index of "system / ExternalStringData", or -1. */
  externalStringData: number;
  /** Output, nodeCount long. */
  sizes: ShallowSizes;
  /** Scratch of at least nodeCount words (any content), or undefined to allocate it. */
  owners: Uint32Array | undefined;
}

/** Memory a caller lends the pass: `sizes` becomes the result (when every size fits 32 bits), `owners` is scratch. */
export interface ShallowSizeMemory {
  sizes?: Uint32Array;
  owners?: Uint32Array;
}

/** Uint32 when every size fits (half the memory), Float64 when one does not. */
export type ShallowSizes = Uint32Array | Float64Array;

/**
 * Self sizes as DevTools shows them: the size of an internal array or hidden
 * node that exactly one JS-visible object owns (a property backing store, a
 * closure's feedback cells) is moved onto that owner, so "Shallow size" means
 * what the object costs. Snapshots taken with internals exposed (no user
 * roots) keep the raw sizes, as in DevTools. Each self size fits 32 bits, so
 * a sum passes 2^32 only when one owner holds over 4 GB of internals: then the
 * pass runs again in Float64.
 */
export function computeShallowSizes(graph: HeapGraph, memory: ShallowSizeMemory = {}): ShallowSizes {
  const { nodeCount } = graph;
  const fits = (a: Uint32Array | undefined): Uint32Array | undefined => (a && a.length >= nodeCount ? a.subarray(0, nodeCount) : undefined);
  const sizes = fits(memory.sizes) ?? new Uint32Array(nodeCount);
  const owners = fits(memory.owners);
  try {
    fillShallowSizes(shallowSizeInput(graph, sizes, owners));
    return sizes;
  } catch (error) {
    if (!(error instanceof RangeError)) throw error;
    const wide = new Float64Array(nodeCount);
    fillShallowSizes(shallowSizeInput(graph, wide, owners));
    return wide;
  }
}

export function shallowSizeInput(graph: HeapGraph, sizes: ShallowSizes, owners?: Uint32Array): ShallowSizeInput {
  const { layout } = graph;
  return {
    nodeCount: graph.nodeCount,
    rootOrdinal: graph.rootOrdinal,
    nodes: graph.nodes,
    edges: graph.edges,
    firstEdge: graph.firstEdge,
    nodeFieldCount: layout.nodeFieldCount,
    nodeTypeOffset: layout.nodeTypeOffset,
    nodeTypeMask: layout.nodeTypeMask,
    nodeSelfSizeOffset: layout.nodeSelfSizeOffset,
    nodeNameOffset: layout.nodeNameOffset,
    nodeNameShift: layout.nodeNameShift,
    edgeFieldCount: layout.edgeFieldCount,
    edgeTypeOffset: layout.edgeTypeOffset,
    edgeTypeMask: layout.edgeTypeMask,
    edgeToNodeOffset: layout.edgeToNodeOffset,
    edgeToNodeShift: layout.edgeToNodeShift,
    types: {
      hidden: layout.nodeType.hidden,
      array: layout.nodeType.array,
      native: layout.nodeType.native,
      synthetic: layout.nodeType.synthetic,
      weakEdge: layout.edgeType.weak,
    },
    externalStringData: graph.strings.indexOf('system / ExternalStringData'),
    sizes,
    owners,
  };
}

/**
 * The pass itself. It also runs in a worker from its own source text
 * (graph-workers.ts), so it refers to nothing outside its body. Throws a
 * RangeError when a sum does not fit a Uint32Array `sizes`.
 */
export function fillShallowSizes(input: ShallowSizeInput): void {
  const UNVISITED = 0xffffffff;
  const SHARED = 0xfffffffe;
  const { nodeCount, rootOrdinal, nodes, edges, firstEdge, sizes, externalStringData } = input;
  const { nodeFieldCount, nodeTypeOffset, nodeTypeMask, nodeSelfSizeOffset, nodeNameOffset, nodeNameShift, edgeFieldCount, edgeTypeOffset, edgeTypeMask, edgeToNodeOffset, edgeToNodeShift } = input;
  const { hidden, array, native, synthetic, weakEdge } = input.types;
  for (let o = 0; o < nodeCount; o++) sizes[o] = nodes[o * nodeFieldCount + nodeSelfSizeOffset]!;

  // Without user roots (only synthetic roots below the root) DevTools keeps raw sizes.
  let userRoots = false;
  for (let e = firstEdge[rootOrdinal]!, end = firstEdge[rootOrdinal + 1]!; e < end && !userRoots; e++) {
    const target = edges[e * edgeFieldCount + edgeToNodeOffset]! >>> edgeToNodeShift;
    userRoots = (nodes[target * nodeFieldCount + nodeTypeOffset]! & nodeTypeMask) !== synthetic;
  }
  if (!userRoots) return;

  const owners = input.owners ?? new Uint32Array(nodeCount);
  for (let o = 0; o < nodeCount; o++) {
    const base = o * nodeFieldCount;
    const type = nodes[base + nodeTypeOffset]! & nodeTypeMask;
    const ownable = type === hidden || type === array || (type === native && nodes[base + nodeNameOffset]! >>> nodeNameShift === externalStringData);
    owners[o] = ownable ? UNVISITED : o;
  }
  // From each owner in turn, hand its ownership down through ownable nodes; a
  // node reached from a second owner becomes SHARED, and so does everything
  // below it. The outcome does not depend on the order, so the worklist only
  // ever holds what one owner reaches (it grows on demand).
  let worklist = new Uint32Array(1024);
  let top = 0;
  for (let start = 0; start < nodeCount; start++) {
    if (owners[start] !== start) continue;
    worklist[top++] = start;
    while (top > 0) {
      const node = worklist[--top]!;
      const owner = owners[node]!;
      for (let e = firstEdge[node]!, end = firstEdge[node + 1]!; e < end; e++) {
        const base = e * edgeFieldCount;
        if ((edges[base + edgeTypeOffset]! & edgeTypeMask) === weakEdge) continue;
        const target = edges[base + edgeToNodeOffset]! >>> edgeToNodeShift;
        const current = owners[target]!;
        if (current === UNVISITED) {
          owners[target] = owner;
        } else if (current !== target && current !== owner && current !== SHARED) {
          owners[target] = SHARED;
        } else {
          continue;
        }
        if (top === worklist.length) {
          const bigger = new Uint32Array(worklist.length * 2);
          bigger.set(worklist);
          worklist = bigger;
        }
        worklist[top++] = target;
      }
    }
  }
  for (let o = 0; o < nodeCount; o++) {
    const owner = owners[o]!;
    if (owner === UNVISITED || owner === SHARED || owner === o) continue;
    // Moving size onto the root or a synthetic node tells nobody anything.
    if (owner === rootOrdinal || (nodes[owner * nodeFieldCount + nodeTypeOffset]! & nodeTypeMask) === synthetic) continue;
    const sum = sizes[owner]! + sizes[o]!;
    if (sum > 0xffffffff && sizes instanceof Uint32Array) throw new RangeError(`shallow size of node ${owner} passes 2^32`);
    sizes[owner] = sum;
    sizes[o] = 0;
  }
}
