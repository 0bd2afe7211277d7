import { AnomalyLog, SnapshotFormatError } from './errors.js';
import type { HeapSnapshot } from './heap-snapshot.js';
import { resolveLayout } from './layout.js';
import type { ParsedSections } from './parser.js';

/**
 * Checks the parsed sections against each other and the meta, converts every
 * edge's to_node into a node ordinal (in place, once) and indexes where each
 * node's edges start. Every fault is a
 * SnapshotFormatError naming the offending value and its position.
 */
export function validateSections(file: string, parsed: ParsedSections): HeapSnapshot {
  const layout = resolveLayout(parsed.meta, file);
  const { nodes, edges, strings } = parsed;
  const fail = (fault: string, value: unknown, position: string): never => {
    throw new SnapshotFormatError(file, fault, { value, position });
  };
  const nodeFieldCount = layout.nodeFieldCount;
  const edgeFieldCount = layout.edgeFieldCount;
  if (nodes.length % nodeFieldCount !== 0) {
    fail(`"nodes" length is not a multiple of the ${nodeFieldCount} node fields`, nodes.length, 'nodes');
  }
  if (edges.length % edgeFieldCount !== 0) {
    fail(`"edges" length is not a multiple of the ${edgeFieldCount} edge fields`, edges.length, 'edges');
  }
  const nodeCount = nodes.length / nodeFieldCount;
  const edgeCount = edges.length / edgeFieldCount;
  if (parsed.nodeCountDeclared !== undefined && parsed.nodeCountDeclared !== nodeCount) {
    fail(`snapshot.node_count says ${parsed.nodeCountDeclared} but "nodes" holds ${nodeCount}`, parsed.nodeCountDeclared, 'snapshot.node_count');
  }
  if (parsed.edgeCountDeclared !== undefined && parsed.edgeCountDeclared !== edgeCount) {
    fail(`snapshot.edge_count says ${parsed.edgeCountDeclared} but "edges" holds ${edgeCount}`, parsed.edgeCountDeclared, 'snapshot.edge_count');
  }
  if (nodeCount === 0) fail('the snapshot has no nodes (no root)', 0, 'nodes');

  const nodeTypeLimit = layout.nodeTypeNames.length;
  const edgeTypeLimit = layout.edgeTypeNames.length;
  const stringCount = strings.length;
  const { nodeTypeOffset, nodeNameOffset, nodeEdgeCountOffset } = layout;
  // Shared memory: graph passes on worker threads read it (graph/graph-workers.ts).
  const firstEdge = new Uint32Array(new SharedArrayBuffer((nodeCount + 1) * 4));
  let edgeTotal = 0;
  for (let i = 0, node = 0; i < nodes.length; i += nodeFieldCount, node++) {
    firstEdge[node] = edgeTotal;
    if (nodes[i + nodeTypeOffset]! >= nodeTypeLimit) fail('unknown node type id', nodes[i + nodeTypeOffset], `node ${i / nodeFieldCount}`);
    if (nodes[i + nodeNameOffset]! >= stringCount) fail('node name is not a valid string index', nodes[i + nodeNameOffset], `node ${i / nodeFieldCount}`);
    edgeTotal += nodes[i + nodeEdgeCountOffset]!;
  }
  firstEdge[nodeCount] = edgeTotal;
  if (edgeTotal !== edgeCount) {
    fail(`the nodes' edge counts add up to ${edgeTotal} but "edges" holds ${edgeCount}`, edgeTotal, 'nodes');
  }

  const { edgeTypeOffset, edgeNameOffset, edgeToNodeOffset } = layout;
  const elementType = layout.edgeType.element;
  const hiddenType = layout.edgeType.hidden;
  const nodesLength = nodes.length;
  for (let i = 0; i < edges.length; i += edgeFieldCount) {
    const type = edges[i + edgeTypeOffset]!;
    if (type >= edgeTypeLimit) fail('unknown edge type id', type, `edge ${i / edgeFieldCount}`);
    if (type !== elementType && type !== hiddenType && edges[i + edgeNameOffset]! >= stringCount) {
      fail('edge name is not a valid string index', edges[i + edgeNameOffset], `edge ${i / edgeFieldCount}`);
    }
    const to = edges[i + edgeToNodeOffset]!;
    if (to >= nodesLength) fail('edge to_node is out of range', to, `edge ${i / edgeFieldCount}`);
    if (to % nodeFieldCount !== 0) fail(`edge to_node is not a multiple of the ${nodeFieldCount} node fields`, to, `edge ${i / edgeFieldCount}`);
    edges[i + edgeToNodeOffset] = to / nodeFieldCount;
  }

  const anomalies = new AnomalyLog();
  for (const section of parsed.unknownSections) anomalies.add('unknown-section', `ignored unknown section "${section}"`);
  return {
    file,
    meta: parsed.meta,
    layout,
    nodeCount,
    edgeCount,
    nodes,
    edges,
    firstEdge,
    strings,
    locations: parsed.locations,
    samples: parsed.samples,
    traceFunctionInfos: parsed.traceFunctionInfos,
    traceTree: parsed.traceTree,
    extraNativeBytes: parsed.extraNativeBytes,
    anomalies: anomalies.anomalies,
  };
}
