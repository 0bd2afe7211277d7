/**
 * Builds small, valid .heapsnapshot JSON by hand, in V8's own layout (Node 20
 * fields by default), so graph algorithms can be checked on graphs whose
 * dominators and retained sizes are known.
 *
 *   const b = new SnapshotBuilder();
 *   const a = b.node('object', 'A', 10);
 *   b.edge(b.root, 'property', 'a', a);
 *   const text = b.toJSON();
 */
export const NODE20_NODE_FIELDS = ['type', 'name', 'id', 'self_size', 'edge_count', 'trace_node_id', 'detachedness'];
export const NODE24_NODE_FIELDS = ['type', 'name', 'id', 'self_size', 'edge_count', 'detachedness'];
export const NODE_TYPES = ['hidden', 'array', 'string', 'object', 'code', 'closure', 'regexp', 'number', 'native', 'synthetic', 'concatenated string', 'sliced string', 'symbol', 'bigint', 'object shape'];
export const EDGE_TYPES = ['context', 'element', 'property', 'internal', 'hidden', 'shortcut', 'weak'];

interface BuiltNode { type: string; name: string; id: number; size: number; edges: BuiltEdge[] }
interface BuiltEdge { type: string; name: string | number; to: number }

export class SnapshotBuilder {
  private readonly nodes: BuiltNode[] = [];
  private nextId = 1;
  /** The synthetic root, node ordinal 0. */
  readonly root: number;

  constructor(private readonly nodeFields: string[] = NODE20_NODE_FIELDS) {
    this.root = this.node('synthetic', '', 0);
  }

  /** Adds a node and returns its ordinal. Ids step by 2 like V8's. */
  node(type: string, name: string, size: number, id?: number): number {
    this.nodes.push({ type, name, id: id ?? this.nextId, size, edges: [] });
    this.nextId += 2;
    return this.nodes.length - 1;
  }

  edge(from: number, type: string, name: string | number, to: number): this {
    this.nodes[from]!.edges.push({ type, name, to });
    return this;
  }

  toJSON(extra: { strings?: string[] } = {}): string {
    const strings: string[] = [];
    const index = new Map<string, number>();
    const stringId = (s: string): number => {
      let i = index.get(s);
      if (i === undefined) {
        i = strings.length;
        strings.push(s);
        index.set(s, i);
      }
      return i;
    };
    stringId('');
    for (const s of extra.strings ?? []) stringId(s);
    const fieldCount = this.nodeFields.length;
    const nodes: number[] = [];
    const edges: number[] = [];
    let edgeCount = 0;
    for (const node of this.nodes) {
      const values: Record<string, number> = {
        type: NODE_TYPES.indexOf(node.type),
        name: stringId(node.name),
        id: node.id,
        self_size: node.size,
        edge_count: node.edges.length,
        trace_node_id: 0,
        detachedness: 0,
      };
      for (const field of this.nodeFields) nodes.push(values[field]!);
      for (const edge of node.edges) {
        const byIndex = edge.type === 'element' || edge.type === 'hidden';
        edges.push(EDGE_TYPES.indexOf(edge.type), byIndex ? Number(edge.name) : stringId(String(edge.name)), edge.to * fieldCount);
        edgeCount++;
      }
    }
    const meta = {
      node_fields: this.nodeFields,
      node_types: [NODE_TYPES, 'string', 'number', 'number', 'number', 'number', 'number'],
      edge_fields: ['type', 'name_or_index', 'to_node'],
      edge_types: [EDGE_TYPES, 'string_or_number', 'node'],
      trace_function_info_fields: ['function_id', 'name', 'script_name', 'script_id', 'line', 'column'],
      trace_node_fields: ['id', 'function_info_index', 'count', 'size', 'children'],
      sample_fields: ['timestamp_us', 'last_assigned_id'],
      location_fields: ['object_index', 'script_id', 'line', 'column'],
    };
    return JSON.stringify({
      snapshot: { meta, node_count: this.nodes.length, edge_count: edgeCount, trace_function_count: 0 },
      nodes,
      edges,
      trace_function_infos: [],
      trace_tree: [],
      samples: [],
      locations: [],
      strings,
    });
  }
}
