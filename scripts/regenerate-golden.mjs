#!/usr/bin/env node
// Regenerates the golden snapshots in snapshots/ (see snapshots/README.md).
//
//   node scripts/regenerate-golden.mjs [--format] [--captures] [--node <major>]...
//
//   --format     only the hand-written format edge cases (snapshots/format/)
//   --captures   only the captures (snapshots/node<major>-fixtures.heapsnapshot.gz)
//   --node 22    only these majors (repeatable); default: 20 22 24 26
//
// Captures: the built CLI runs under each official Node binary
// (scripts/node-binaries.mjs; downloaded once into the cache), so the scenario
// child runs under the same binary (capture spawns process.execPath):
//
//   <node> dist/cli/main.js capture --scenario snapshots/golden-scenario.mjs \
//     --iterations 20 --snapshots 2 --warmup 2 --out <tmp>
//
// Only the last snapshot of each capture is kept (gzip -9, ~1.1-1.3 MB): a
// second one would double the repository's share. snapshots/captures.json
// records the exact Node version, command, label, iterations and checksums.
// Heap layouts differ from run to run, so after a regeneration the exact node
// and edge counts in test/snapshot/golden.test.ts must be updated (the script prints
// them); the attributed counts must not change.
//
// Needs: npm run build, node native-fixtures/build.mjs.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { NODE_MATRIX, ensureNode } from './node-binaries.mjs';

const repoRoot = dirname(dirname(fileURLToPath(import.meta.url)));
const snapshotsDir = join(repoRoot, 'snapshots');
const formatDir = join(snapshotsDir, 'format');

export const CAPTURE_ARGS = ['--iterations', '20', '--snapshots', '2', '--warmup', '2'];

// ---------------------------------------------------------------------------
// Hand-written snapshots, in V8's own text layout.

const META_20 = {
  node_fields: ['type', 'name', 'id', 'self_size', 'edge_count', 'trace_node_id', 'detachedness'],
  node_types: [['hidden', 'array', 'string', 'object', 'code', 'closure', 'regexp', 'number', 'native', 'synthetic', 'concatenated string', 'sliced string', 'symbol', 'bigint', 'object shape', 'wasm object'], 'string', 'number', 'number', 'number', 'number', 'number'],
  edge_fields: ['type', 'name_or_index', 'to_node'],
  edge_types: [['context', 'element', 'property', 'internal', 'hidden', 'shortcut', 'weak'], 'string_or_number', 'node'],
  trace_function_info_fields: ['function_id', 'name', 'script_name', 'script_id', 'line', 'column'],
  trace_node_fields: ['id', 'function_info_index', 'count', 'size', 'children'],
  sample_fields: ['timestamp_us', 'last_assigned_id'],
  location_fields: ['object_index', 'script_id', 'line', 'column'],
};
const META_22 = { ...META_20, node_types: [META_20.node_types[0].slice(0, 15), ...META_20.node_types.slice(1)] };
const META_24 = { ...META_22, node_fields: ['type', 'name', 'id', 'self_size', 'edge_count', 'detachedness'] };

/** A tiny heap graph written the way V8 writes it (field order from the meta). */
class MiniHeap {
  constructor(meta) {
    this.meta = meta;
    this.nodes = [];
    this.locations = [];
    this.nextId = 1;
  }

  node(type, name, size) {
    this.nodes.push({ type, name, size, id: this.nextId, edges: [] });
    this.nextId += 2;
    return this.nodes.length - 1;
  }

  edge(from, type, name, to) {
    this.nodes[from].edges.push({ type, name, to });
    return this;
  }

  location(node, scriptId, line, column) {
    this.locations.push({ node, scriptId, line, column });
  }

