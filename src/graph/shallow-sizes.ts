import type { HeapGraph } from './heap-graph.js';

const UNVISITED = 0xffffffff;
const SHARED = 0xfffffffe;

/**
 * Self sizes as DevTools shows them: the size of an internal array or hidden
 * node that exactly one JS-visible object owns (a property backing store, a
 * closure's feedback cells) is moved onto that owner, so "Shallow size" means
 * what the object costs. Snapshots taken with internals exposed (no user
 * roots) keep the raw sizes, as in DevTools. Float64: totals can pass 2^32.
 */
export function computeShallowSizes(graph: HeapGraph): Float64Array {
  const { nodeCount, nodes, edges, firstEdge, layout, rootOrdinal } = graph;
  const { nodeFieldCount, nodeTypeOffset, nodeSelfSizeOffset, nodeNameOffset, edgeFieldCount, edgeTypeOffset, edgeToNodeOffset } = layout;
  const sizes = new Float64Array(nodeCount);
  for (let o = 0; o < nodeCount; o++) sizes[o] = nodes[o * nodeFieldCount + nodeSelfSizeOffset]!;
  if (!hasUserRoots(graph)) return sizes;

  const { hidden, array, native, synthetic } = layout.nodeType;
  const weak = layout.edgeType.weak;
  const externalStringData = graph.strings.indexOf('system / ExternalStringData');
  const owners = new Uint32Array(nodeCount);
  // Each node enters the worklist at most twice (to an owner, then to shared).
  const worklist = new Uint32Array(nodeCount * 2);
  let top = 0;
  for (let o = 0; o < nodeCount; o++) {
    const base = o * nodeFieldCount;
    const type = nodes[base + nodeTypeOffset]!;
    const ownable = type === hidden || type === array || (type === native && nodes[base + nodeNameOffset] === externalStringData);
    if (ownable) {
      owners[o] = UNVISITED;
    } else {
      owners[o] = o;
      worklist[top++] = o;
    }
  }
  while (top > 0) {
    const node = worklist[--top]!;
    const owner = owners[node]!;
    for (let e = firstEdge[node]!, end = firstEdge[node + 1]!; e < end; e++) {
      const base = e * edgeFieldCount;
      if (edges[base + edgeTypeOffset] === weak) continue;
      const target = edges[base + edgeToNodeOffset]!;
      const current = owners[target]!;
      if (current === UNVISITED) {
        owners[target] = owner;
        worklist[top++] = target;
      } else if (current !== target && current !== owner && current !== SHARED) {
        owners[target] = SHARED;
        worklist[top++] = target;
      }
    }
  }
  for (let o = 0; o < nodeCount; o++) {
    const owner = owners[o]!;
    if (owner === UNVISITED || owner === SHARED || owner === o) continue;
    // Moving size onto the root or a synthetic node tells nobody anything.
    if (owner === rootOrdinal || nodes[owner * nodeFieldCount + nodeTypeOffset] === synthetic) continue;
    sizes[owner]! += sizes[o]!;
    sizes[o] = 0;
  }
  return sizes;
}

function hasUserRoots(graph: HeapGraph): boolean {
  const root = graph.rootOrdinal;
  const synthetic = graph.layout.nodeType.synthetic;
  for (let e = graph.firstEdge[root]!, end = graph.firstEdge[root + 1]!; e < end; e++) {
    if (graph.nodeType(graph.edgeTarget(e)) !== synthetic) return true;
  }
  return false;
}
