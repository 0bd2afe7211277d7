// One load measurement in its own process. Started by bench/run.mjs as
//   node --max-old-space-size=16000 bench/case.mjs <case> <file> <result.json> [<file>.json sidecar with .sections]
// Cases: floor | ours | ours-dom | toolkit | devtools | vscode | hp
// Time is measured inside this process from "start reading the file" to "model ready" (node start-up
// and module loading excluded). Writes one JSON object to <result.json>: ok, loadMs, phases (ms), and
// at the very end process.resourceUsage().maxRSS (KiB) as this process's own peak RSS.
import fs from 'node:fs';
import path from 'node:path';
import { createRequire, syncBuiltinESMExports } from 'node:module';
import { performance } from 'node:perf_hooks';
import { gc, mem, stopGcObserver, timer } from './measure.mjs';
import { fileURLToPath, pathToFileURL } from 'node:url';

const [caseName, file, resultFile, sectionsArg] = process.argv.slice(2);
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(path.join(root, 'package.json'));


const round = (o) => Object.fromEntries(Object.entries(o).map(([k, v]) => [k, typeof v === 'number' ? Math.round(v) : v]));

// ---------------------------------------------------------------- floor
// floor.js: 4 MiB reads into one reused buffer + one byte pass (count commas). What no streaming
// loader can beat on this machine.
async function floor() {
  let readMs = 0, scanMs = 0, commas = 0;
  const scan = (b, n) => { const t = performance.now(); for (let i = 0; i < n; i++) if (b[i] === 44) commas++; scanMs += performance.now() - t; };
  const t0 = performance.now();
  const fd = fs.openSync(file, 'r');
  const b = Buffer.allocUnsafe(4 << 20);
  for (;;) { const t = performance.now(); const n = fs.readSync(fd, b, 0, b.length, null); readMs += performance.now() - t; if (n <= 0) break; scan(b, n); }
  fs.closeSync(fd);
  const loadMs = performance.now() - t0;
  return { loadMs, phases: { read: readMs, scan: scanMs }, commas };
}

// ---------------------------------------------------------------- ours
// Hook fs.readSync (byte-source.js imports it from node:fs; syncBuiltinESMExports updates that
// binding) to split loadSnapshot into read / parse (per file section) / end+validate without
// touching src/. ~16k performance.now() calls per GB: no measurable cost.
// The loader's own chunk size: reads of any other size are the edges split's blocks.
const { DEFAULT_CHUNK_SIZE: CHUNK } = await import(pathToFileURL(path.join(root, 'dist/snapshot/byte-source.js')).href);
const reads = []; // [start, end, bytes, position] for chunk reads
function hookReads() {
  const original = fs.readSync;
  fs.readSync = function readSyncTimed(fd, buffer, offset, length, position) {
    const start = performance.now();
    const n = original.apply(this, arguments);
    if (buffer.length === CHUNK) reads.push([start, performance.now(), n, position]);
    return n;
  };
  syncBuiltinESMExports();
}

function splitLoad(t0, tEnd, sections) {
  const phases = {};
  const add = (k, v) => { phases[k] = (phases[k] ?? 0) + v; };
  if (reads.length === 0) return { 'loadSnapshot (unsplit)': tEnd - t0 };
  add('open', reads[0][0] - t0);
  for (let k = 0; k < reads.length; k++) {
    const [start, end, n, pos] = reads[k];
    add('read', end - start);
    if (n <= 0) { add('end+validate', tEnd - end); break; }
    const gap = (k + 1 < reads.length ? reads[k + 1][0] : tEnd) - end;
    // The loader jumped (the edges were parsed by two threads between these chunk reads):
    // the whole gap is that, but for the few MB of nodes left in this chunk.
    if (k + 1 < reads.length && reads[k + 1][3] !== pos + n) add('edges (two threads)', gap);
    // Apportion this chunk's parse time to the file sections it covers, by bytes.
    else if (!sections) add('parse', gap);
    else {
      for (let s = 0; s < sections.length; s++) {
        const lo = Math.max(pos, sections[s].start);
        const hi = Math.min(pos + n, s + 1 < sections.length ? sections[s + 1].start : Infinity);
        if (hi > lo) add(`parse ${sections[s].name}`, (gap * (hi - lo)) / n);
      }
    }
  }
  return phases;
}