  /**
   * The file text. `strings`: strings to put first (after V8's "<dummy>");
   * `sections`: the section order (names not built in become `extra[name]`);
   * `snapshotExtra`: more keys for the "snapshot" object.
   */
  serialize({ sections = ['nodes', 'edges', 'trace_function_infos', 'trace_tree', 'samples', 'locations', 'strings'], extra = {}, strings: first = ['<dummy>'], snapshotExtra = {} } = {}) {
    const strings = [];
    const index = new Map();
    const id = (s) => {
      if (!index.has(s)) {
        index.set(s, strings.length);
        strings.push(s);
      }
      return index.get(s);
    };
    for (const s of first) id(s);
    const fields = this.meta.node_fields;
    const nodeTypes = this.meta.node_types[0];
    const edgeTypes = this.meta.edge_types[0];
    const nodeRows = [];
    const edgeRows = [];
    let edgeCount = 0;
    for (const node of this.nodes) {
      const values = { type: nodeTypes.indexOf(node.type), name: id(node.name), id: node.id, self_size: node.size, edge_count: node.edges.length, trace_node_id: 0, detachedness: 0 };
      if (values.type < 0) throw new Error(`no node type ${node.type} in this meta`);
      nodeRows.push(fields.map((f) => values[f]).join(','));
      for (const edge of node.edges) {
        const byIndex = edge.type === 'element' || edge.type === 'hidden';
        edgeRows.push([edgeTypes.indexOf(edge.type), byIndex ? edge.name : id(String(edge.name)), edge.to * fields.length].join(','));
        edgeCount++;
      }
    }
    const snapshot = { meta: this.meta, node_count: this.nodes.length, edge_count: edgeCount, trace_function_count: 0, ...snapshotExtra };
    const body = {
      nodes: `[${nodeRows.join('\n,')}]`,
      edges: `[${edgeRows.join('\n,')}]`,
      trace_function_infos: '[]',
      trace_tree: '[]',
      samples: '[]',
      locations: `[${this.locations.map((l) => [l.node * fields.length, l.scriptId, l.line, l.column].join(',')).join('\n,')}]`,
    };
    const parts = [`{"snapshot":${JSON.stringify(snapshot)}`];
    for (const name of sections) {
      if (name === 'strings') continue;
      parts.push(`"${name}":${body[name] ?? extra[name]}`);
    }
    if (sections.includes('strings')) {
      // Names are interned while the nodes and edges are written, so strings go last.
      const stringsText = `[${strings.map((s) => JSON.stringify(s)).join(',\n')}]`;
      const at = sections.indexOf('strings');
      parts.splice(1 + at, 0, `"strings":${stringsText}`);
    }
    return `${parts.join(',\n')}}`;
  }
}

/**
 * The scene every hand-written file shows, as a Node process with napi leaks
 * would: (Global handles) holding `1 + extra` empty resources of NULL-resource
 * contexts, `1 + extra` context frames (edge "undefined_value"), one weak
 * handle, `1 + extra` strong refs to a closure, and one object of class Foo.
 * Self sizes: see SELF_SIZE below; totals are checked by test/snapshot/golden.test.ts.
 */
function scene(meta, { extra = 0, oddball = 'undefined', withLocation = true, fooClass = 'Foo' } = {}) {
  const h = new MiniHeap(meta);
  const root = h.node('synthetic', '', 0);
  const gcRoots = h.node('synthetic', '(GC roots)', 0);
  const handles = h.node('synthetic', '(Global handles)', 0);
  const strong = h.node('synthetic', '(Strong roots)', 0);
  const map = h.node('hidden', 'system / Map', 40);
  const proto = h.node('object', 'Object', 28);
  const undef = h.node('hidden', oddball, 16);
  const script = h.node('code', 'file:///app/leak.mjs', 100);
  const shared = h.node('code', 'fixtureLeakedCallback', 56);
  const wrapped = h.node('object', 'Wrapped', 24);
  const foo = h.node('object', fooClass, 32);
  h.edge(root, 'element', 1, gcRoots);
  h.edge(gcRoots, 'element', 1, strong).edge(gcRoots, 'element', 2, handles);
  h.edge(strong, 'internal', 'map', map).edge(strong, 'internal', 'prototype', proto).edge(strong, 'internal', 'undefined_value', undef);
  h.edge(proto, 'internal', 'map', map);
  h.edge(shared, 'internal', 'script', script);
  h.edge(wrapped, 'internal', 'map', map);
  h.edge(foo, 'property', 'name', undef).edge(foo, 'internal', 'map', map);
  let slot = 1;
  for (let i = 0; i <= extra; i++) {
    const resource = h.node('object', 'Object', 28);
    h.edge(resource, 'property', '__proto__', proto).edge(resource, 'internal', 'map', map);
    h.edge(handles, 'internal', String(slot++), resource);
  }
  for (let i = 0; i <= extra; i++) h.edge(handles, 'internal', 'undefined_value', undef);
  h.edge(handles, 'weak', String(slot++), wrapped);
  for (let i = 0; i <= extra; i++) {
    const closure = h.node('closure', 'fixtureLeakedCallback', 32);
    h.edge(closure, 'internal', 'shared', shared).edge(closure, 'internal', 'map', map);
    if (withLocation) h.location(closure, 7, 11, 13);
    h.edge(handles, 'internal', String(slot++), closure);
  }
  h.edge(handles, 'internal', String(slot++), foo);
  return h;
}

