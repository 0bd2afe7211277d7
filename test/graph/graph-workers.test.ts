import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { computeDominators } from '../../src/graph/dominators.js';
import { computeEssentialEdges } from '../../src/graph/essential-edges.js';
import { startGraphPasses } from '../../src/graph/graph-workers.js';
import { HeapGraph } from '../../src/graph/heap-graph.js';
import { buildRetainers, type Retainers } from '../../src/graph/retainers.js';
import { computeShallowSizes } from '../../src/graph/shallow-sizes.js';
import { loadSnapshot, parseSnapshotBytes } from '../../src/snapshot/load.js';
import { SnapshotBuilder } from '../helpers/snapshot-builder.js';

// The passes that run on worker threads for big graphs must give what they
// give on this thread: real snapshots of every supported Node major.
const golden = (version: string): string => join(import.meta.dirname, '..', '..', 'snapshots', `${version}-fixtures.heapsnapshot.gz`);
const same = (a: ArrayBufferView, b: ArrayBufferView): boolean => Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(b.buffer, b.byteOffset, b.byteLength));

describe('graph passes on worker threads', () => {
  it.each(['node20', 'node22', 'node24', 'node26'])('shallow sizes equal the same-thread pass on the %s golden snapshot', async (version) => {
    const graph = new HeapGraph(await loadSnapshot(golden(version)));
    const pending = startGraphPasses(graph, { shallow: true, retainers: false }, 0).shallow;
    expect(pending).toBeDefined();
    const fromWorker = pending!.result();
    expect(fromWorker.buffer).toBeInstanceOf(SharedArrayBuffer);
    expect(same(fromWorker, computeShallowSizes(graph))).toBe(true);
    // Internals were moved onto owners (the pass did work), and nothing was lost.
    const raw = graph.nodes.filter((_, i) => i % graph.layout.nodeFieldCount === graph.layout.nodeSelfSizeOffset);
    expect(fromWorker.filter((size, o) => size !== raw[o]).length).toBeGreaterThan(1000);
    expect(fromWorker.reduce((a, b) => a + b, 0)).toBe(raw.reduce((a, b) => a + b, 0));
  });

  it.each(['node20', 'node26'])('retainers wait for the essential edges and equal the same-thread pass on %s', async (version) => {
    const threaded = new HeapGraph(await loadSnapshot(golden(version)));
    const pending = startGraphPasses(threaded, { shallow: false, retainers: true }, 0).retainers!;
    expect(pending).toBeDefined();
    // The worker is started before the essential edges exist; it must wait for them (and their counts).
    await new Promise((resolve) => setTimeout(resolve, 50));
    computeEssentialEdges(threaded, pending.essential, pending.counts);
    pending.essentialDone(true);
    const fromWorker = pending.result();
    // From the worker (shared memory), not the same-thread fallback.
    expect(fromWorker.retainingNode.buffer).toBeInstanceOf(SharedArrayBuffer);
    const here = buildRetainers(new HeapGraph(await loadSnapshot(golden(version))));
    expect(fromWorker.retainingNode.length).toBe(here.retainingNode.length);
    expect(same(fromWorker.firstRetainer, here.firstRetainer)).toBe(true);
    expect(same(fromWorker.retainingNode, here.retainingNode)).toBe(true);
  });

  it('a shallow size past 2^32 makes the worker give up; the sizes are then summed here in Float64', () => {
    const b = new SnapshotBuilder();
    const global = b.node('object', 'global', 8);
    const owner = b.node('object', 'Owner', 16);
    const first = b.node('array', '(object elements)', 3_000_000_000);
    const second = b.node('array', '(object elements)', 3_000_000_000);
    b.edge(b.root, 'shortcut', 'global', global).edge(global, 'property', 'o', owner);
    b.edge(owner, 'internal', 'elements', first).edge(owner, 'internal', 'more', second);
    const graph = new HeapGraph(parseSnapshotBytes(Buffer.from(b.toJSON())));
    const passes = startGraphPasses(graph, { shallow: true, retainers: true }, 0);
    const sizes = passes.shallow!.result();
    expect(sizes).toBeInstanceOf(Float64Array);
    expect([sizes[owner], sizes[first], sizes[second]]).toEqual([6_000_000_016, 0, 0]);
    // The retainer lists, the worker's next step, never ran: they are built here.
    computeEssentialEdges(graph, passes.retainers!.essential, passes.retainers!.counts);
    passes.retainers!.essentialDone(true);
    const retainers = passes.retainers!.result();
    expect(retainers.retainingNode.buffer).not.toBeInstanceOf(SharedArrayBuffer);
    expect(same(retainers.retainingNode, buildRetainers(graph).retainingNode)).toBe(true);
  });

  it('a retainers worker told the essential edges failed stops waiting at once; the pass then runs here', async () => {
    const graph = new HeapGraph(await loadSnapshot(golden('node20')));
    const pending = startGraphPasses(graph, { shallow: false, retainers: true }, 0).retainers!;
    pending.essentialDone(false);
    const started = performance.now();
    const retainers = pending.result();
    expect(performance.now() - started).toBeLessThan(5_000);
    expect(retainers.retainingNode.buffer).not.toBeInstanceOf(SharedArrayBuffer);
    const here = buildRetainers(new HeapGraph(await loadSnapshot(golden('node20'))));
    expect(same(retainers.firstRetainer, here.firstRetainer)).toBe(true);
    expect(same(retainers.retainingNode, here.retainingNode)).toBe(true);
  });

  it('dominators with all passes on workers equal those computed on one thread', async () => {
    const single = new HeapGraph(await loadSnapshot(golden('node24')));
    const expected = computeDominators(single).dominators;
    const threaded = new HeapGraph(await loadSnapshot(golden('node24')));
    // What HeapGraph.dominators() does for graphs over the size threshold.
    const passes = startGraphPasses(threaded, { shallow: true, retainers: true }, 0);
    (threaded as unknown as { pendingShallow: unknown }).pendingShallow = passes.shallow;
    const pendingRetainers = passes.retainers!;
    // The dominator computation takes the retainers and renumbers them: record what it took.
    const fromWorker = pendingRetainers.result.bind(pendingRetainers);
    let taken: Retainers | undefined;
    pendingRetainers.result = () => (taken = fromWorker());
    (threaded as unknown as { pendingRetainers: unknown }).pendingRetainers = pendingRetainers;
    const actual = threaded.dominators();
    expect(taken!.retainingNode.buffer).toBeInstanceOf(SharedArrayBuffer);
    expect(threaded.shallowSizes().buffer).toBeInstanceOf(SharedArrayBuffer);
    expect(same(actual.dominator, expected.dominator)).toBe(true);
    expect(same(actual.retainedSize, expected.retainedSize)).toBe(true);
  });

  it.each(['node20', 'node26'])('on one thread, shallow sizes and the class index built in memory the dominators lend equal those built first (%s)', async (version) => {
    // The golden snapshots are far below the worker threshold: dominators()
    // runs every pass here and lends its spent arrays.
    const lent = new HeapGraph(await loadSnapshot(golden(version)));
    const { dominator, retainedSize } = lent.dominators();
    const fresh = new HeapGraph(await loadSnapshot(golden(version)));
    const shallow = fresh.shallowSizes().slice();
    const classes = fresh.classes();
    const classOf = classes.classOf.slice();
    const expected = fresh.dominators();
    expect(same(lent.shallowSizes(), shallow)).toBe(true);
    expect(same(lent.classes().classOf, classOf)).toBe(true);
    expect(lent.classes().names).toEqual(classes.names);
    // Nothing the dominators return shares memory with what they lent.
    expect(same(dominator, expected.dominator)).toBe(true);
    expect(same(retainedSize, expected.retainedSize)).toBe(true);
    expect(lent.shallowSizes().buffer).not.toBe(dominator.buffer);
    expect(lent.classes().classOf.buffer).not.toBe(retainedSize.buffer);
  });

  it('are not started for graphs whose arrays are not shared memory', () => {
    const b = new SnapshotBuilder();
    const obj = b.node('object', 'Thing', 24);
    b.edge(b.root, 'shortcut', 'global', obj);
    const snapshot = parseSnapshotBytes(Buffer.from(b.toJSON()));
    const graph = new HeapGraph({ ...snapshot, nodes: snapshot.nodes.slice(), edges: snapshot.edges.slice() });
    expect(startGraphPasses(graph, { shallow: true, retainers: true }, 0)).toEqual({ shallow: undefined, retainers: undefined });
  });
});
