import type { HeapGraph } from './heap-graph.js';
import { NONE } from './none.js';

export interface IdIndex {
  lookup(id: number): number;
}

/**
 * V8 object id → node ordinal, as an open-addressing hash table in one
 * Uint32Array (ids are unique within a snapshot). Build is one pass; a lookup
 * is a few probes.
 */
export function buildIdIndex(graph: HeapGraph): IdIndex {
  const { nodeCount, nodes, layout } = graph;
  const stride = layout.nodeFieldCount;
  const idOffset = layout.nodeIdOffset;
  let capacity = 1;
  while (capacity < nodeCount * 2) capacity <<= 1;
  const mask = capacity - 1;
  // Slots hold ordinal + 1 so that 0 means empty.
  const slots = new Uint32Array(capacity);
  for (let o = 0; o < nodeCount; o++) {
    let slot = hash(nodes[o * stride + idOffset]!) & mask;
    while (slots[slot] !== 0) slot = (slot + 1) & mask;
    slots[slot] = o + 1;
  }
  return {
    lookup(id: number): number {
      let slot = hash(id) & mask;
      for (;;) {
        const entry = slots[slot]!;
        if (entry === 0) return NONE;
        if (nodes[(entry - 1) * stride + idOffset] === id) return entry - 1;
        slot = (slot + 1) & mask;
      }
    },
  };
}

/** V8 ids step by 2; a multiplicative hash spreads them over the table. */
function hash(id: number): number {
  return Math.imul(id, 0x9e3779b1) >>> 0;
}