export function formatFiles() {
  const files = [];
  const add = (name, content, what) => files.push({ name, content, what });

  add('node20-unknown-sections.heapsnapshot', scene(META_20, { oddball: 'system / Oddball' }).serialize({
    sections: ['nodes', 'edges', 'napi_heapdiff_future', 'trace_function_infos', 'trace_tree', 'samples', 'locations', 'strings', 'zz_trailer'],
    extra: {
      napi_heapdiff_future: '{"nested":[1,[2,[3,{"deep":"]}\\"{["}]]],"note":"a section this tool does not know"}',
      zz_trailer: '[1,2,3]',
    },
  }), 'Node 20 layout (trace_node_id, 16 node types with "wasm object") with two unknown top-level sections, one holding brackets and quotes inside strings, one after "strings"');

  add('node24-no-trace-node-id.heapsnapshot', scene(META_24, { extra: 3 }).serialize({ snapshotExtra: { extra_native_bytes: 12345 } }),
    'Node 24/26 layout: no trace_node_id, 15 node types, snapshot.extra_native_bytes; the same scene with 3 more of each leak (the "after" of a diff with the file above)');

  add('node22-no-locations.heapsnapshot', scene({ ...META_22, location_fields: undefined }, { extra: 1, withLocation: false }).serialize({ sections: ['nodes', 'edges', 'strings'] }),
    'Node 22 layout without location_fields, locations, samples, trace_function_infos and trace_tree (older V8 and hand-made tools write none): closures get no location');

  const minimal = new MiniHeap(META_24);
  minimal.node('synthetic', '', 0);
  add('minimal-strings.heapsnapshot', minimal.serialize({ strings: [''] }), 'the smallest valid snapshot: one root node, "edges":[], "strings":[""]');

  add('empty-strings-section.heapsnapshot', minimal.serialize({ strings: [] }).replace('"strings":[""]', '"strings":[]'),
    'rejected: "strings":[] while the root is named by string 0 (exit 2, one line)');

  const unicode = scene(META_24, { fooClass: 'Ünïcødé 日本語 😀' })
    .serialize({ strings: ['<dummy>', 'escaped PAIR pair', 'lone \udc00 surrogate', 'bad @@ bytes'] })
    // An escaped surrogate pair, as V8 writes non-BMP characters in some versions.
    .replace('escaped PAIR pair', 'escaped \\ud83d\\ude00 pair');
  // Two bytes that are not UTF-8 inside a string: decoders read them as U+FFFD.
  const text = Buffer.from(unicode, 'utf8');
  const at = text.indexOf('@@');
  text[at] = 0xff;
  text[at + 1] = 0xfe;
  add('unicode-strings.heapsnapshot.gz', gzipSync(text, { level: 9 }),
    'gzip; strings in raw multi-byte UTF-8 (class "Ünïcødé 日本語 😀"), an escaped surrogate pair, an escaped lone surrogate, and two bytes that are not UTF-8 (read as U+FFFD)');
  return files;
}

