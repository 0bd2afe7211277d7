import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import { readAgentRecords } from '../../src/analysis/agent-records.js';
import { analyzeSnapshots } from '../../src/analysis/analyze.js';
import { takeCensus, type SnapshotCensus } from '../../src/analysis/census.js';
import { CONTEXT_FRAMES, UNNAMED_ASYNC_RESOURCE } from '../../src/analysis/rules/index.js';
import { HeapGraph } from '../../src/graph/heap-graph.js';
import { SnapshotFormatError } from '../../src/snapshot/errors.js';
import { loadSnapshot, parseSnapshotBytes } from '../../src/snapshot/load.js';
import { repoRoot, runCli } from '../helpers/run-cli.js';
import { allStrings } from '../helpers/strings.js';

// Golden snapshots (snapshots/README.md): real captures of the fixture mix
// under Node 20, 22, 24 and 26, and hand-written format edge cases. Every file
// is parsed and attributed here with exact numbers; nothing is downloaded.

const golden = join(repoRoot, 'snapshots');
const scratch = mkdtempSync(join(tmpdir(), 'napi-heapdiff-golden-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

interface CaptureEntry {
  file: string;
  node: string;
  snapshot: { label: string; iterations: number; totalIterations: number; of: number };
  nodeCount: number;
  edgeCount: number;
  bytes: number;
  gzipBytes: number;
  sha256: string;
}
const captures = JSON.parse(readFileSync(join(golden, 'captures.json'), 'utf8')) as CaptureEntry[];

/** Group sizes of a census by name (and location, for references): "kind name [location]" → members. */
function groupsOf(census: SnapshotCensus): Map<string, number> {
  const out = new Map<string, number>();
  for (const g of census.groups.values()) out.set(`${g.kind} ${g.name}${g.location ? ` @ ${g.location}` : ''}`, g.ids.length);
  return out;
}

const NODE_FIELDS_20 = ['type', 'name', 'id', 'self_size', 'edge_count', 'trace_node_id', 'detachedness'];
const NODE_FIELDS_24 = ['type', 'name', 'id', 'self_size', 'edge_count', 'detachedness'];

/**
 * What each capture must hold. 22 calls of every fixture (warm-up 2 + 20),
 * identical hook counts on every version; what the heap keeps differs
 * (napi-internals.md §1.3, §1.4, §3.3):
 * - a context frame (strong global to undefined) per open context on 22+,
 *   plus Node's own one: 1 + 22 null + 22 js + 5 error-path + 44 shared + 22 work + 22 tsfn = 138;
 * - the FixtureResource of each js-resource context held strongly on 26 only
 *   (weak and collected on ≤ 24);
 * - trace_node_id gone and extra_native_bytes added on 24+; "wasm object" only on 20.
 */
const VERSIONS = [
  { major: 20, version: 'v20.20.2', nodes: 52656, edges: 236025, strings: 25397, strong: 231, weak: 118, fields: NODE_FIELDS_20, nodeTypes: 16, extraNativeBytes: undefined, frames: 0, fixtureResources: 0 },
  { major: 22, version: 'v22.23.3', nodes: 66114, edges: 288703, strings: 29080, strong: 357, weak: 120, fields: NODE_FIELDS_20, nodeTypes: 15, extraNativeBytes: undefined, frames: 138, fixtureResources: 0 },
  { major: 24, version: 'v24.21.0', nodes: 70662, edges: 307803, strings: 30962, strong: 358, weak: 102, fields: NODE_FIELDS_24, nodeTypes: 15, extraNativeBytes: 0, frames: 138, fixtureResources: 0 },
  { major: 26, version: 'v26.10.0', nodes: 72411, edges: 315542, strings: 32109, strong: 382, weak: 102, fields: NODE_FIELDS_24, nodeTypes: 15, extraNativeBytes: 0, frames: 138, fixtureResources: 22 },
] as const;

const NAMED = {
  fixture_null_resource_leak: { live: 22, init: 22, destroy: 0, before: 0, after: 0 },
  fixture_null_resource_ok: { live: 0, init: 22, destroy: 22, before: 0, after: 0 },
  fixture_js_resource_leak: { live: 22, init: 22, destroy: 0, before: 0, after: 0 },
  // i % 4 === 3 fails and leaks: i = 3, 7, 11, 15, 19.
  fixture_error_path_leak: { live: 5, init: 22, destroy: 17, before: 0, after: 0 },
  // 3 inits and 1 destroy per call.
  fixture_shared_context_leak: { live: 44, init: 66, destroy: 22, before: 0, after: 0 },
  fixture_async_work_leak: { live: 22, init: 22, destroy: 0, before: 22, after: 22 },
  fixture_tsfn_leak: { live: 22, init: 22, destroy: 0, before: 0, after: 0 },
};
const FIXTURES_URL = 'file:///work/main/native-fixtures';

describe('golden captures: Node 20, 22, 24, 26', () => {
  it('captures.json lists exactly the four files, unchanged since they were written', () => {
    expect(captures.map((c) => [c.file, c.node])).toEqual(VERSIONS.map((v) => [`node${v.major}-fixtures.heapsnapshot.gz`, v.version]));
    for (const c of captures) {
      const bytes = readFileSync(join(golden, c.file));
      expect(bytes.length, c.file).toBe(c.gzipBytes);
      expect(createHash('sha256').update(bytes).digest('hex'), c.file).toBe(c.sha256);
      expect(c.snapshot).toEqual({ label: 'iteration-20', iterations: 20, totalIterations: 22, of: 2 });
    }
    // The repository stays small.
    expect(captures.reduce((n, c) => n + c.gzipBytes, 0)).toBeLessThan(6_000_000);
  });

  it.each(VERSIONS.map((v) => [v.major, v] as const))('Node %i: layout, counts and the attribution of every leak, exact', async (major, v) => {
    const file = join(golden, `node${major}-fixtures.heapsnapshot.gz`);
    const snapshot = await loadSnapshot(file);
    expect(snapshot.nodeCount).toBe(v.nodes);
    expect(snapshot.edgeCount).toBe(v.edges);
    expect(snapshot.strings.length).toBe(v.strings);
    expect(snapshot.meta.node_fields).toEqual(v.fields);
    expect((snapshot.meta.node_types as string[][])[0]).toHaveLength(v.nodeTypes);
    expect(snapshot.extraNativeBytes).toBe(v.extraNativeBytes);
    expect(snapshot.anomalies).toEqual([]);
    // The same counts an independent parse of the file declares.
    const declared = JSON.parse(gunzipSync(readFileSync(file)).toString('utf8')).snapshot;
    expect([declared.node_count, declared.edge_count]).toEqual([v.nodes, v.edges]);

    const graph = new HeapGraph(snapshot);
    const agent = readAgentRecords(graph);
    expect(agent.found).toBe(true);
    expect(agent.registry).toMatchObject({ schema: '1', thread: 'main', node: v.version });
    expect(agent.ignoredRegistries).toBe(0);
    const named = Object.fromEntries(agent.names.map((n) => [n.name, { live: n.live, ...n.counters }]));
    expect(named).toEqual(NAMED);

    const census = takeCensus(graph, file);
    const groups = groupsOf(census);
    for (const [name, counts] of Object.entries(NAMED)) expect(groups.get(`async-context ${name}`), name).toBe(counts.live);
    expect(groups.get(`async-context ${CONTEXT_FRAMES}`) ?? 0).toBe(v.frames);
    // Every NULL resource belongs to a named context: none is left unnamed.
    expect(groups.get(`async-context ${UNNAMED_ASYNC_RESOURCE}`)).toBeUndefined();
    expect(groups.get(`reference fixtureLeakedCallback @ ${FIXTURES_URL}/reference/leak.mjs:15:44`)).toBe(22);
    expect(groups.get(`reference fixtureTsfnCallback @ ${FIXTURES_URL}/tsfn/leak.mjs:21:42`)).toBe(22);
    // Node 26 holds the js-resource contexts' resources strongly: the named
    // context claims them (its retained size), so they are no reference group.
    expect(groups.get('reference FixtureResource')).toBeUndefined();
    const jsResource = [...census.groups.values()].find((g) => g.name === 'fixture_js_resource_leak')!;
    expect([jsResource.representatives.length, jsResource.resourcesCollected]).toEqual([v.fixtureResources, 22 - v.fixtureResources]);
  });

  it.each(VERSIONS.map((v) => [v.major, v] as const))('Node %i: every context frame but Node\'s own is folded into the named row that holds it (one bug, one row)', async (major, v) => {
    const file = join(golden, `node${major}-fixtures.heapsnapshot.gz`);
    const result = await analyzeSnapshots([{ file, label: 'a', pid: 1 }, { file, label: 'b', pid: 1 }]);
    expect(result.asyncContexts.map((row) => row.name)).not.toContain(CONTEXT_FRAMES);
    // Each row takes one frame per open context on Node 22+ (none exist on 20); Node's own stays unlisted.
    const frames = Object.fromEntries(result.asyncContexts.filter((row) => row.contextFrames !== null).map((row) => [row.name, row.contextFrames]));
    const open = (name: keyof typeof NAMED) => [NAMED[name].live, NAMED[name].live];
    expect(frames).toEqual(v.frames === 0 ? {} : {
      fixture_null_resource_leak: open('fixture_null_resource_leak'),
      fixture_js_resource_leak: open('fixture_js_resource_leak'),
      fixture_error_path_leak: open('fixture_error_path_leak'),
      fixture_shared_context_leak: open('fixture_shared_context_leak'),
      fixture_async_work_leak: open('fixture_async_work_leak'),
      fixture_tsfn_leak: open('fixture_tsfn_leak'),
    });
    if (v.frames > 0) expect(Object.values(frames).reduce((sum, counts) => sum + counts![0]!, 0)).toBe(v.frames - 1);
  });

  it.each(VERSIONS.map((v) => [v.major, v] as const))('Node %i: `inspect --json` through the CLI', (major, v) => {
    const json = join(scratch, `inspect-${major}.json`);
    const r = runCli(['inspect', join(golden, `node${major}-fixtures.heapsnapshot.gz`), '--json', json, '--top', '3']);
    expect([r.code, r.stderr]).toEqual([0, '']);
    const result = JSON.parse(readFileSync(json, 'utf8'));
    expect(result).toMatchObject({ nodeCount: v.nodes, edgeCount: v.edges, stringCount: v.strings, nodeFields: v.fields, globalHandles: { strong: v.strong, weak: v.weak } });
    expect(result.extraNativeBytes).toBe(v.extraNativeBytes);
  });
});

/**
 * The hand-written scene (scripts/regenerate-golden.mjs, scene()) with `extra`
 * more of each leak: 11 fixed nodes + 2 per unit (an empty resource Object, a
 * closure), 13 + 7 per unit edges, 296 + 60 per unit bytes, global handles
 * 3 strong per unit + 1 (Foo) and 1 weak (Wrapped, which nothing else reaches).
 */
function sceneNumbers(units: number) {
  return { nodeCount: 11 + 2 * units, edgeCount: 13 + 7 * units, totalSize: 296 + 60 * units, strong: 3 * units + 1, weak: 1 };
}

const UNREACHABLE_WRAPPED = '1 nodes are not reachable from the root over retaining edges';
const FORMAT_CASES = [
  {
    file: 'node20-unknown-sections.heapsnapshot',
    units: 1,
    fields: NODE_FIELDS_20,
    extraNativeBytes: undefined,
    anomalies: ['ignored unknown section "napi_heapdiff_future"', 'ignored unknown section "zz_trailer"', UNREACHABLE_WRAPPED],
    references: { 'Foo': 1, 'fixtureLeakedCallback @ file:///app/leak.mjs:12:14': 1 },
  },
  {
    file: 'node24-no-trace-node-id.heapsnapshot',
    units: 4,
    fields: NODE_FIELDS_24,
    extraNativeBytes: 12345,
    anomalies: [UNREACHABLE_WRAPPED],
    references: { 'Foo': 1, 'fixtureLeakedCallback @ file:///app/leak.mjs:12:14': 4 },
  },
  {
    file: 'node22-no-locations.heapsnapshot',
    units: 2,
    fields: NODE_FIELDS_20,
    extraNativeBytes: undefined,
    anomalies: [UNREACHABLE_WRAPPED],
    // No locations section: the closures are grouped by name alone.
    references: { 'Foo': 1, 'fixtureLeakedCallback': 2 },
  },
  {
    file: 'unicode-strings.heapsnapshot.gz',
    units: 1,
    fields: NODE_FIELDS_24,
    extraNativeBytes: undefined,
    anomalies: [UNREACHABLE_WRAPPED],
    references: { 'Ünïcødé 日本語 😀': 1, 'fixtureLeakedCallback @ file:///app/leak.mjs:12:14': 1 },
  },
];

describe('golden format edge cases (hand-written)', () => {
  it.each(FORMAT_CASES.map((c) => [c.file, c] as const))('%s: parsed and attributed exactly, library and CLI', async (file, c) => {
    const path = join(golden, 'format', file);
    const expected = sceneNumbers(c.units);
    const snapshot = await loadSnapshot(path);
    expect(snapshot.meta.node_fields).toEqual(c.fields);
    expect(snapshot.extraNativeBytes).toBe(c.extraNativeBytes);
    const census = takeCensus(new HeapGraph(snapshot), path);
    expect(census.agent.found).toBe(false);
    const expectedGroups = new Map<string, number>([
      [`async-context ${CONTEXT_FRAMES}`, c.units],
      [`async-context ${UNNAMED_ASYNC_RESOURCE}`, c.units],
      ...Object.entries(c.references).map(([name, n]) => [`reference ${name}`, n] as [string, number]),
    ]);
    expect(groupsOf(census)).toEqual(expectedGroups);

    const json = join(scratch, `${file}.json`);
    const r = runCli(['inspect', path, '--json', json]);
    expect([r.code, r.stderr]).toEqual([0, '']);
    const result = JSON.parse(readFileSync(json, 'utf8'));
    expect(result).toMatchObject({ nodeCount: expected.nodeCount, edgeCount: expected.edgeCount, totalSize: expected.totalSize, globalHandles: { strong: expected.strong, weak: expected.weak } });
    expect(result.anomalies.map((a: { message: string }) => a.message)).toEqual(c.anomalies);
  });

  it('unicode-strings: raw UTF-8, escaped pairs, lone surrogates and bytes that are not UTF-8 decode as JSON.parse would', async () => {
    const path = join(golden, 'format', 'unicode-strings.heapsnapshot.gz');
    const bytes = gunzipSync(readFileSync(path));
    const reference = JSON.parse(bytes.toString('utf8')).strings as string[];
    const snapshot = await loadSnapshot(path);
    expect(allStrings(snapshot.strings)).toEqual(reference);
    // Fed 7 bytes at a time: every multi-byte sequence and escape is cut somewhere.
    expect(allStrings(parseSnapshotBytes(bytes, path, 7).strings)).toEqual(reference);
    expect(allStrings(snapshot.strings).slice(0, 4)).toEqual(['<dummy>', 'escaped \u{1F600} pair', 'lone \udc00 surrogate', 'bad \ufffd\ufffd bytes']);
  });

  it('minimal-strings: one root, "edges":[] and "strings":[""] is a valid, empty heap', () => {
    const json = join(scratch, 'minimal.json');
    const r = runCli(['inspect', join(golden, 'format', 'minimal-strings.heapsnapshot'), '--json', json]);
    expect([r.code, r.stderr]).toEqual([0, '']);
    expect(JSON.parse(readFileSync(json, 'utf8'))).toMatchObject({ nodeCount: 1, edgeCount: 0, stringCount: 1, totalSize: 0, globalHandles: { strong: 0, weak: 0, byClass: [] }, anomalies: [] });
  });

  it('empty-strings-section: "strings":[] is rejected with one line, exit 2, nothing written', async () => {
    const path = join(golden, 'format', 'empty-strings-section.heapsnapshot');
    const json = join(scratch, 'empty.json');
    const r = runCli(['inspect', path, '--json', json]);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe(`napi-heapdiff: ${path}: node name is not a valid string index (value 0) at node 0\n`);
    expect(existsSync(json)).toBe(false);
    await expect(loadSnapshot(path)).rejects.toBeInstanceOf(SnapshotFormatError);
  });

  it('diff across two layouts (Node 20 with unknown sections → Node 24 without trace_node_id): exact growth, exit 1', () => {
    const json = join(scratch, 'diff.json');
    const before = join(golden, 'format', 'node20-unknown-sections.heapsnapshot');
    const after = join(golden, 'format', 'node24-no-trace-node-id.heapsnapshot');
    const r = runCli(['diff', before, after, '--json', json]);
    expect(r.code, r.stderr).toBe(1);
    const result = JSON.parse(readFileSync(json, 'utf8'));
    expect(result.comparison).toBe('aggregate');
    expect(result.verdict).toBe('leak');
    expect(result.agent).toEqual({ found: false, node: null });
    const rows = (list: Array<{ name: string; live: number[]; growth: number; verdict: string; location?: string | null }>) =>
      list.map((row) => ({ name: row.name, location: row.location ?? null, live: row.live, growth: row.growth, verdict: row.verdict }));
    // One leak, one row: the Node 24 context frames (one per open context)
    // are folded into the unnamed contexts that hold them.
    expect(rows(result.asyncContexts)).toEqual([
      { name: UNNAMED_ASYNC_RESOURCE, location: null, live: [1, 4], growth: 3, verdict: 'leak' },
    ]);
    expect(result.asyncContexts[0].contextFrames).toEqual([1, 4]);
    expect(result.asyncContexts.map((row: { name: string }) => row.name)).not.toContain(CONTEXT_FRAMES);
    expect(rows(result.references)).toEqual([{ name: 'fixtureLeakedCallback', location: 'file:///app/leak.mjs:12:14', live: [1, 4], growth: 3, verdict: 'leak' }]);
    // Foo stays at 1.
    expect(result.unchangedReferenceGroups).toBe(1);
  });
});