async function ours(withDominators) {
  hookReads();
  const sections = sectionsArg ? JSON.parse(fs.readFileSync(sectionsArg, 'utf8')).sections : undefined;
  const { loadSnapshot } = await import(pathToFileURL(path.join(root, 'dist/snapshot/load.js')).href);
  const { HeapGraph } = await import(pathToFileURL(path.join(root, 'dist/graph/heap-graph.js')).href);
  const t = timer();
  const snapshot = await loadSnapshot(file);
  const tLoaded = performance.now();
  const phases = splitLoad(t.t0, tLoaded, sections);
  t.mark('loadSnapshot', tLoaded);
  const graph = new HeapGraph(snapshot);
  t.mark('new HeapGraph');
  const out = { nodeCount: graph.nodeCount, edgeCount: graph.edgeCount, strings: graph.strings.length };
  if (withDominators) {
    // One call, as the library makes it: on big graphs the shallow-size pass runs on a second
    // thread beside the essential-edge and retainer passes, so timing those apart would change it.
    const d = graph.dominators();
    t.mark('dominators (essential edges, DFS, semi-NCA, retained sizes; from 4M nodes shallow sizes and retainer lists on a worker meanwhile)');
    out.rootRetainedSize = d.retainedSize[graph.rootOrdinal];
    out.unreachable = d.unreachable.count;
  }
  const loadMs = t.total();
  const { loadSnapshot: ls, ...rest } = t.phases;
  return { loadMs, phases: { loadSnapshot: ls, ...rest }, loadSnapshotSplit: round(phases), reads: reads.length, ...out, keep: [snapshot, graph] };
}

// ---------------------------------------------------------------- heap-snapshot-toolkit
// The README's way: parse(createReadStream(file, 'utf-8')) — DevTools' loader, which always builds
// retainers, dominators, retained sizes and distances. buildSnapshot() is wrapped only to note when
// byte parsing ended (as in the peer study's load-toolkit.js).
async function toolkit() {
  const tk = await import('heap-snapshot-toolkit');
  const LoaderClass = tk.DevToolsAPI.HeapSnapshotLoader.HeapSnapshotLoader;
  const t = timer();
  const orig = LoaderClass.prototype.buildSnapshot;
  LoaderClass.prototype.buildSnapshot = function (...a) { t.mark('parseBytes'); return orig.apply(this, a); };
  const snap = await tk.parse(fs.createReadStream(file, 'utf-8'));
  t.mark('buildModel (incl. dominators + retained sizes)');
  const loadMs = t.total();
  return { loadMs, phases: t.phases, nodeCount: snap.nodeCount, keep: snap };
}

// ---------------------------------------------------------------- DevTools, as Chrome runs it today
// Current DevTools (devtools-frontend as chrome-devtools-mcp bundles it, with its Node host runtime)
// loads a snapshot in a worker and, since SecondaryInitManager (devtools-frontend 6a523a7), computes
// retainers, dominators and retained sizes on a second worker while the first goes on: driven here
// exactly as chrome-devtools-mcp's HeapSnapshotManager does (1 MiB UTF-8 chunks written to the
// loader proxy, close, wait for the snapshot proxy). The Summary's first query (aggregatesWithFilter,
// which that manager also runs on load) is timed after, not in the load.
async function devtools() {
  await import('./with-resolvers.mjs');
  const { DevTools } = await import('chrome-devtools-mcp/build/src/third_party/index.js');
  const { HeapSnapshotWorkerProxy } = DevTools.HeapSnapshotModel.HeapSnapshotProxy;
  const steps = [];
  const t = timer();
  const proxy = new HeapSnapshotWorkerProxy((name, data) => {
    // Progress arrives as JSON text: {string, values}.
    const text = name === 'ProgressUpdate' && typeof data === 'string' ? JSON.parse(data).string : undefined;
    if (typeof text === 'string' && steps.at(-1)?.[0] !== text) steps.push([text, performance.now()]);
  }, DevTools.Common.Console.Console.instance(), new URL('./devtools-worker.mjs', import.meta.url).href);
  try {
    let resolveSnapshot;
    const ready = new Promise((resolve) => { resolveSnapshot = resolve; });
    const loader = proxy.createLoader(1, (snapshot) => resolveSnapshot(snapshot));
    for await (const chunk of fs.createReadStream(file, { encoding: 'utf-8', highWaterMark: 1 << 20 })) await loader.write(chunk);
    t.mark('stream to the worker');
    await loader.close();
    const snapshot = await ready;
    t.mark('build (second worker: retainers, dominators, retained sizes)');
    const loadMs = t.total();
    const aggregates = await snapshot.aggregatesWithFilter(new DevTools.HeapSnapshotModel.HeapSnapshotModel.NodeFilter());
    const aggregatesMs = performance.now() - t.t0 - loadMs;
    // The first worker's own progress: where its parse ended, and where it waits for the second worker.
    const parsed = steps.find(([s]) => s.startsWith('Processing snapshot'))?.[1];
    const waiting = steps.filter(([s]) => s.startsWith('Calculating retained sizes')).at(-1)?.[1];
    const workerSteps = parsed === undefined ? {} : {
      'parse (until "Processing snapshot")': parsed - t.t0,
      ...(waiting === undefined ? {} : { 'first worker\'s passes': waiting - parsed, 'then second worker\'s result and statistics': t.t0 + loadMs - waiting }),
    };
    return { loadMs, phases: { ...t.phases, 'Summary aggregates (not in the load)': aggregatesMs }, workerSteps: Object.fromEntries(Object.entries(workerSteps).map(([k, v]) => [k, Math.round(v)])), nodeCount: snapshot.staticData.nodeCount, classes: Object.keys(aggregates).length, rootRetainedSize: snapshot.staticData.totalSize ?? undefined, keep: snapshot };
  } finally {
    proxy.dispose();
  }
}