function writeFormatFiles() {
  mkdirSync(formatDir, { recursive: true });
  for (const file of formatFiles()) {
    writeFileSync(join(formatDir, file.name), file.content);
    process.stderr.write(`regenerate-golden: wrote snapshots/format/${file.name} (${file.content.length} bytes)\n`);
  }
}

// ---------------------------------------------------------------------------
// Captures.

function capture(major, version) {
  const node = ensureNode(version);
  const scratch = mkdtempSync(join(tmpdir(), `napi-heapdiff-golden-${major}-`));
  try {
    const out = join(scratch, 'out');
    const scenario = join(snapshotsDir, 'golden-scenario.mjs');
    const args = [join(repoRoot, 'dist', 'cli', 'main.js'), 'capture', '--scenario', relative(repoRoot, scenario), ...CAPTURE_ARGS, '--out', out];
    const run = spawnSync(node, args, { cwd: repoRoot, encoding: 'utf8', env: { ...process.env, NO_COLOR: '1' } });
    // Exit 1: the leaks were found, as they should be.
    if (run.status !== 1) throw new Error(`capture under node ${version} exited with ${run.status}: ${run.stderr.trim().split('\n').at(-1)}`);
    const manifest = JSON.parse(readFileSync(join(out, 'manifest.json'), 'utf8'));
    const last = manifest.snapshots.at(-1);
    const raw = readFileSync(join(out, last.file));
    const gz = gzipSync(raw, { level: 9 });
    const name = `node${major}-fixtures.heapsnapshot.gz`;
    writeFileSync(join(snapshotsDir, name), gz);
    const head = raw.subarray(0, raw.indexOf('"nodes"')).toString('utf8').trimEnd().replace(/,$/, '');
    const meta = JSON.parse(`${head}}`).snapshot;
    const entry = {
      file: name,
      node: manifest.node.version,
      command: `node-${version} dist/cli/main.js capture --scenario snapshots/golden-scenario.mjs ${CAPTURE_ARGS.join(' ')} --out <tmp>`,
      snapshot: { label: last.label, iterations: last.iterations, totalIterations: last.totalIterations, of: manifest.snapshots.length },
      nodeCount: meta.node_count,
      edgeCount: meta.edge_count,
      bytes: raw.length,
      gzipBytes: gz.length,
      sha256: createHash('sha256').update(gz).digest('hex'),
      capturedAt: last.takenAt,
    };
    process.stderr.write(`regenerate-golden: wrote snapshots/${name} (node ${entry.node}; ${entry.nodeCount} nodes, ${entry.edgeCount} edges; ${gz.length} bytes)\n`);
    return entry;
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}

function writeCaptures(majors) {
  const indexFile = join(snapshotsDir, 'captures.json');
  let index = [];
  try {
    index = JSON.parse(readFileSync(indexFile, 'utf8'));
  } catch {
    // first run
  }
  for (const major of majors) {
    const version = NODE_MATRIX[major];
    if (!version) throw new Error(`no Node ${major} in the matrix (have ${Object.keys(NODE_MATRIX).join(', ')})`);
    const entry = capture(major, version);
    index = [...index.filter((e) => e.file !== entry.file), entry].sort((a, b) => a.file.localeCompare(b.file, 'en', { numeric: true }));
  }
  writeFileSync(indexFile, `${JSON.stringify(index, null, 2)}\n`);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const args = process.argv.slice(2);
  const majors = [];
  for (let i = 0; i < args.length; i++) if (args[i] === '--node') majors.push(args[++i]);
  const onlyFormat = args.includes('--format');
  const onlyCaptures = args.includes('--captures');
  try {
    if (!onlyCaptures) writeFormatFiles();
    if (!onlyFormat) writeCaptures(majors.length > 0 ? majors : Object.keys(NODE_MATRIX));
  } catch (error) {
    process.stderr.write(`regenerate-golden: ${error.message}\n`);
    process.exit(1);
  }
}
