import { mkdtempSync, readFileSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { beforeAll, describe, expect, it } from 'vitest';
import { HeapGraph } from '../../src/graph/heap-graph.js';
import { NODE_SCRATCH_WORDS, type HeapSnapshot } from '../../src/snapshot/heap-snapshot.js';
import { resolveLayout } from '../../src/snapshot/layout.js';
import { loadSnapshot } from '../../src/snapshot/load.js';
import { readDeferredSection } from '../../src/snapshot/deferred-section.js';
import { SnapshotFormatError } from '../../src/snapshot/errors.js';
import { EdgeSplit } from '../../src/snapshot/split-edges.js';

// The two-thread edges parse must give exactly what the sequential parser
// gives, and give up (so the sequential parser reports the fault) on anything
// else. Real snapshots from the golden set, split into tiny blocks so the
// threads hand over at thousands of boundaries.

/** A loaded snapshot's edges back in the file's layout (three words, to_node an ordinal), as the worker's conversion leaves them. */
function fileLayoutEdges(s: HeapSnapshot): Uint32Array {
  const f = resolveLayout(s.meta, s.file);
  const l = s.layout;
  const wide = new Uint32Array(s.edgeCount * f.edgeFieldCount);
  for (let e = 0; e < s.edgeCount; e++) {
    const at = e * l.edgeFieldCount;
    const to = e * f.edgeFieldCount;
    wide[to + f.edgeTypeOffset] = s.edges[at + l.edgeTypeOffset]! & l.edgeTypeMask;
    wide[to + f.edgeNameOffset] = s.edges[at + l.edgeNameOffset]!;
    wide[to + f.edgeToNodeOffset] = s.edges[at + l.edgeToNodeOffset]! >>> l.edgeToNodeShift;
  }
  return wide;
}

const EDGES_KEY = '"edges":[';
const END_MARKER = '],\n"trace_function_infos":[';

interface Layout {
  text: string;
  edgesStart: number;
  edgesEnd: number;
  valueCount: number;
}

function layoutOf(text: string): Layout {
  const edgesStart = text.indexOf(EDGES_KEY) + EDGES_KEY.length;
  const edgesEnd = text.indexOf(END_MARKER);
  const meta = JSON.parse(text.slice(text.indexOf('{', 1), text.indexOf('},\n"nodes"') + 1)) as {
    meta: { edge_fields: string[] };
    edge_count: number;
  };
  return { text, edgesStart, edgesEnd, valueCount: meta.edge_count * meta.meta.edge_fields.length };
}

async function splitOnce(file: string, layout: Layout, blockSize: number): Promise<{ end: number | undefined; values: Uint32Array }> {
  const size = Buffer.byteLength(layout.text);
  const split = new EdgeSplit(file, size, { blockSize });
  const values = split.start(layout.valueCount);
  try {
    return { end: await split.run(layout.edgesStart), values };
  } finally {
    await split.stop();
  }
}

async function outcome(file: string, splitEdges: boolean, splitBlockSize?: number): Promise<{ edges?: Uint32Array; nodes?: Uint32Array; error?: string }> {
  try {
    const snapshot = await loadSnapshot(file, { splitEdges, splitBlockSize });
    return { edges: snapshot.edges, nodes: snapshot.nodes };
  } catch (error) {
    return { error: (error as Error).message };
  }
}

describe('edges parsed by two threads', () => {
  let dir: string;
  let layouts: Array<{ name: string; file: string; layout: Layout }>;

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'napi-heapdiff-split-'));
    layouts = ['node20', 'node24'].map((version) => {
      const text = gunzipSync(readFileSync(join(import.meta.dirname, '..', '..', 'snapshots', `${version}-fixtures.heapsnapshot.gz`))).toString('latin1');
      const file = join(dir, `${version}.heapsnapshot`);
      writeFileSync(file, text, 'latin1');
      return { name: version, file, layout: layoutOf(text) };
    });
  });

  it.each([256, 1000, 4096, 65_536, 1 << 20])('meets the sequential parse exactly with %i-byte blocks', async (blockSize) => {
    for (const { file, layout } of layouts) {
      const sequential = await loadSnapshot(file, { splitEdges: false });
      const { end, values } = await splitOnce(file, layout, blockSize);
      expect(end).toBe(layout.edgesEnd);
      expect(values.length).toBe(sequential.edgeCount * sequential.layout.fileEdgeFieldCount);
      // validate() turned to_node into ordinals in the loaded copy: compare the other fields raw.
      const split = await loadSnapshot(file, { splitEdges: true, splitBlockSize: blockSize });
      expect(Buffer.from(split.edges.buffer).equals(Buffer.from(sequential.edges.buffer))).toBe(true);
      expect(split.edges.buffer).toBeInstanceOf(SharedArrayBuffer);
    }
  });

  it('turns to_node into node ordinals on the worker once the halves meet, as validation would', async () => {
    for (const { file, layout } of layouts) {
      const sequential = await loadSnapshot(file, { splitEdges: false });
      // The worker converts the file's layout.
      const l = resolveLayout(sequential.meta, file);
      const split = new EdgeSplit(file, Buffer.byteLength(layout.text), { blockSize: 4096 });
      const values = split.start(layout.valueCount);
      try {
        expect(await split.run(layout.edgesStart)).toBe(layout.edgesEnd);
        split.convert({
          edgeFieldCount: l.edgeFieldCount, edgeTypeOffset: l.edgeTypeOffset, edgeNameOffset: l.edgeNameOffset, edgeToNodeOffset: l.edgeToNodeOffset,
          edgeTypeLimit: l.edgeTypeNames.length, elementType: l.edgeType.element, hiddenType: l.edgeType.hidden,
          nodeFieldCount: l.fileNodeFieldCount, nodesLength: sequential.nodeCount * l.fileNodeFieldCount,
        });
        const converted = split.conversion();
        expect(converted).toBeDefined();
        let maxName = -1;
        const wide = fileLayoutEdges(sequential);
        for (let i = 0; i < wide.length; i += l.edgeFieldCount) {
          const type = wide[i + l.edgeTypeOffset]!;
          if (type !== l.edgeType.element && type !== l.edgeType.hidden) maxName = Math.max(maxName, wide[i + l.edgeNameOffset]!);
        }
        expect(converted!.maxName).toBe(maxName);
        expect(maxName).toBeLessThan(sequential.strings.length);
        expect(Buffer.from(values.buffer).equals(Buffer.from(wide.buffer))).toBe(true);
      } finally {
        await split.stop();
      }
    }
  });

  it('a worker that never answers is given up on: the conversion is "lost", the locations a fault (the loader then loads without the split)', async () => {
    const { file, layout } = layouts[0]!;
    const sequential = await loadSnapshot(file, { splitEdges: false });
    const split = new EdgeSplit(file, Buffer.byteLength(layout.text), { blockSize: 4096, taskTimeoutMs: 200 });
    split.start(layout.valueCount);
    try {
      expect(await split.run(layout.edgesStart)).toBe(layout.edgesEnd);
      await (split as unknown as { worker: { terminate(): Promise<number> } }).worker.terminate();
      const l = resolveLayout(sequential.meta, file);
      split.convert({
        edgeFieldCount: l.edgeFieldCount, edgeTypeOffset: l.edgeTypeOffset, edgeNameOffset: l.edgeNameOffset, edgeToNodeOffset: l.edgeToNodeOffset,
        edgeTypeLimit: l.edgeTypeNames.length, elementType: l.edgeType.element, hiddenType: l.edgeType.hidden,
        nodeFieldCount: l.fileNodeFieldCount, nodesLength: sequential.nodeCount * l.fileNodeFieldCount,
      });
      const locationsStart = layout.text.indexOf('"locations":[') + '"locations":['.length;
      expect(split.parseLocations(locationsStart)).toBe(layout.text.indexOf(']', locationsStart));
      const started = performance.now();
      expect(split.conversion()).toBe('lost');
      expect(split.locations()).toBe('fault');
      expect(performance.now() - started).toBeLessThan(5_000);
    } finally {
      await split.stop();
    }
  });

  /** Each change is made at a block boundary (end - k × block) and one byte either side. */
  const changes: Array<[string, (text: string, at: number) => string]> = [
    ['a second comma', (t, at) => insertAt(t, nextComma(t, at), ',')],
    ['a missing comma', (t, at) => replaceAt(t, nextComma(t, at), ' ')],
    ['a letter in a number', (t, at) => replaceAt(t, nextDigit(t, at), 'x')],
    ['a minus sign', (t, at) => insertAt(t, nextDigit(t, at), '-')],
    ['an extra value', (t, at) => insertAt(t, nextComma(t, at), ',7')],
    ['a missing value', (t, at) => removeValueAt(t, at)],
    ['an 11-digit number', (t, at) => insertAt(t, nextDigit(t, at), '99999999999')],
    ['a comma before "]"', (t) => insertAt(t, t.indexOf(END_MARKER), ',')],
    ['a comma after "["', (t) => insertAt(t, t.indexOf(EDGES_KEY) + EDGES_KEY.length, ',')],
  ];

  it.each(changes)('gives up on %s, and the load reports what the sequential parser reports', async (_name, change) => {
    const blockSize = 4096;
    const { text, edgesEnd, edgesStart } = layouts[0]!.layout;
    const boundaries = [1, 2, Math.floor((edgesEnd - edgesStart) / blockSize / 2), Math.floor((edgesEnd - edgesStart) / blockSize) - 1];
    for (const k of boundaries) {
      for (const delta of [-1, 0, 1]) {
        const mutated = change(text, edgesEnd - k * blockSize + delta);
        const file = join(dir, 'mutated.heapsnapshot');
        writeFileSync(file, mutated, 'latin1');
        const { end } = await splitOnce(file, layoutOf(mutated), blockSize);
        expect(end, `block ${k}, ${delta}`).toBeUndefined();
        const sequential = await outcome(file, false);
        const split = await outcome(file, true, blockSize);
        expect(sequential.error, `block ${k}, ${delta}`).toMatch(/^.*mutated\.heapsnapshot: /);
        expect(split.error).toBe(sequential.error);
      }
    }
  });

  // Well-formed numbers that are not a valid graph: the split keeps them, and
  // its worker, checking and converting to_node while the main thread parses
  // on, must leave the load to report exactly what the sequential one does.
  const faults: Array<[string, Array<{ edge: 'first' | 'middle' | 'last'; field: number; value: (old: number) => number }>]> = [
    ['a to_node not on a node boundary', [{ edge: 'middle', field: 2, value: (old) => old + 1 }]],
    ['a to_node past the last node', [{ edge: 'last', field: 2, value: () => 4_000_000_000 }]],
    ['an unknown edge type', [{ edge: 'first', field: 0, value: () => 99 }]],
    ['an edge name past the string table', [{ edge: 'middle', field: 1, value: () => 99_999_999 }]],
    ['a bad edge name before a bad to_node', [{ edge: 'first', field: 1, value: () => 99_999_999 }, { edge: 'last', field: 2, value: (old) => old + 1 }]],
  ];

  it.each(faults)('reports %s as the sequential load does', async (_name, edits) => {
    const { text, edgesStart, edgesEnd } = layouts[0]!.layout;
    const numbers = [...text.slice(edgesStart, edgesEnd).matchAll(/\d+/g)];
    const edgeCount = numbers.length / 3;
    const replacements = edits.map(({ edge, field, value }) => {
      // A string-named edge (type 2, "property") for a name; any edge otherwise.
      const candidates = [...Array(edgeCount).keys()].filter((e) => field !== 1 || numbers[e * 3]![0] === '2');
      const chosen = edge === 'first' ? candidates[0]! : edge === 'last' ? candidates.at(-1)! : candidates[Math.floor(candidates.length / 2)]!;
      const match = numbers[chosen * 3 + field]!;
      return { at: edgesStart + match.index, length: match[0].length, text: String(value(Number(match[0]))) };
    });
    // From the last to the first, so that earlier offsets stay put.
    let mutated = text;
    for (const r of replacements.sort((a, b) => b.at - a.at)) mutated = mutated.slice(0, r.at) + r.text + mutated.slice(r.at + r.length);
    const file = join(dir, 'semantic.heapsnapshot');
    writeFileSync(file, mutated, 'latin1');
    const { end } = await splitOnce(file, layoutOf(mutated), 4096);
    expect(end).toBe(layoutOf(mutated).edgesEnd);
    const sequential = await outcome(file, false);
    const split = await outcome(file, true, 4096);
    expect(sequential.error).toMatch(/^.*semantic\.heapsnapshot: /);
    expect(split.error).toBe(sequential.error);
  });

  it('checks the locations on the worker and reads them from the file when first asked for, exactly as the parser does', async () => {
    for (const { file } of layouts) {
      const sequential = await loadSnapshot(file, { splitEdges: false });
      const split = await loadSnapshot(file, { splitEdges: true, splitBlockSize: 4096 });
      // Not kept at load: a getter that reads the section.
      expect(typeof Object.getOwnPropertyDescriptor(split, 'locations')!.get).toBe('function');
      expect(Object.getOwnPropertyDescriptor(sequential, 'locations')!.get).toBeUndefined();
      expect(split.locations!.length).toBe(sequential.locations!.length);
      expect(split.locations!.length % split.layout.locationFieldCount).toBe(0);
      expect([...split.locations!]).toEqual([...sequential.locations!]);
      // Read once, then kept.
      expect(split.locations).toBe(split.locations);
    }
  });

  it('a file changed on disk after the load is reported when its locations are first asked for, not read', async () => {
    const { text } = layouts[0]!.layout;
    const file = join(dir, 'changed.heapsnapshot');
    writeFileSync(file, text, 'latin1');
    const split = await loadSnapshot(file, { splitEdges: true, splitBlockSize: 4096 });
    // Same size, other numbers: the modification time gives it away.
    const start = text.indexOf(LOCATIONS_KEY) + LOCATIONS_KEY.length;
    writeFileSync(file, replaceAt(text, nextDigit(text, start + 10), text[nextDigit(text, start + 10)] === '1' ? '2' : '1'), 'latin1');
    utimesSync(file, new Date(), new Date(Date.now() + 5000));
    expect(() => split.locations).toThrow(SnapshotFormatError);
    expect(() => split.locations).toThrow(/changed\.heapsnapshot: changed on disk since it was loaded \(its "locations" section is read when first needed\): load it again$/);
    rmSync(file);
    expect(() => split.locations).toThrow(/changed\.heapsnapshot: cannot read its "locations" section again: ENOENT$/);
  });

  it('reads a deferred section in any block size, values cut at every boundary', async () => {
    for (const { file, layout: { text } } of layouts) {
      const expected = (await loadSnapshot(file, { splitEdges: false })).locations!;
      const start = text.indexOf(LOCATIONS_KEY) + LOCATIONS_KEY.length;
      const end = text.indexOf(']', start);
      const { size, mtimeMs } = statSync(file);
      const section = { file, name: 'locations', start, end, count: expected.length, size, modifiedMs: mtimeMs };
      for (const blockSize of [1, 2, 3, 7, 64, 4093]) expect([...readDeferredSection(section, blockSize)], `block ${blockSize}`).toEqual([...expected]);
      // One value more or less than the load counted: not the file that was loaded.
      expect(() => readDeferredSection({ ...section, count: expected.length + 1 })).toThrow(/changed on disk/);
      expect(() => readDeferredSection({ ...section, count: expected.length - 1 })).toThrow(/changed on disk/);
    }
  });

  const LOCATIONS_KEY = '"locations":[';
  const locationFaults: Array<[string, (text: string, start: number, end: number) => string]> = [
    ['a letter', (t, start, end) => replaceAt(t, nextDigit(t, Math.floor((start + end) / 2)), 'x')],
    ['a second comma', (t, start, end) => insertAt(t, nextComma(t, Math.floor((start + end) / 2)), ',')],
    ['a missing comma', (t, start, end) => replaceAt(t, nextComma(t, Math.floor((start + end) / 2)), ' ')],
    ['a comma after "["', (t, start) => insertAt(t, start, ',')],
    ['a comma before "]"', (t, _start, end) => insertAt(t, end, ',')],
    ['an 11-digit number', (t, start) => insertAt(t, nextDigit(t, start + 100), '99999999999')],
  ];

  it.each(locationFaults)('reports %s in the locations as the sequential load does', async (_name, change) => {
    const { text } = layouts[0]!.layout;
    const start = text.indexOf(LOCATIONS_KEY) + LOCATIONS_KEY.length;
    const end = text.indexOf(']', start);
    const file = join(dir, 'locations.heapsnapshot');
    writeFileSync(file, change(text, start, end), 'latin1');
    const sequential = await outcome(file, false);
    const split = await outcome(file, true, 4096);
    expect(sequential.error).toMatch(/^.*locations\.heapsnapshot: .*"locations"/);
    expect(split.error).toBe(sequential.error);
  });

  it('leaves the dominators a zeroed node scratch, used once, with the same results as their own memory', async () => {
    for (const { file } of layouts) {
      const split = await loadSnapshot(file, { splitEdges: true, splitBlockSize: 4096 });
      const scratch = split.nodeScratch!;
      expect(scratch.length).toBe((split.nodeCount + 1) * NODE_SCRATCH_WORDS);
      expect(scratch.buffer).toBeInstanceOf(SharedArrayBuffer);
      expect(scratch.every((word) => word === 0)).toBe(true);
      expect((await loadSnapshot(file, { splitEdges: true, splitBlockSize: 4096, nodeScratch: false })).nodeScratch).toBeUndefined();
      const sequential = await loadSnapshot(file, { splitEdges: false });
      expect(sequential.nodeScratch).toBeUndefined();

      const inScratch = new HeapGraph(split).dominators();
      expect(split.nodeScratch).toBeUndefined();
      expect(inScratch.dominator.buffer).toBe(scratch.buffer);
      const own = new HeapGraph(sequential).dominators();
      expect(inScratch.dominator).toEqual(own.dominator);
      expect(inScratch.retainedSize).toEqual(own.retainedSize);
      expect(inScratch.unreachable).toEqual(own.unreachable);
    }
  });

  it('parses sequentially when the end marker is missing, with the same result', async () => {
    const { text } = layouts[1]!.layout;
    const without = text.replace(END_MARKER, '],\n"trace_function_infos_renamed":[');
    const file = join(dir, 'no-marker.heapsnapshot');
    writeFileSync(file, without, 'latin1');
    const { end } = await splitOnce(file, layoutOf(without), 4096);
    expect(end).toBeUndefined();
    const split = await outcome(file, true, 4096);
    const sequential = await outcome(file, false);
    expect(split.error).toBeUndefined();
    expect(Buffer.from(split.edges!.buffer).equals(Buffer.from(sequential.edges!.buffer))).toBe(true);
    expect(Buffer.from(split.nodes!.buffer).equals(Buffer.from(sequential.nodes!.buffer))).toBe(true);
  });
});

function nextComma(text: string, at: number): number {
  return text.indexOf(',', at);
}

function nextDigit(text: string, at: number): number {
  let i = at;
  while (!/[0-9]/.test(text[i]!)) i++;
  return i;
}

function insertAt(text: string, at: number, piece: string): string {
  return text.slice(0, at) + piece + text.slice(at);
}

function replaceAt(text: string, at: number, piece: string): string {
  return text.slice(0, at) + piece + text.slice(at + 1);
}

/** Removes the number at or after `at` together with the comma after it. */
function removeValueAt(text: string, at: number): string {
  let start = nextDigit(text, at);
  while (/[0-9]/.test(text[start - 1]!)) start--;
  const comma = text.indexOf(',', start);
  return text.slice(0, start) + text.slice(comma + 1);
}
