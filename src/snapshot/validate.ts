import { AnomalyLog, SnapshotFormatError } from './errors.js';
import type { HeapSnapshot } from './heap-snapshot.js';
import { canPackEdges, narrowNodeLayout, packedEdgeLayout, PACKED_EDGE_TYPE_BITS, resolveLayout, type SnapshotLayout } from './layout.js';
import type { ParsedSections } from './parser.js';

/**
 * Checks the parsed sections against each other and the meta, converts every
 * edge's to_node into a node ordinal (in place, once) and indexes where each
 * node's edges start. Every fault is a
 * SnapshotFormatError naming the offending value and its position.
 */
export function validateSections(file: string, parsed: ParsedSections, converted?: { maxName: number }): HeapSnapshot {
  const fileLayout = resolveLayout(parsed.meta, file);
  const columns = parsed.nodeColumns;
  // The nodes as stored: narrow when the parser kept only what the graph reads.
  const layout = columns ? narrowNodeLayout(fileLayout, columns.packed) : fileLayout;
  const { nodes, edges, strings } = parsed;
  const fail = (fault: string, value: unknown, position: string): never => {
    throw new SnapshotFormatError(file, fault, { value, position });
  };
  const nodeFieldCount = layout.nodeFieldCount;
  const fileNodeFieldCount = fileLayout.fileNodeFieldCount;
  const edgeFieldCount = layout.edgeFieldCount;
  // In the file's units, as the file was written.
  const nodeValues = columns ? columns.valueCount : nodes.length;
  if (nodeValues % fileNodeFieldCount !== 0) {
    fail(`"nodes" length is not a multiple of the ${fileNodeFieldCount} node fields`, nodeValues, 'nodes');
  }
  if (edges.length % edgeFieldCount !== 0) {
    fail(`"edges" length is not a multiple of the ${edgeFieldCount} edge fields`, edges.length, 'edges');
  }
  const nodeCount = nodeValues / fileNodeFieldCount;
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
  const { nodeTypeOffset, nodeTypeMask, nodeNameOffset, nodeNameShift, nodeEdgeCountOffset } = layout;
  // Shared memory: graph passes on worker threads read it (graph/graph-workers.ts).
  // Narrow nodes come with it, filled from the edge counts as they were parsed.
  const firstEdge = columns ? columns.firstEdge : new Uint32Array(new SharedArrayBuffer((nodeCount + 1) * 4));
  const nodeChecks: NodeChecks = { nodes, firstEdge, nodeFieldCount, nodeTypeOffset, nodeTypeMask, nodeNameOffset, nodeNameShift, nodeEdgeCountOffset, nodeTypeLimit, stringCount };
  let edgeTotal = 0;
  for (let node = 0; node < nodeCount; node += BLOCK) {
    const to = Math.min(nodeCount, node + BLOCK);
    const total = columns ? checkNarrowNodeBlock(nodeChecks, node, to) : checkNodeBlock(nodeChecks, node, to, edgeTotal);
    if (total >= 0) {
      edgeTotal = total;
      continue;
    }
    const bad = -1 - total;
    const type = (nodes[bad * nodeFieldCount + nodeTypeOffset]! & nodeTypeMask) >>> 0;
    if (type >= nodeTypeLimit) fail('unknown node type id', type, `node ${bad}`);
    fail('node name is not a valid string index', nodes[bad * nodeFieldCount + nodeNameOffset]! >>> nodeNameShift, `node ${bad}`);
  }
  if (columns) edgeTotal = columns.edgeTotal;
  else firstEdge[nodeCount] = edgeTotal;
  if (edgeTotal !== edgeCount) {
    fail(`the nodes' edge counts add up to ${edgeTotal} but "edges" holds ${edgeCount}`, edgeTotal, 'nodes');
  }

  const { edgeTypeOffset, edgeNameOffset, edgeToNodeOffset } = layout;
  const edgeChecks: EdgeChecks = {
    edges, edgeFieldCount, edgeTypeOffset, edgeNameOffset, edgeToNodeOffset, edgeTypeLimit, stringCount,
    elementType: layout.edgeType.element, hiddenType: layout.edgeType.hidden, nodeFieldCount: fileNodeFieldCount, nodesLength: nodeCount * fileNodeFieldCount,
  };
  // Already checked and converted by the edges split's worker (split-edges.ts),
  // all but the string indexes, which only now can be judged.
  const from = converted === undefined ? 0 : converted.maxName < stringCount ? edgeCount : firstBadName(edgeChecks);
  for (let edge = from; edge < edgeCount; edge += BLOCK) {
    const bad = convertEdgeBlock(edgeChecks, edge, Math.min(edgeCount, edge + BLOCK));
    if (bad < 0) continue;
    const i = bad * edgeFieldCount;
    const type = edges[i + edgeTypeOffset]!;
    if (type >= edgeTypeLimit) fail('unknown edge type id', type, `edge ${bad}`);
    if (type !== layout.edgeType.element && type !== layout.edgeType.hidden && edges[i + edgeNameOffset]! >= stringCount) {
      fail('edge name is not a valid string index', edges[i + edgeNameOffset], `edge ${bad}`);
    }
    const to = edges[i + edgeToNodeOffset]!;
    if (to >= nodeCount * fileNodeFieldCount) fail('edge to_node is out of range', to, `edge ${bad}`);
    fail(`edge to_node is not a multiple of the ${fileNodeFieldCount} node fields`, to, `edge ${bad}`);
  }

  // Two words an edge instead of three: every pass over the edges reads a
  // third less memory, and the freed third is resident memory the graph's
  // passes reuse (the retainer lists) instead of allocating their own.
  let storedEdges = edges;
  let storedLayout: SnapshotLayout = layout;
  let edgeScratch: HeapSnapshot['edgeScratch'];
  if (canPackEdges(layout, nodeCount)) {
    for (let edge = 0; edge < edgeCount; edge += BLOCK) packEdgeBlock(edges, layout, edge, Math.min(edgeCount, edge + BLOCK));
    storedEdges = edges.subarray(0, 2 * edgeCount);
    storedLayout = packedEdgeLayout(layout);
    edgeScratch = { words: edges.subarray(2 * edgeCount, 3 * edgeCount), inUse: false };
  }

  const anomalies = new AnomalyLog();
  for (const section of parsed.unknownSections) anomalies.add('unknown-section', `ignored unknown section "${section}"`);
  return {
    file,
    meta: parsed.meta,
    layout: storedLayout,
    nodeCount,
    edgeCount,
    nodes,
    nodeTraceNodeIds: columns?.traceNodeIds,
    edges: storedEdges,
    edgeScratch,
    nodeScratch: undefined,
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

// The checks run in blocks, one call each: V8 optimises a short function
// called many times sooner than a long loop it meets once (this pass runs
// once per load; measured: 28 → 19 ms for 4.8M edges).
const BLOCK = 1 << 14;

interface NodeChecks {
  nodes: Uint32Array;
  firstEdge: Uint32Array;
  nodeFieldCount: number;
  nodeTypeOffset: number;
  nodeTypeMask: number;
  nodeNameOffset: number;
  nodeNameShift: number;
  nodeEdgeCountOffset: number;
  nodeTypeLimit: number;
  stringCount: number;
}

/**
 * Checks nodes [from, to) and fills their firstEdge, counting on from
 * `edgeTotal`; returns the running total, or -1 - node for the first bad node.
 */
function checkNodeBlock(c: NodeChecks, from: number, to: number, edgeTotal: number): number {
  const { nodes, firstEdge, nodeFieldCount, nodeTypeOffset, nodeNameOffset, nodeEdgeCountOffset, nodeTypeLimit, stringCount } = c;
  for (let node = from, i = from * nodeFieldCount; node < to; node++, i += nodeFieldCount) {
    firstEdge[node] = edgeTotal;
    if (nodes[i + nodeTypeOffset]! >= nodeTypeLimit || nodes[i + nodeNameOffset]! >= stringCount) return -1 - node;
    edgeTotal += nodes[i + nodeEdgeCountOffset]!;
  }
  return edgeTotal;
}

/**
 * Packs edges [from, to) in place, in order: edge e's three words (at 3e)
 * become two (at 2e): its name, then to << 3 | type. Writing below what is
 * still to be read, a block at a time from the first, never overwrites an
 * edge not yet packed.
 */
function packEdgeBlock(edges: Uint32Array, layout: SnapshotLayout, from: number, to: number): void {
  const { edgeTypeOffset, edgeNameOffset, edgeToNodeOffset } = layout;
  for (let edge = from, i = 3 * from, o = 2 * from; edge < to; edge++, i += 3, o += 2) {
    const type = edges[i + edgeTypeOffset]!;
    const name = edges[i + edgeNameOffset]!;
    const target = edges[i + edgeToNodeOffset]!;
    edges[o] = name;
    edges[o + 1] = ((target << PACKED_EDGE_TYPE_BITS) | type) >>> 0;
  }
}

/** The same checks on narrow nodes (their firstEdge was filled as they were parsed); 0, or -1 - node for the first bad node. */
function checkNarrowNodeBlock(c: NodeChecks, from: number, to: number): number {
  const { nodes, nodeFieldCount, nodeTypeOffset, nodeTypeMask, nodeNameOffset, nodeNameShift, nodeTypeLimit, stringCount } = c;
  for (let node = from, i = from * nodeFieldCount; node < to; node++, i += nodeFieldCount) {
    // >>> 0: the file layout's mask (-1) gives a signed result, and a type of 2^31 or more must fail too.
    if ((nodes[i + nodeTypeOffset]! & nodeTypeMask) >>> 0 >= nodeTypeLimit || nodes[i + nodeNameOffset]! >>> nodeNameShift >= stringCount) return -1 - node;
  }
  return 0;
}

interface EdgeChecks {
  edges: Uint32Array;
  edgeFieldCount: number;
  edgeTypeOffset: number;
  edgeNameOffset: number;
  edgeToNodeOffset: number;
  edgeTypeLimit: number;
  stringCount: number;
  elementType: number;
  hiddenType: number;
  nodeFieldCount: number;
  nodesLength: number;
}

/** The first edge whose name is not a string index (one exists): the edges before it are converted. */
function firstBadName(c: EdgeChecks): number {
  const { edges, edgeFieldCount, edgeTypeOffset, edgeNameOffset, stringCount, elementType, hiddenType } = c;
  for (let edge = 0, i = 0; ; edge++, i += edgeFieldCount) {
    const type = edges[i + edgeTypeOffset]!;
    if (type !== elementType && type !== hiddenType && edges[i + edgeNameOffset]! >= stringCount) return edge;
  }
}

/** Checks edges [from, to) and turns their to_node into an ordinal; the first bad edge, or -1. */
function convertEdgeBlock(c: EdgeChecks, from: number, to: number): number {
  const { edges, edgeFieldCount, edgeTypeOffset, edgeNameOffset, edgeToNodeOffset, edgeTypeLimit, stringCount, elementType, hiddenType, nodeFieldCount, nodesLength } = c;
  for (let edge = from, i = from * edgeFieldCount; edge < to; edge++, i += edgeFieldCount) {
    const type = edges[i + edgeTypeOffset]!;
    if (type >= edgeTypeLimit) return edge;
    if (type !== elementType && type !== hiddenType && edges[i + edgeNameOffset]! >= stringCount) return edge;
    const target = edges[i + edgeToNodeOffset]!;
    if (target >= nodesLength || target % nodeFieldCount !== 0) return edge;
    edges[i + edgeToNodeOffset] = target / nodeFieldCount;
  }
  return -1;
}
