import { SnapshotFormatError } from './errors.js';

/** Node type names V8 uses; any may be absent from a given version's meta. */
const NODE_TYPE_NAMES = [
  'hidden', 'array', 'string', 'object', 'code', 'closure', 'regexp', 'number', 'native',
  'synthetic', 'concatenated string', 'sliced string', 'symbol', 'bigint', 'object shape',
] as const;
const EDGE_TYPE_NAMES = ['context', 'element', 'property', 'internal', 'hidden', 'shortcut', 'weak'] as const;

export type NodeTypeName = (typeof NODE_TYPE_NAMES)[number];
export type EdgeTypeName = (typeof EDGE_TYPE_NAMES)[number];

/**
 * Where each field lives in the flat `nodes`/`edges`/`locations` arrays and which
 * numeric id each type name has. V8 versions differ (Node 24 dropped
 * `trace_node_id`, Node 22 dropped the `wasm object` type), so nothing is
 * hard-coded: every offset and id is looked up by name. Absent optional fields
 * and types are -1, which no real field or type id equals.
 */
export interface SnapshotLayout {
  /** Values per node in the `nodes` array as loaded (see narrowNodeLayout). */
  nodeFieldCount: number;
  /**
   * Values per node in the file's `nodes` section: an edge's to_node (in the
   * file) and a location's object_index count in these.
   */
  fileNodeFieldCount: number;
  /**
   * A node's type is `nodes[o * nodeFieldCount + nodeTypeOffset] & nodeTypeMask`
   * and its name `nodes[o * nodeFieldCount + nodeNameOffset] >>> nodeNameShift`:
   * packed nodes keep both in one word (see narrowNodeLayout); in the file's
   * layout the mask keeps every bit and the shift is 0.
   */
  nodeTypeOffset: number;
  nodeTypeMask: number;
  nodeNameOffset: number;
  nodeNameShift: number;
  nodeIdOffset: number;
  nodeSelfSizeOffset: number;
  nodeEdgeCountOffset: number;
  nodeTraceNodeIdOffset: number;
  nodeDetachednessOffset: number;
  /** Values per edge in the `edges` array as loaded (see packedEdgeLayout). */
  edgeFieldCount: number;
  /** Values per edge in the file. */
  fileEdgeFieldCount: number;
  /**
   * An edge's type is `edges[e * edgeFieldCount + edgeTypeOffset] & edgeTypeMask`
   * and its target `edges[e * edgeFieldCount + edgeToNodeOffset] >>> edgeToNodeShift`:
   * packed edges keep both in one word (see packedEdgeLayout); in the file's
   * layout the mask keeps every bit and the shift is 0.
   */
  edgeTypeOffset: number;
  edgeTypeMask: number;
  edgeNameOffset: number;
  edgeToNodeOffset: number;
  edgeToNodeShift: number;
  locationFieldCount: number;
  locationObjectIndexOffset: number;
  locationScriptIdOffset: number;
  locationLineOffset: number;
  locationColumnOffset: number;
  nodeTypeNames: string[];
  edgeTypeNames: string[];
  nodeType: Record<NodeTypeName, number>;
  edgeType: Record<EdgeTypeName, number>;
}

/**
 * Resolves the field layout from `snapshot.meta`. Pure; throws
 * SnapshotFormatError naming the missing or malformed part.
 */
