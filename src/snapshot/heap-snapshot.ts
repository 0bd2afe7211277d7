import type { SnapshotAnomaly } from './errors.js';
import type { SnapshotLayout } from './layout.js';
import type { StringTable } from './string-table.js';

/**
 * A loaded, validated snapshot: flat typed arrays in V8's own layout, with two
 * changes: each edge's `to_node` holds the target's node ordinal rather than an
 * index into `nodes`, and `nodes` keeps only the fields the graph reads (type,
 * name, id, self_size: `layout` says where), each node's edge_count having
 * become where its edges start (`firstEdge`).
 */
/** Memory one graph pass at a time may use: take it only when `inUse` is false, and give it back. */
export interface EdgeScratch {
  words: Uint32Array;
  inUse: boolean;
}

/**
 * Words a node (for nodeCount + 1 nodes) of the dominator computation's
 * memory (graph/dominators.ts) that HeapSnapshot.nodeScratch holds: the pair
 * buffer and `preorder`. Three of its four: the scratch is resident at the
 * load's own peak (the split's worker still alive), and the fourth word there
 * would lift that peak past 1.5× the file at 127 MB.
 */
export const NODE_SCRATCH_WORDS = 3;

/**
 * Graphs this big get no node scratch: from here on the graph's passes run on
 * a worker (graph/graph-workers.ts, which takes this bound) while the DFS
 * runs, the faults are a smaller share, and a scratch resident from the load
 * on only raised the peak (761 MB: 1.09× → 1.15× the file).
 */
export const NODE_SCRATCH_MAX_NODES = 4_000_000;

export interface HeapSnapshot {
  file: string;
  meta: Record<string, unknown>;
  layout: SnapshotLayout;
  nodeCount: number;
  edgeCount: number;
  /** nodeCount × layout.nodeFieldCount values. */
  nodes: Uint32Array;
  /** trace_node_id per node, when the file has a non-zero one (allocation tracking). */
  nodeTraceNodeIds: Uint32Array | undefined;
  /** edgeCount × layout.edgeFieldCount values; to_node is an ordinal (packed with the type: see layout.edgeToNodeShift). */
  edges: Uint32Array;
  /**
   * The word an edge that packing freed (edgeCount words, already resident):
   * scratch the graph's passes borrow (the retainer lists), one at a time.
   */
  edgeScratch: EdgeScratch | undefined;
  /**
   * Zeroed shared memory, (nodeCount + 1) × NODE_SCRATCH_WORDS words, already
   * written once a page by the loader's second thread while it was idle (see
   * split-edges.ts): the dominator computation takes it (and sets this to
   * undefined) instead of allocating its own, so its page faults were taken
   * off this thread. Only from a plain file the loader parsed with two threads.
   */
  nodeScratch: Uint32Array | undefined;
  /** The edges of node i are firstEdge[i] .. firstEdge[i + 1] - 1 (nodeCount + 1 entries). */
  firstEdge: Uint32Array;
  strings: StringTable;
  /**
   * Closure source positions (object_index is an index into the file's nodes: ordinal × layout.fileNodeFieldCount), when present.
   * A plain file of 32 MB or more has them checked at load and read from the file on first access (deferred-section.ts),
   * which throws SnapshotFormatError if the file changed since.
   */
  locations: Uint32Array | undefined;
  samples: Uint32Array | undefined;
  traceFunctionInfos: Uint32Array | undefined;
  traceTree: unknown;
  /** `snapshot.extra_native_bytes` (Node 24+). */
  extraNativeBytes: number | undefined;
  anomalies: SnapshotAnomaly[];
}
