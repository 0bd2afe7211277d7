import { mkdirSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/run-cli.js';
import { SnapshotBuilder } from '../helpers/snapshot-builder.js';
import { takeSnapshot } from '../helpers/take-snapshot.js';

/** A tiny valid snapshot, as a parsed object to mutate. */
function validSnapshot(): Record<string, any> {
  const b = new SnapshotBuilder();
  const gcRoots = b.node('synthetic', '(GC roots)', 0);
  const obj = b.node('object', 'Thing', 24);
  b.edge(b.root, 'element', 1, gcRoots).edge(b.root, 'shortcut', 'global', obj).edge(obj, 'property', 'self', obj);
  return JSON.parse(b.toJSON());
}

const mutate = (change: (s: Record<string, any>) => void): string => {
  const s = validSnapshot();
  change(s);
  return JSON.stringify(s);
};

describe('broken input ends with exit 2 and one line on stderr', () => {
  let dir: string;
  let real: Buffer;
  const cases: Array<[string, string | Buffer, RegExp]> = [];

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'napi-heapdiff-broken-'));
    real = readFileSync(takeSnapshot('globalThis.keep = Array.from({ length: 200 }, (_, i) => ({ i }))', 'real'));
    cases.push(
      ['empty', '', /: empty: the file holds no heap snapshot \(one starts with "\{"\)/],
      ['not JSON', 'hello world', /not a heap snapshot: the file does not start with "\{"/],
      ['JSON that is not a snapshot', '{"name":"x","version":"1.0.0"}', /"snapshot" \(meta\) must be the first section/],
      ['an empty object', '{}', /no "snapshot" section/],
      ['a JSON array', '[1,2,3]', /does not start with "\{"/],
      ['wrong meta: no node_fields', mutate((s) => delete s.snapshot.meta.node_fields), /wrong meta/],
      ['wrong meta: node_fields without edge_count', mutate((s) => { s.snapshot.meta.node_fields = ['type', 'name', 'id', 'self_size', 'x', 'y', 'z']; }), /wrong meta: node_fields has no "edge_count"/],
      ['edge to_node out of range', mutate((s) => { s.edges[2] = 7000; }), /edge to_node is out of range \(value 7000\) at edge 0/],
      ['edge to_node misaligned', mutate((s) => { s.edges[2] = 8; }), /edge to_node is not a multiple of the 7 node fields \(value 8\) at edge 0/],
      ['edge count mismatch (declared)', mutate((s) => { s.snapshot.edge_count = 99; }), /snapshot.edge_count says 99 but "edges" holds 3/],
      ['edge count mismatch (nodes vs edges)', mutate((s) => { s.nodes[4] = 5; s.snapshot.edge_count = undefined; }), /edge counts add up to 6 but "edges" holds 3/],
      ['node count declared too high', mutate((s) => { s.snapshot.node_count = 4; }), /snapshot.node_count says 4 but "nodes" holds 3/],
      ['node count declared too low', mutate((s) => { s.snapshot.node_count = 2; }), /"nodes" has more values than the meta's count declares \(value 14\)/],
      ['nodes not a multiple of the fields', mutate((s) => { s.nodes.push(1); s.snapshot.node_count = undefined; }), /"nodes" length is not a multiple of the 7 node fields/],
      ['unknown node type id', mutate((s) => { s.nodes[7] = 99; }), /unknown node type id \(value 99\) at node 1/],
      ['unknown edge type id', mutate((s) => { s.edges[0] = 42; }), /unknown edge type id \(value 42\) at edge 0/],
      ['node name out of string range', mutate((s) => { s.nodes[8] = 5000; }), /node name is not a valid string index \(value 5000\) at node 1/],
      // Values that do not fit a packed node (type in 4 bits, name in 28) are stored wide and judged as they are.
      ['node name past 2^28', mutate((s) => { s.nodes[8] = 2 ** 28 + 5; }), /node name is not a valid string index \(value 268435461\) at node 1/],
      ['node type past 2^31', mutate((s) => { s.nodes[7] = 3_000_000_000; }), /unknown node type id \(value 3000000000\) at node 1/],
      ['edge name out of string range', mutate((s) => { s.edges[4] = 5000; }), /edge name is not a valid string index \(value 5000\) at edge 1/],
      ['a negative number', JSON.stringify(validSnapshot()).replace('"nodes":[9,', '"nodes":[-9,'), /unexpected character in "nodes"/],
      ['a number above 2^32', JSON.stringify(validSnapshot()).replace('"nodes":[9,', '"nodes":[99999999999,'), /number out of range in "nodes" \(value 99999999999\)/],
      ['a float', JSON.stringify(validSnapshot()).replace('"nodes":[9,', '"nodes":[9.5,'), /unexpected character in "nodes"/],
      ['double comma', JSON.stringify(validSnapshot()).replace('"nodes":[9,', '"nodes":[9,,'), /unexpected ","/],
      ['trailing garbage', `${JSON.stringify(validSnapshot())}xyz`, /trailing data after the snapshot object/],
      ['strings that are not strings', JSON.stringify(validSnapshot()).replace('"strings":["",', '"strings":[1,'), /"strings" must hold only strings/],
      ['a raw control character in a string', JSON.stringify(validSnapshot()).replace('"strings":["",', '"strings":["a\u0001b",'), /invalid string in "strings"/],
      ['corrupt gzip', Buffer.concat([gzipSync(Buffer.from(JSON.stringify(validSnapshot()))).subarray(0, 40), Buffer.from('garbage')]), /corrupt gzip data|truncated/],
    );
    for (const cut of [1, 13, 100, 1000, 5000, Math.floor(real.length / 2), real.length - 10, real.length - 1]) {
      // Cut before the node values: the meta's counts no longer fit the file, which is said first.
      cases.push([`real snapshot truncated at byte ${cut}`, real.subarray(0, cut), /truncated: the file ended inside|"(nodes|edges)" declares more values than the file can hold/]);
    }
  });

  it('at least 20 distinct broken files, each rejected with one line and exit 2, and nothing written to --json', () => {
    expect(cases.length).toBeGreaterThanOrEqual(30);
    cases.forEach(([label, content, expected], i) => {
      const file = join(dir, `case-${i}.heapsnapshot`);
      writeFileSync(file, content);
      const out = join(dir, `case-${i}.json`);
      const result = runCli(['inspect', file, '--json', out]);
      const lines = result.stderr.trimEnd().split('\n');
      expect({ label, code: result.code, lines: lines.length }).toEqual({ label, code: 2, lines: 1 });
      expect(lines[0]).toMatch(/^napi-heapdiff: /);
      expect(lines[0]).toContain(file);
      expect({ label, line: lines[0] }).toEqual({ label, line: expect.stringMatching(expected) });
      expect(result.stdout).toBe('');
    });
    expect(readdirSync(dir).filter((f) => f.endsWith('.json'))).toEqual([]);
  });

  it('a missing file, a directory and a usage mistake are one line and exit 2 too', () => {
    const missing = runCli(['inspect', join(dir, 'nope.heapsnapshot')]);
    expect([missing.code, missing.stderr.trimEnd().split('\n').length]).toEqual([2, 1]);
    expect(missing.stderr).toContain('cannot open: ENOENT');
    mkdirSync(join(dir, 'adir'), { recursive: true });
    const directory = runCli(['inspect', join(dir, 'adir')]);
    expect([directory.code, directory.stderr.trim()]).toEqual([2, `napi-heapdiff: ${join(dir, 'adir')}: cannot open: is a directory`]);
    const usage = runCli(['inspect']);
    expect([usage.code, usage.stderr.trimEnd().split('\n').length]).toEqual([2, 1]);
  });

  it('a valid snapshot, plain, gzip or on stdin, still loads', () => {
    const file = join(dir, 'real.heapsnapshot');
    writeFileSync(file, real);
    writeFileSync(`${file}.gz`, gzipSync(real));
    const outputs = [runCli(['inspect', file, '--json', join(dir, 'a.json')]), runCli(['inspect', `${file}.gz`, '--json', join(dir, 'b.json')]), runCli(['inspect', '-', '--json', join(dir, 'c.json')], { input: real })];
    for (const result of outputs) expect([result.code, result.stderr]).toEqual([0, '']);
    const [a, b, c] = ['a', 'b', 'c'].map((n) => JSON.parse(readFileSync(join(dir, `${n}.json`), 'utf8')));
    const expected = JSON.parse(real.toString()).snapshot;
    expect([a.nodeCount, a.edgeCount]).toEqual([expected.node_count, expected.edge_count]);
    expect([b.nodeCount, b.edgeCount, c.nodeCount, c.edgeCount]).toEqual([a.nodeCount, a.edgeCount, a.nodeCount, a.edgeCount]);
  });
});