// ---------------------------------------------------------------- VS Code's parser
// @vscode/v8-heap-parser (Rust compiled to WebAssembly, what VS Code's heap snapshot viewer uses):
// decode_bytes takes the whole file as bytes (one readFileSync), and the class groups with retained
// sizes (the Summary) build the dominator tree on first use.
async function vscode() {
  const parser = require('@vscode/v8-heap-parser');
  const t = timer();
  const bytes = fs.readFileSync(file);
  t.mark('readFileSync');
  const graph = parser.decode_bytes(bytes);
  t.mark('decode_bytes (parse, graph)');
  const groups = graph.get_class_groups(0, 15, false); // false: with retained sizes
  t.mark('get_class_groups (dominators, retained sizes)');
  const loadMs = t.total();
  return { loadMs, phases: t.phases, topClass: groups[0]?.name(), keep: [graph, bytes] };
}

// ---------------------------------------------------------------- heapsnapshot-parser
// require('heapsnapshot-parser').parse(fs.readFileSync(f, 'utf8')): needs the whole file as one string,
// so it fails past V8's 0x1fffffe8-character limit (~512 MiB).
async function hp() {
  const parser = require('heapsnapshot-parser');
  const t = timer();
  const text = fs.readFileSync(file, 'utf8');
  t.mark('readFileSync utf8');
  const snap = parser.parse(text);
  t.mark('parse (JSON.parse + objects)');
  const loadMs = t.total();
  return { loadMs, phases: t.phases, nodeCount: snap.nodes.length, keep: snap };
}

const cases = { floor, ours: () => ours(false), 'ours-dom': () => ours(true), toolkit, devtools, vscode, hp };

async function main() {
  const run = cases[caseName];
  if (!run || !file || !resultFile) throw new Error(`usage: case.mjs <${Object.keys(cases).join('|')}> <file> <result.json> [sections.json]`);
  const tStart = performance.now();
  let result;
  try {
    const r = await run();
    delete r.keep; // the model stayed alive until here, so RSS covers it
    result = { ok: true, ...r, memAfter: mem() };
  } catch (e) {
    result = { ok: false, error: String(e?.message ?? e).slice(0, 600), errorCode: e?.code, afterMs: performance.now() - tStart };
  }
  await new Promise((resolve) => setTimeout(resolve, 100)); // gc entries are delivered on a later tick
  stopGcObserver();
  result.gcMs = gc.ms;
  result.gcCount = gc.count;
  result.loadMs = result.loadMs === undefined ? undefined : Math.round(result.loadMs);
  if (result.phases) result.phases = round(result.phases);
  result.afterMs = result.afterMs === undefined ? undefined : Math.round(result.afterMs);
  result.gcMs = Math.round(gc.ms);
  result.maxRssKiB = process.resourceUsage().maxRSS; // last: this process's own peak RSS
  fs.writeFileSync(resultFile, JSON.stringify(result));
  process.exit(result.ok ? 0 : 1);
}

main().catch((e) => { console.error(e); process.exit(2); });
