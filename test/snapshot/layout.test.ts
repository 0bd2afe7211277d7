import { describe, expect, it } from 'vitest';
import { HeapGraph } from '../../src/graph/heap-graph.js';
import { SnapshotFormatError } from '../../src/snapshot/errors.js';
import { resolveLayout } from '../../src/snapshot/layout.js';
import { parseSnapshotBytes } from '../../src/snapshot/load.js';
import { EDGE_TYPES, NODE20_NODE_FIELDS, NODE24_NODE_FIELDS, NODE_TYPES, SnapshotBuilder } from '../helpers/snapshot-builder.js';

const meta = (nodeFields: string[], nodeTypes = NODE_TYPES) => ({
  node_fields: nodeFields,
  node_types: [nodeTypes, 'string', 'number'],
  edge_fields: ['type', 'name_or_index', 'to_node'],
  edge_types: [EDGE_TYPES, 'string_or_number', 'node'],
  location_fields: ['object_index', 'script_id', 'line', 'column'],
});

describe('resolveLayout', () => {
  it('reads Node 20 offsets (with trace_node_id) by name', () => {
    const layout = resolveLayout(meta(NODE20_NODE_FIELDS, [...NODE_TYPES, 'wasm object']), 'f');
    expect([layout.nodeFieldCount, layout.nodeTypeOffset, layout.nodeNameOffset, layout.nodeIdOffset, layout.nodeSelfSizeOffset, layout.nodeEdgeCountOffset, layout.nodeTraceNodeIdOffset, layout.nodeDetachednessOffset]).toEqual([7, 0, 1, 2, 3, 4, 5, 6]);
    expect([layout.edgeFieldCount, layout.edgeTypeOffset, layout.edgeNameOffset, layout.edgeToNodeOffset]).toEqual([3, 0, 1, 2]);
    expect(layout.nodeType.synthetic).toBe(9);
    expect(layout.edgeType.weak).toBe(6);
    expect(layout.locationLineOffset).toBe(2);
  });

  it('reads Node 24 offsets (no trace_node_id) and reordered fields', () => {
    const layout = resolveLayout(meta(NODE24_NODE_FIELDS), 'f');
    expect([layout.nodeFieldCount, layout.nodeEdgeCountOffset, layout.nodeTraceNodeIdOffset, layout.nodeDetachednessOffset]).toEqual([6, 4, -1, 5]);
    const shuffled = resolveLayout({ ...meta(['id', 'edge_count', 'name', 'self_size', 'type']), edge_fields: ['to_node', 'type', 'name_or_index'] }, 'f');
    expect([shuffled.nodeIdOffset, shuffled.nodeEdgeCountOffset, shuffled.nodeNameOffset, shuffled.nodeSelfSizeOffset, shuffled.nodeTypeOffset]).toEqual([0, 1, 2, 3, 4]);
    expect([shuffled.edgeToNodeOffset, shuffled.edgeTypeOffset, shuffled.edgeNameOffset]).toEqual([0, 1, 2]);
  });

  it('absent types resolve to -1', () => {
    const layout = resolveLayout(meta(NODE20_NODE_FIELDS, ['hidden', 'object', 'synthetic']), 'f');
    expect([layout.nodeType.hidden, layout.nodeType.object, layout.nodeType.synthetic, layout.nodeType.closure]).toEqual([0, 1, 2, -1]);
  });

  it('names the missing field in a typed error', () => {
    const broken = meta(['type', 'name', 'id', 'self_size']);
    expect(() => resolveLayout(broken, 'x.heapsnapshot')).toThrow(SnapshotFormatError);
    expect(() => resolveLayout(broken, 'x.heapsnapshot')).toThrow('x.heapsnapshot: wrong meta: node_fields has no "edge_count" (value "type,name,id,self_size") at snapshot.meta');
    expect(() => resolveLayout({ ...meta(NODE20_NODE_FIELDS), edge_types: [['property', 'weak']] }, 'y')).toThrow('y: wrong meta: edge_types lacks "element" or "hidden"');
    expect(() => resolveLayout(null, 'z')).toThrow('z: wrong meta: snapshot.meta is missing or not an object');
  });
});

describe('nodes as loaded', () => {
  // A snapshot built by hand, its JSON edited: the meta lists `extra` more node types.
  const withTypes = (extra: string[], lastType: number): Uint8Array => {
    const b = new SnapshotBuilder();
    const kept = b.node('object', 'Kept', 24);
    const last = b.node('object', 'Last', 32);
    b.edge(b.root, 'shortcut', 'global', kept).edge(kept, 'property', 'next', last);
    const json = JSON.parse(b.toJSON()) as { snapshot: { meta: { node_types: string[][]; node_fields: string[] } }; nodes: number[] };
    json.snapshot.meta.node_types[0]!.push(...extra);
    json.nodes[last * json.snapshot.meta.node_fields.length] = lastType;
    return Buffer.from(JSON.stringify(json));
  };

  it('type and name share a word (three words a node) when every type fits 4 bits', () => {
    const snapshot = parseSnapshotBytes(withTypes([], NODE_TYPES.indexOf('object')));
    const graph = new HeapGraph(snapshot);
    expect([snapshot.layout.nodeFieldCount, snapshot.nodes.length]).toEqual([3, 9]);
    expect([graph.nodeTypeName(2), graph.nodeName(2), graph.selfSize(2)]).toEqual(['object', 'Last', 32]);
  });

  it('a 17th node type in use (a later V8) turns the nodes wide, and every value reads the same', () => {
    const extra = Array.from({ length: 17 - NODE_TYPES.length }, (_, i) => `future type ${i}`);
    const snapshot = parseSnapshotBytes(withTypes(extra, 16));
    const graph = new HeapGraph(snapshot);
    expect([snapshot.layout.nodeFieldCount, snapshot.nodes.length]).toEqual([4, 12]);
    expect([graph.nodeTypeName(2), graph.nodeName(2), graph.selfSize(2), graph.nodeName(1), graph.nodeTypeName(1)]).toEqual([extra.at(-1), 'Last', 32, 'Kept', 'object']);
    expect(graph.dominators().retainedSize[1]).toBe(56);
  });
});
