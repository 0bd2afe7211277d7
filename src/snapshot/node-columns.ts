import { PACKED_NODE_TYPE_BITS } from './layout.js';

/**
 * Where the parser puts the `nodes` section when the meta declares its size:
 * only the fields the graph reads are kept (name << 4 | type, id, self_size:
 * 12 bytes a node instead of V8's 24 or 28), and each node's edge_count
 * becomes where its edges start (firstEdge, which the graph needs anyway).
 * Types need 4 bits and names (string indexes) fit the other 28 in any file
 * below some 800 MB of strings; a node that does not fit turns the columns
 * wide (type, name, id, self_size: 16 bytes) at once, for the whole file:
 * the wide copy kernel is kept apart from the packed one so that the packed
 * loop, which every real snapshot runs, carries only its one range check.
 * trace_node_id is kept in a column of its own only when some node has a
 * non-zero one (allocation tracking). detachedness is not kept: it marks DOM
 * wrappers a browser has detached, nothing here reads it, and Node 20 sets it
 * on enough embedder nodes to cost a byte a node.
 *
 * Memory written for the first time is the dearest part of a load (a page
 * fault each 4 kB; in a VM that also faults in the host, 5–12 µs each, slower
 * than parsing the bytes that fill it): storing 20 bytes a node where the
 * file layout and firstEdge took 32 saves a third of the nodes' faults, and
 * every later pass reads 40 % fewer cache lines.
 *
 * The parser's number loop writes into a small scratch array (`array`, a few
 * hundred kB, which stays in cache); when it is full, `grow()` moves its
 * complete nodes into the columns and keeps a cut node's first values.
 */
/** Words a node as stored: packed (name and type in one) or wide. */
const PACKED_WIDTH = 3;
const WIDE_WIDTH = 4;
const MAX_PACKED_TYPE = (1 << PACKED_NODE_TYPE_BITS) - 1;
const MAX_PACKED_NAME = 2 ** (32 - PACKED_NODE_TYPE_BITS) - 1;

/** Nodes per scratch fill. */
const SCRATCH_NODES = 1 << 14;

/** Offsets of the fields in the file's node_fields (the four stored ones, edge_count, and the two optional ones or -1). */
export interface FileNodeFields {
  fieldCount: number;
  type: number;
  name: number;
  id: number;
  selfSize: number;
  edgeCount: number;
  traceNodeId: number;
}

/** The offsets of the fields node-columns needs, or undefined when node_fields lacks one (validation reports the meta). */
export function fileNodeFields(nodeFields: unknown): FileNodeFields | undefined {
  if (!Array.isArray(nodeFields) || !nodeFields.every((f) => typeof f === 'string')) return undefined;
  const at = (name: string): number => nodeFields.indexOf(name);
  const fields = {
    fieldCount: nodeFields.length, type: at('type'), name: at('name'), id: at('id'), selfSize: at('self_size'),
    edgeCount: at('edge_count'), traceNodeId: at('trace_node_id'),
  };
  return fields.type < 0 || fields.name < 0 || fields.id < 0 || fields.selfSize < 0 || fields.edgeCount < 0 ? undefined : fields;
}

export class NodeColumns {
  /** The scratch the parser fills (file layout); see GrowableU32 for the protocol. */
  array: Uint32Array;
  length = 0;
  readonly fixed = true;
  /** nodeCount × 3 values (name << 4 | type, id, self_size), or × 4 once wide (type, name, id, self_size). Shared memory (graph workers read it). */
  nodes: Uint32Array;
  /** Name and type share a word (see narrowNodeLayout). */
  packed = true;
  /** nodeCount + 1 entries: node i's edges are firstEdge[i] .. firstEdge[i + 1] - 1. Shared memory. */
  readonly firstEdge: Uint32Array;
  traceNodeIds: Uint32Array | undefined;
  /** Nodes stored so far. */
  count = 0;
  /** The exact sum of the edge counts (firstEdge wraps past 2^32; validation reports it from here). */
  edgeTotal = 0;

  private readonly scratch: Uint32Array;

  constructor(readonly nodeCount: number, private readonly fields: FileNodeFields) {
    // Never room for more nodes than remain to be declared: the parser then
    // calls grow(), which says the file holds too many.
    this.scratch = new Uint32Array(new SharedArrayBuffer(Math.min(SCRATCH_NODES, nodeCount) * fields.fieldCount * 4));
    this.array = this.scratch;
    this.nodes = new Uint32Array(new SharedArrayBuffer(nodeCount * PACKED_WIDTH * 4));
    this.firstEdge = new Uint32Array(new SharedArrayBuffer((nodeCount + 1) * 4));
  }

  /** Values parsed so far, in the file's units (nodes × node_fields, plus a cut node's). */
  get valueCount(): number {
    return this.count * this.fields.fieldCount + this.length;
  }

  /** The values node_count declares. */
  get declaredValues(): number {
    return this.nodeCount * this.fields.fieldCount;
  }

  /**
   * The scratch is full and a value is coming: store its complete nodes and
   * move a cut node's values to its front. False when the file holds more
   * values than the declared nodes.
   */
  grow(): boolean {
    const width = this.fields.fieldCount;
    const complete = Math.floor(this.length / width);
    this.store(complete);
    const rest = this.length - complete * width;
    this.scratch.copyWithin(0, complete * width, this.length);
    this.length = rest;
    const room = Math.min(SCRATCH_NODES, this.nodeCount - this.count) * width;
    this.array = this.scratch.subarray(0, room);
    return room > rest;
  }