export function resolveLayout(meta: unknown, file: string): SnapshotLayout {
  const fail = (fault: string, value?: unknown): never => {
    throw new SnapshotFormatError(file, `wrong meta: ${fault}`, { value, position: 'snapshot.meta' });
  };
  if (typeof meta !== 'object' || meta === null) fail('snapshot.meta is missing or not an object', meta);
  const m = meta as Record<string, unknown>;
  const nodeFields = stringList(m.node_fields) ?? fail('node_fields is not a list of names', m.node_fields);
  const edgeFields = stringList(m.edge_fields) ?? fail('edge_fields is not a list of names', m.edge_fields);
  const nodeTypeNames = typeList(m.node_types) ?? fail('node_types[0] is not a list of names', m.node_types);
  const edgeTypeNames = typeList(m.edge_types) ?? fail('edge_types[0] is not a list of names', m.edge_types);
  const locationFields = m.location_fields === undefined ? [] : stringList(m.location_fields) ?? fail('location_fields is not a list of names', m.location_fields);

  const required = (fields: string[], name: string, list: string): number => {
    const index = fields.indexOf(name);
    return index >= 0 ? index : fail(`${list} has no "${name}"`, fields.join(','));
  };
  const optional = (fields: string[], name: string): number => fields.indexOf(name);

  const edgeType = idsOf(EDGE_TYPE_NAMES, edgeTypeNames);
  // Element and hidden edges carry an index instead of a string id; without
  // them the edge names cannot be read correctly.
  if (edgeType.element < 0 || edgeType.hidden < 0) fail('edge_types lacks "element" or "hidden"', edgeTypeNames.join(','));

  return {
    nodeFieldCount: nodeFields.length,
    fileNodeFieldCount: nodeFields.length,
    nodeTypeOffset: required(nodeFields, 'type', 'node_fields'),
    nodeTypeMask: -1,
    nodeNameOffset: required(nodeFields, 'name', 'node_fields'),
    nodeNameShift: 0,
    nodeIdOffset: required(nodeFields, 'id', 'node_fields'),
    nodeSelfSizeOffset: required(nodeFields, 'self_size', 'node_fields'),
    nodeEdgeCountOffset: required(nodeFields, 'edge_count', 'node_fields'),
    nodeTraceNodeIdOffset: optional(nodeFields, 'trace_node_id'),
    nodeDetachednessOffset: optional(nodeFields, 'detachedness'),
    edgeFieldCount: edgeFields.length,
    fileEdgeFieldCount: edgeFields.length,
    edgeTypeOffset: required(edgeFields, 'type', 'edge_fields'),
    edgeTypeMask: -1,
    edgeNameOffset: required(edgeFields, 'name_or_index', 'edge_fields'),
    edgeToNodeOffset: required(edgeFields, 'to_node', 'edge_fields'),
    edgeToNodeShift: 0,
    locationFieldCount: locationFields.length,
    locationObjectIndexOffset: optional(locationFields, 'object_index'),
    locationScriptIdOffset: optional(locationFields, 'script_id'),
    locationLineOffset: optional(locationFields, 'line'),
    locationColumnOffset: optional(locationFields, 'column'),
    nodeTypeNames,
    edgeTypeNames,
    nodeType: idsOf(NODE_TYPE_NAMES, nodeTypeNames),
    edgeType,
  };
}

function stringList(value: unknown): string[] | undefined {
  return Array.isArray(value) && value.length > 0 && value.every((v) => typeof v === 'string') ? value : undefined;
}

function typeList(value: unknown): string[] | undefined {
  return Array.isArray(value) ? stringList(value[0]) : undefined;
}

function idsOf<T extends string>(names: readonly T[], present: string[]): Record<T, number> {
  const ids = {} as Record<T, number>;
  for (const name of names) ids[name] = present.indexOf(name);
  return ids;
}

/** Bits of a packed node's type: V8 has at most 16 node types. */
export const PACKED_NODE_TYPE_BITS = 4;

/**
 * The layout of nodes stored narrow (node-columns.ts): type, name, id and
 * self_size only; edge_count became the snapshot's firstEdge, and
 * trace_node_id, when any is set, a column of its own (detachedness is not kept).
 * Packed (every type below 16, every name below 2^28): name << 4 | type in
 * one word, then id and self_size, three words a node.
 */
export function narrowNodeLayout(layout: SnapshotLayout, packed: boolean): SnapshotLayout {
  const narrow = { ...layout, nodeEdgeCountOffset: -1, nodeTraceNodeIdOffset: -1, nodeDetachednessOffset: -1 };
  if (!packed) return { ...narrow, nodeFieldCount: 4, nodeTypeOffset: 0, nodeTypeMask: -1, nodeNameOffset: 1, nodeNameShift: 0, nodeIdOffset: 2, nodeSelfSizeOffset: 3 };
  return {
    ...narrow,
    nodeFieldCount: 3,
    nodeTypeOffset: 0,
    nodeTypeMask: (1 << PACKED_NODE_TYPE_BITS) - 1,
    nodeNameOffset: 0,
    nodeNameShift: PACKED_NODE_TYPE_BITS,
    nodeIdOffset: 1,
    nodeSelfSizeOffset: 2,
  };
}

/** Bits of a packed edge's type: V8 has 7 edge types. */
export const PACKED_EDGE_TYPE_BITS = 3;

/**
 * Whether the edges can be packed (validate.ts): the file's three fields
 * only, at most 2^PACKED_EDGE_TYPE_BITS types, and node ordinals that leave
 * those bits free (2^29 nodes: a snapshot of some 40 GB).
 */
export function canPackEdges(layout: SnapshotLayout, nodeCount: number): boolean {
  return layout.fileEdgeFieldCount === 3 && layout.edgeTypeNames.length <= 1 << PACKED_EDGE_TYPE_BITS && nodeCount <= 2 ** (32 - PACKED_EDGE_TYPE_BITS);
}

/**
 * The layout of packed edges: two words an edge instead of three, its
 * name_or_index, then its target ordinal and type in one word
 * (to << 3 | type).
 */
export function packedEdgeLayout(layout: SnapshotLayout): SnapshotLayout {
  return {
    ...layout,
    edgeFieldCount: 2,
    edgeNameOffset: 0,
    edgeTypeOffset: 1,
    edgeTypeMask: (1 << PACKED_EDGE_TYPE_BITS) - 1,
    edgeToNodeOffset: 1,
    edgeToNodeShift: PACKED_EDGE_TYPE_BITS,
  };
}
