// One two-snapshot measurement in its own process. Started by bench/run.mjs as
//   node --max-old-space-size=16000 bench/diff-case.mjs <case> <A.heapsnapshot> <B.heapsnapshot> <result.json>
// Cases:
//   load2    loadSnapshot(A), drop it, loadSnapshot(B) (dist/snapshot/load.js): the denominator of
//            "diff ÷ load of both". new HeapGraph() of each is timed apart (not in loadMs).
//   analyze  analyzeSnapshots([A, B]) (dist/analysis/analyze.js): what `napi-heapdiff diff A B` runs,
//            without process start-up, module loading, rendering and the JSON file.
//   tk-diff  heap-snapshot-toolkit diffFromStreams(createReadStream(A), createReadStream(B)) as in its
//            README and the peer study's diff-toolkit.js.
// Time is measured inside this process from the first read to the result (module loading excluded).
// Writes one JSON object to <result.json>: ok, loadMs (the case's total), phases (ms), and at the
// very end process.resourceUsage().maxRSS (KiB).
import fs from 'node:fs';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { gc, mem, stopGcObserver, timer } from './measure.mjs';
import { fileURLToPath, pathToFileURL } from 'node:url';

const [caseName, fileA, fileB, resultFile] = process.argv.slice(2);
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const dist = (p) => import(pathToFileURL(path.join(root, 'dist', p)).href);


async function load2() {
  const { loadSnapshot } = await dist('snapshot/load.js');
  const { HeapGraph } = await dist('graph/heap-graph.js');
  let loadMs = 0;
  const phases = {};
  const counts = {};
  for (const [label, file] of [['A', fileA], ['B', fileB]]) {
    const t0 = performance.now();
    let snapshot = await loadSnapshot(file);
    const t1 = performance.now();
    const graph = new HeapGraph(snapshot);
    const t2 = performance.now();
    loadMs += t1 - t0;
    phases[`loadSnapshot ${label}`] = t1 - t0;
    phases[`new HeapGraph ${label} (not in total)`] = t2 - t1;
    counts[label] = { nodeCount: graph.nodeCount, edgeCount: graph.edgeCount };
    snapshot = undefined; // dropped before the next load, as analyzeSnapshots does
  }
  return { loadMs, phases, counts };
}

async function analyze() {
  const { analyzeSnapshots } = await dist('analysis/analyze.js');
  const t = timer();
  let stage = '';
  const onProgress = (event) => {
    const next = `${event.stage} ${event.index === 0 ? 'A' : 'B'}`;
    if (next !== stage) {
      if (stage) t.mark(stage === `load ${next.slice(-1)}` ? `${stage} (loadSnapshot)` : stage);
      stage = next;
    }
  };
  const result = await analyzeSnapshots([{ file: fileA, label: 'A' }, { file: fileB, label: 'B' }], { onProgress });
  t.mark(`${stage} (census${stage.endsWith('B') ? ', retained sizes, paths' : ''})`);
  const rows = [...(result.asyncContexts ?? []), ...(result.references ?? [])].length;
  return { loadMs: t.total(), phases: t.phases, rows, verdicts: (result.asyncContexts ?? []).map((r) => `${r.name}:${r.verdict}`).slice(0, 5) };
}

async function tkDiff() {
  const tk = await import('heap-snapshot-toolkit');
  const t = timer();
  let diff;
  for await (const item of tk.diffFromStreams(fs.createReadStream(fileA, 'utf-8'), fs.createReadStream(fileB, 'utf-8'))) {
    t.mark(item.type === 'start' ? 'parse A (full model)' : item.type === 'end' ? 'aggregatesForDiff(A) + parse B' : 'calculateSnapshotDiff');
    if (item.type === 'diff') diff = item.result;
  }
  const rows = Object.values(diff ?? {});
  const top = rows.sort((x, y) => Math.abs(y.sizeDelta) - Math.abs(x.sizeDelta)).slice(0, 3).map((d) => `${d.name} ${d.countDelta >= 0 ? '+' : ''}${d.countDelta}`);
  return { loadMs: t.total(), phases: t.phases, classes: rows.length, top };
}

const cases = { load2, analyze, 'tk-diff': tkDiff };

async function main() {
  const run = cases[caseName];
  if (!run || !fileA || !fileB || !resultFile) throw new Error(`usage: diff-case.mjs <${Object.keys(cases).join('|')}> <A> <B> <result.json>`);
  const tStart = performance.now();
  let result;
  try {
    result = { ok: true, ...(await run()), memAfter: mem() };
  } catch (e) {
    result = { ok: false, error: String(e?.message ?? e).slice(0, 600), afterMs: Math.round(performance.now() - tStart) };
  }
  await new Promise((resolve) => setTimeout(resolve, 100)); // gc entries arrive on a later tick
  stopGcObserver();
  result.gcMs = Math.round(gc.ms);
  result.gcCount = gc.count;
  if (result.loadMs !== undefined) result.loadMs = Math.round(result.loadMs);
  if (result.phases) result.phases = Object.fromEntries(Object.entries(result.phases).map(([k, v]) => [k, Math.round(v)]));
  result.maxRssKiB = process.resourceUsage().maxRSS;
  fs.writeFileSync(resultFile, JSON.stringify(result));
  process.exit(result.ok ? 0 : 1);
}

main().catch((e) => { console.error(e); process.exit(2); });