  /** Stores the complete nodes the scratch holds at the end of the section (a cut node stays: validation reports the length). */
  finish(): void {
    const width = this.fields.fieldCount;
    const complete = Math.floor(this.length / width);
    this.store(complete);
    this.scratch.copyWithin(0, complete * width, this.length);
    this.length -= complete * width;
  }

  /** The stored nodes (all of them when the file held the declared count). */
  storedNodes(): Uint32Array {
    return this.count === this.nodeCount ? this.nodes : this.nodes.subarray(0, this.count * (this.packed ? PACKED_WIDTH : WIDE_WIDTH));
  }

  private store(complete: number): void {
    const f = this.fields;
    let total = -1;
    if (this.packed) {
      total = storePackedNodes(this.array, complete, f.fieldCount, f.type, f.name, f.id, f.selfSize, f.edgeCount, this.nodes, this.firstEdge, this.count, this.edgeTotal);
      if (total < 0) this.widen();
    }
    if (!this.packed) total = storeNodes(this.array, complete, f.fieldCount, f.type, f.name, f.id, f.selfSize, f.edgeCount, this.nodes, this.firstEdge, this.count, this.edgeTotal);
    // Rare: only then look at which column, and keep it.
    if (f.traceNodeId >= 0 && anyTraceNodeId(this.array, complete, f.fieldCount, f.traceNodeId)) this.storeTraceNodeIds(complete);
    this.count += complete;
    this.edgeTotal = total;
  }

  /** A type or name too big to pack: the nodes stored so far move to wide columns, and so do the rest. */
  private widen(): void {
    const wide = new Uint32Array(new SharedArrayBuffer(this.nodeCount * WIDE_WIDTH * 4));
    const packed = this.nodes;
    for (let o = 0; o < this.count; o++) {
      const word = packed[o * PACKED_WIDTH]!;
      wide[o * WIDE_WIDTH] = word & MAX_PACKED_TYPE;
      wide[o * WIDE_WIDTH + 1] = word >>> PACKED_NODE_TYPE_BITS;
      wide[o * WIDE_WIDTH + 2] = packed[o * PACKED_WIDTH + 1]!;
      wide[o * WIDE_WIDTH + 3] = packed[o * PACKED_WIDTH + 2]!;
    }
    this.nodes = wide;
    this.packed = false;
  }

  private storeTraceNodeIds(complete: number): void {
    const { traceNodeId, fieldCount } = this.fields;
    const column = (this.traceNodeIds ??= new Uint32Array(this.nodeCount));
    for (let k = 0, i = traceNodeId; k < complete; k++, i += fieldCount) column[this.count + k] = this.array[i]!;
  }
}

/**
 * Moves `complete` nodes from the scratch (file layout) into packed columns
 * from node `first` on, filling firstEdge; returns the running edge total, or
 * -1 when a node's type or name does not fit (nothing else is then to be
 * trusted: the caller stores the fill again, wide). A short function of its
 * own, called per scratch fill: V8 optimises it early, where the same loop in
 * a method it meets a hundred times stays slow code.
 */
function storePackedNodes(scratch: Uint32Array, complete: number, width: number, type: number, name: number, id: number, selfSize: number, edgeCount: number, nodes: Uint32Array, firstEdge: Uint32Array, first: number, edgeTotal: number): number {
  let total = edgeTotal;
  for (let k = 0, i = 0, o = first; k < complete; k++, i += width, o++) {
    const t = scratch[i + type]!;
    const n = scratch[i + name]!;
    if (t > MAX_PACKED_TYPE || n > MAX_PACKED_NAME) return -1;
    const out = o * PACKED_WIDTH;
    nodes[out] = ((n << PACKED_NODE_TYPE_BITS) | t) >>> 0;
    nodes[out + 1] = scratch[i + id]!;
    nodes[out + 2] = scratch[i + selfSize]!;
    firstEdge[o] = total;
    total += scratch[i + edgeCount]!;
  }
  firstEdge[first + complete] = total;
  return total;
}

/** The same into wide columns (type, name, id, self_size), every value as it is. */
function storeNodes(scratch: Uint32Array, complete: number, width: number, type: number, name: number, id: number, selfSize: number, edgeCount: number, nodes: Uint32Array, firstEdge: Uint32Array, first: number, edgeTotal: number): number {
  let total = edgeTotal;
  for (let k = 0, i = 0, o = first; k < complete; k++, i += width, o++) {
    const out = o * WIDE_WIDTH;
    nodes[out] = scratch[i + type]!;
    nodes[out + 1] = scratch[i + name]!;
    nodes[out + 2] = scratch[i + id]!;
    nodes[out + 3] = scratch[i + selfSize]!;
    firstEdge[o] = total;
    total += scratch[i + edgeCount]!;
  }
  firstEdge[first + complete] = total;
  return total;
}

/** Whether a node of the scratch has a non-zero trace_node_id. */
function anyTraceNodeId(scratch: Uint32Array, complete: number, width: number, traceNodeId: number): boolean {
  for (let k = 0, i = traceNodeId; k < complete; k++, i += width) if (scratch[i] !== 0) return true;
  return false;
}
