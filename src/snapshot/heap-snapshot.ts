import type { SnapshotAnomaly } from './errors.js';
import type { SnapshotLayout } from './layout.js';
import type { StringTable } from './string-table.js';

/**
 * A loaded, validated snapshot: flat typed arrays in V8's own layout, with one
 * change: each edge's `to_node` holds the target's node ordinal rather than an
 * index into `nodes`; and one addition: where each node's edges start.
 */
export interface HeapSnapshot {
  file: string;
  meta: Record<string, unknown>;
  layout: SnapshotLayout;
  nodeCount: number;
  edgeCount: number;
  /** nodeCount × layout.nodeFieldCount values. */
  nodes: Uint32Array;
  /** edgeCount × layout.edgeFieldCount values; to_node is an ordinal. */
  edges: Uint32Array;
  /** The edges of node i are firstEdge[i] .. firstEdge[i + 1] - 1 (nodeCount + 1 entries). */
  firstEdge: Uint32Array;
  strings: StringTable;
  /** Closure source positions (object_index is a node-array index), when present. */
  locations: Uint32Array | undefined;
  samples: Uint32Array | undefined;
  traceFunctionInfos: Uint32Array | undefined;
  traceTree: unknown;
  /** `snapshot.extra_native_bytes` (Node 24+). */
  extraNativeBytes: number | undefined;
  anomalies: SnapshotAnomaly[];
}
