import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { HeapGraph } from '../src/graph/heap-graph.js';
import { computeShallowSizes } from '../src/graph/shallow-sizes.js';
import { startShallowSizes } from '../src/graph/shallow-sizes-worker.js';
import { loadSnapshot, parseSnapshotBytes } from '../src/snapshot/load.js';
import { SnapshotBuilder } from './helpers/snapshot-builder.js';

// The shallow-size pass on a second thread must give what it gives on this
// one: real snapshots of every supported Node major, by node.
describe('shallow sizes on a second thread', () => {
  it.each(['node20', 'node22', 'node24', 'node26'])('equal the same-thread pass on the %s golden snapshot', async (version) => {
    const graph = new HeapGraph(await loadSnapshot(join(import.meta.dirname, '..', 'snapshots', `${version}-fixtures.heapsnapshot.gz`)));
    const pending = startShallowSizes(graph, 0);
    expect(pending).toBeDefined();
    const fromWorker = pending!.result();
    expect(fromWorker.buffer).toBeInstanceOf(SharedArrayBuffer);
    const here = computeShallowSizes(graph);
    expect(Buffer.from(fromWorker.buffer).equals(Buffer.from(here.buffer))).toBe(true);
    // Internals were moved onto owners (the pass did work), and nothing was lost.
    const raw = graph.nodes.filter((_, i) => i % graph.layout.nodeFieldCount === graph.layout.nodeSelfSizeOffset);
    expect(fromWorker.filter((size, o) => size !== raw[o]).length).toBeGreaterThan(1000);
    expect(fromWorker.reduce((a, b) => a + b, 0)).toBe(raw.reduce((a, b) => a + b, 0));
  });

  it('is not started for graphs whose arrays are not shared memory', () => {
    const b = new SnapshotBuilder();
    const obj = b.node('object', 'Thing', 24);
    b.edge(b.root, 'shortcut', 'global', obj);
    const snapshot = parseSnapshotBytes(Buffer.from(b.toJSON()));
    const graph = new HeapGraph({ ...snapshot, nodes: snapshot.nodes.slice(), edges: snapshot.edges.slice() });
    expect(startShallowSizes(graph, 0)).toBeUndefined();
  });
});
