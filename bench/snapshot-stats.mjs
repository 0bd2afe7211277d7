#!/usr/bin/env node
// The statistics that make a snapshot realistic for the loader's benchmarks, from any .heapsnapshot
// (loaded with dist/, so `npx tsc -p .` first):
//
//   node bench/snapshot-stats.mjs <file> [<file2>]      # one JSON object per file; two files: a side-by-side table
//
// Shape: node and edge type shares, edges / strings / closures / locations per node, bytes per node,
// section shares. Cost: how far edges point (|target − source| in node ordinals: a pass that follows
// edges misses the caches once targets are far), how many retainers nodes have, the depth of the
// essential-edge DFS tree (a proxy for how deep the dominator tree is).
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

/** Distance buckets (node ordinals) for where edges point. */
const DISTANCES = [16, 1024, 65536];
/** A target of more than this many edges is a hub. */
const HUB = 64;

/** Byte offsets of the top-level sections (first `"name":`), by a 4 MiB chunked scan. */
function sectionBytes(file) {
  const keys = ['nodes', 'edges', 'trace_function_infos', 'trace_tree', 'samples', 'locations', 'strings'];
  const found = {};
  const fd = fs.openSync(file, 'r');
  const buf = Buffer.allocUnsafe((4 << 20) + 64);
  let base = 0;
  let carry = 0;
  for (;;) {
    const n = fs.readSync(fd, buf, carry, buf.length - carry, null);
    if (n <= 0) break;
    const len = carry + n;
    for (const k of keys) {
      if (found[k] !== undefined) continue;
      const i = buf.subarray(0, len).indexOf(`"${k}":`);
      if (i >= 0) found[k] = base + i;
    }
    if (found.strings !== undefined) break;
    buf.copy(buf, 0, len - 64, len);
    base += len - 64;
    carry = 64;
  }
  fs.closeSync(fd);
  const size = fs.statSync(file).size;
  const order = Object.entries(found).sort((a, b) => a[1] - b[1]);
  const shares = {};
  for (let k = 0; k < order.length; k++) {
    const end = k + 1 < order.length ? order[k + 1][1] : size;
    shares[order[k][0]] = (end - order[k][1]) / size;
  }
  return shares;
}

