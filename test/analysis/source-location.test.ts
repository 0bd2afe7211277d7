import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { LocationIndex } from '../../src/analysis/source-location.js';
import { HeapGraph } from '../../src/graph/heap-graph.js';
import { loadSnapshot } from '../../src/snapshot/load.js';

describe('closure source locations', () => {
  it('are found the same way by the first lookups (scans) and the later ones (sorted index)', async () => {
    const graph = new HeapGraph(await loadSnapshot(join(import.meta.dirname, '..', '..', 'snapshots', 'node20-fixtures.heapsnapshot.gz')));
    const locations = graph.snapshot.locations!;
    const { locationFieldCount: width, locationObjectIndexOffset, locationLineOffset, locationColumnOffset, fileNodeFieldCount: nodeFieldCount } = graph.layout;
    // 200 entries spread over the section, as V8 wrote them: node, 1-based line and column.
    const step = Math.floor(locations.length / width / 200);
    const expected: Array<{ node: number; line: number; column: number }> = [];
    for (let entry = 0; entry * width < locations.length && expected.length < 200; entry += step) {
      const base = entry * width;
      expected.push({ node: locations[base + locationObjectIndexOffset]! / nodeFieldCount, line: locations[base + locationLineOffset]! + 1, column: locations[base + locationColumnOffset]! + 1 });
    }
    expect(expected.length).toBe(200);
    const index = new LocationIndex(graph);
    const found = expected.map(({ node }) => index.locationOf(node));
    expect(found.map((l) => l && { line: l.line, column: l.column })).toEqual(expected.map(({ line, column }) => ({ line, column })));
    // The root is no closure: none, whichever way it is looked up.
    expect(new LocationIndex(graph).locationOf(graph.rootOrdinal)).toBeUndefined();
    expect(index.locationOf(graph.rootOrdinal)).toBeUndefined();
  });
});