export async function snapshotStats(file) {
  const { loadSnapshot } = await import(pathToFileURL(path.join(ROOT, 'dist/snapshot/load.js')).href);
  const { HeapGraph } = await import(pathToFileURL(path.join(ROOT, 'dist/graph/heap-graph.js')).href);
  const bytes = fs.statSync(file).size;
  const snapshot = await loadSnapshot(file);
  const g = new HeapGraph(snapshot);
  const { nodeCount, edgeCount, nodes, edges, firstEdge, layout } = g;
  const { nodeFieldCount, nodeTypeOffset, nodeTypeMask, nodeSelfSizeOffset, edgeFieldCount, edgeTypeOffset, edgeTypeMask, edgeToNodeOffset, edgeToNodeShift } = layout;
  // Nodes and edges as loaded (packed or not: layout says how).
  const typeOf = (e) => edges[e * edgeFieldCount + edgeTypeOffset] & edgeTypeMask;
  const targetOf = (e) => edges[e * edgeFieldCount + edgeToNodeOffset] >>> edgeToNodeShift;
  const nodeTypes = new Float64Array(layout.nodeTypeNames.length);
  const nodeTypeSize = new Float64Array(layout.nodeTypeNames.length);
  for (let o = 0; o < nodeCount; o++) {
    const t = nodes[o * nodeFieldCount + nodeTypeOffset] & nodeTypeMask;
    nodeTypes[t]++;
    nodeTypeSize[t] += nodes[o * nodeFieldCount + nodeSelfSizeOffset];
  }
  const edgeTypes = new Float64Array(layout.edgeTypeNames.length);
  const inDegree = new Uint32Array(nodeCount);
  for (let e = 0; e < edgeCount; e++) {
    edgeTypes[typeOf(e)]++;
    inDegree[targetOf(e)]++;
  }
  // Edges into hubs (maps, shared strings, oddballs: targets of more than HUB edges) hit the same few
  // cache lines; what costs a pass is a far edge into a target few others point at.
  const far = new Float64Array(DISTANCES.length + 1);
  let hubEdges = 0;
  for (let o = 0; o < nodeCount; o++) {
    for (let e = firstEdge[o], end = firstEdge[o + 1]; e < end; e++) {
      const to = targetOf(e);
      if (inDegree[to] > HUB) { hubEdges++; continue; }
      const d = Math.abs(to - o);
      let b = 0;
      while (b < DISTANCES.length && d > DISTANCES[b]) b++;
      far[b]++;
    }
  }
  const retainers = { none: 0, one: 0, two: 0, more: 0, max: 0 };
  for (let o = 1; o < nodeCount; o++) {
    const k = inDegree[o];
    if (k === 0) retainers.none++; else if (k === 1) retainers.one++; else if (k === 2) retainers.two++; else retainers.more++;
    if (k > retainers.max) retainers.max = k;
  }
  // Depth of the dominator tree: the longest dominator chain from the root.
  const { dominator } = g.dominators();
  const depth = new Uint32Array(nodeCount);
  let maxDepth = 0;
  let depthSum = 0;
  // Dominators come before what they dominate in DFS preorder; compute depths by walking up with memo.
  const stack = [];
  for (let o = 1; o < nodeCount; o++) {
    let x = o;
    while (x !== 0 && depth[x] === 0) { stack.push(x); x = dominator[x]; }
    let d = x === 0 ? 0 : depth[x];
    while (stack.length) { const y = stack.pop(); depth[y] = ++d; }
    if (depth[o] > maxDepth) maxDepth = depth[o];
    depthSum += depth[o];
  }
  const share = (arr, names) => Object.fromEntries(names.map((n, i) => [n, +(arr[i] / arr.reduce((a, b) => a + b, 0)).toFixed(4)]).filter(([, v]) => v > 0));
  const locations = snapshot.locations ? snapshot.locations.length / layout.locationFieldCount : 0;
  const closures = nodeTypes[layout.nodeType.closure] ?? 0;
  return {
    file: path.basename(file), bytes, nodeCount, edgeCount, strings: g.strings.length, locations,
    bytesPerNode: +(bytes / nodeCount).toFixed(1),
    edgesPerNode: +(edgeCount / nodeCount).toFixed(3),
    stringsPerNode: +(g.strings.length / nodeCount).toFixed(3),
    closureShare: +(closures / nodeCount).toFixed(4),
    locationsPerClosure: closures ? +(locations / closures).toFixed(3) : 0,
    meanSelfSize: +(nodeTypeSize.reduce((a, b) => a + b, 0) / nodeCount).toFixed(1),
    nodeTypes: share(nodeTypes, layout.nodeTypeNames),
    edgeTypes: share(edgeTypes, layout.edgeTypeNames),
    edgesIntoHubs: +(hubEdges / edgeCount).toFixed(4),
    /** Shares of all edges, by how far an edge into a non-hub target points. */
    edgeDistance: Object.fromEntries([...DISTANCES.map((d) => `<=${d}`), `>${DISTANCES.at(-1)}`].map((k, i) => [k, +(far[i] / edgeCount).toFixed(4)])),
    retainers: { none: +(retainers.none / nodeCount).toFixed(4), one: +(retainers.one / nodeCount).toFixed(4), two: +(retainers.two / nodeCount).toFixed(4), more: +(retainers.more / nodeCount).toFixed(4), max: retainers.max },
    dominatorDepth: { max: maxDepth, mean: +(depthSum / nodeCount).toFixed(2) },
    sections: Object.fromEntries(Object.entries(sectionBytes(file)).map(([k, v]) => [k, +v.toFixed(4)])),
  };
}

/** Two stats objects side by side, one row per figure. */
export function compareStats(a, b) {
  const rows = [];
  const flat = (o, prefix = '') => Object.entries(o).flatMap(([k, v]) => (v && typeof v === 'object' ? flat(v, `${prefix}${k}.`) : [[`${prefix}${k}`, v]]));
  const fa = new Map(flat(a));
  const fb = new Map(flat(b));
  const keys = [...new Set([...fa.keys(), ...fb.keys()])];
  for (const k of keys) rows.push([k, fa.get(k) ?? '–', fb.get(k) ?? '–']);
  const w = [0, 1, 2].map((c) => Math.max(...rows.map((r) => String(r[c]).length)));
  return rows.map((r) => `${String(r[0]).padEnd(w[0])}  ${String(r[1]).padStart(w[1])}  ${String(r[2]).padStart(w[2])}`).join('\n');
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const files = process.argv.slice(2);
  if (files.length === 0) {
    console.error('usage: node bench/snapshot-stats.mjs <file> [<file2>]');
    process.exit(2);
  }
  const stats = [];
  for (const f of files) stats.push(await snapshotStats(f));
  if (stats.length === 2) console.log(compareStats(stats[0], stats[1]));
  else console.log(JSON.stringify(stats[0], null, 1));
}
