import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NODE_MATRIX, ensureNode } from '../../scripts/node-binaries.mjs';
import { readAgentRecords } from '../../src/analysis/agent-records.js';
import type { AnalysisResult } from '../../src/analysis/result.js';
import { UNNAMED_ASYNC_RESOURCE } from '../../src/analysis/rules/index.js';
import { HeapGraph } from '../../src/graph/heap-graph.js';
import { loadSnapshot } from '../../src/snapshot/load.js';
import { copyBuiltCli, repoRoot } from '../helpers/run-cli.js';

// Every native fixture captured end to end by the CLI running under each
// Node major (the capture's child is the same binary: it spawns
// process.execPath), with the exact counts each version must give; then the
// CLI's inspect and diff under each binary, on its own captures and on the
// golden captures of every other version.

const fixtures = join(repoRoot, 'native-fixtures');
const scratch = mkdtempSync(join(tmpdir(), 'napi-heapdiff-matrix-'));

// A private copy of the built CLI (dist/ with agent and harness): a rebuild of
// dist/ during the run (another `npm test`) must not break a capture half-way.
const { cli, root: cliCopy } = copyBuiltCli('matrix-cli', ['--version']);
afterAll(() => {
  rmSync(scratch, { recursive: true, force: true });
  rmSync(cliCopy, { recursive: true, force: true });
});

const ITERATIONS = 20;
const WARMUP = 2;

interface Run {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

function run(command: string, args: string[], options: { cwd?: string; env?: NodeJS.ProcessEnv; timeoutMs?: number } = {}): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd: options.cwd ?? repoRoot, env: { ...process.env, NO_COLOR: '1', ...options.env }, stdio: ['ignore', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (c: Buffer) => out.push(c));
    child.stderr.on('data', (c: Buffer) => err.push(c));
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 180_000);
    child.once('error', reject);
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(err).toString('utf8') });
    });
  });
}

/** Runs jobs two at a time (2 cores), keeping their order in the results. */
async function twoAtATime<T, R>(items: T[], job: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array(items.length);
  let next = 0;
  const worker = async () => {
    for (let i = next++; i < items.length; i = next++) results[i] = await job(items[i]!);
  };
  await Promise.all([worker(), worker()]);
  return results;
}

type Counters = { init: number; destroy: number; before: number; after: number };
interface NamedRow {
  live: [number, number];
  counters: Counters;
  openAtWorkerTeardown?: [number, number];
}
interface Case {
  folder: string;
  twin: 'leak' | 'ok';
  exit: 0 | 1;
  named: Record<string, NamedRow>;
  /** Node's own context frame (1) plus one per open context, per snapshot; Node 22+ only. */
  frames: [number, number];
  references: Record<string, [number, number]>;
}

const c = (init: number, destroy: number, before = 0, after = 0): Counters => ({ init, destroy, before, after });

/** The same on every version unless `byVersion` says otherwise. */
const CASES: Case[] = [
  { folder: 'null-resource', twin: 'leak', exit: 1, named: { fixture_null_resource_leak: { live: [2, 22], counters: c(22, 0) } }, frames: [3, 23], references: {} },
  { folder: 'null-resource', twin: 'ok', exit: 0, named: { fixture_null_resource_ok: { live: [0, 0], counters: c(22, 22) } }, frames: [1, 1], references: {} },
  { folder: 'js-resource', twin: 'leak', exit: 1, named: { fixture_js_resource_leak: { live: [2, 22], counters: c(22, 0) } }, frames: [3, 23], references: {} },
  { folder: 'js-resource', twin: 'ok', exit: 0, named: { fixture_js_resource_ok: { live: [0, 0], counters: c(22, 22) } }, frames: [1, 1], references: {} },
  // Fails and leaks when i % 4 === 3: none of the 2 warm-up calls, 5 of 22.
  { folder: 'error-path', twin: 'leak', exit: 1, named: { fixture_error_path_leak: { live: [0, 5], counters: c(22, 17) } }, frames: [1, 6], references: {} },
  { folder: 'error-path', twin: 'ok', exit: 0, named: { fixture_error_path_ok: { live: [0, 0], counters: c(22, 22) } }, frames: [1, 1], references: {} },
  { folder: 'shared-context', twin: 'leak', exit: 1, named: { fixture_shared_context_leak: { live: [4, 44], counters: c(66, 22) } }, frames: [5, 45], references: {} },
  { folder: 'shared-context', twin: 'ok', exit: 0, named: { fixture_shared_context_ok: { live: [0, 0], counters: c(66, 66) } }, frames: [1, 1], references: {} },
  { folder: 'async-work', twin: 'leak', exit: 1, named: { fixture_async_work_leak: { live: [2, 22], counters: c(22, 0, 22, 22) } }, frames: [3, 23], references: {} },
  { folder: 'async-work', twin: 'ok', exit: 0, named: { fixture_async_work_ok: { live: [0, 0], counters: c(22, 22, 22, 22) } }, frames: [1, 1], references: {} },
  { folder: 'tsfn', twin: 'leak', exit: 1, named: { fixture_tsfn_leak: { live: [2, 22], counters: c(22, 0) } }, frames: [3, 23], references: { fixtureTsfnCallback: [2, 22] } },
  { folder: 'tsfn', twin: 'ok', exit: 0, named: { fixture_tsfn_ok: { live: [0, 0], counters: c(22, 22, 22, 22) } }, frames: [1, 1], references: {} },
  // The leaked scope holds its context's frame as well: 2 frames per call.
  { folder: 'callback-scope', twin: 'leak', exit: 1, named: { fixture_callback_scope_leak: { live: [2, 22], counters: c(22, 0, 22, 0) } }, frames: [5, 45], references: {} },
  { folder: 'callback-scope', twin: 'ok', exit: 0, named: { fixture_callback_scope_ok: { live: [0, 0], counters: c(22, 22, 22, 22) } }, frames: [1, 1], references: {} },
  // Native memory only: nothing in the heap, paired hooks: clean (exit 0) although it leaks malloc'ed bytes.
  { folder: 'native-memory', twin: 'leak', exit: 0, named: { fixture_native_memory: { live: [0, 0], counters: c(22, 22) } }, frames: [1, 1], references: {} },
  { folder: 'native-memory', twin: 'ok', exit: 0, named: { fixture_native_memory_ok: { live: [0, 0], counters: c(22, 22) } }, frames: [1, 1], references: {} },
  // 2 contexts left open per worker; they reach the main thread's registry only through the teardown report.
  { folder: 'worker-teardown', twin: 'leak', exit: 1, named: { fixture_worker_teardown_leak: { live: [4, 44], counters: c(0, 0), openAtWorkerTeardown: [4, 44] } }, frames: [1, 1], references: {} },
  { folder: 'worker-teardown', twin: 'ok', exit: 0, named: { fixture_worker_teardown_ok: { live: [0, 0], counters: c(0, 0), openAtWorkerTeardown: [0, 0] } }, frames: [1, 1], references: {} },
  { folder: 'reference', twin: 'leak', exit: 1, named: {}, frames: [1, 1], references: { fixtureLeakedCallback: [2, 22] } },
  { folder: 'reference', twin: 'ok', exit: 0, named: {}, frames: [1, 1], references: {} },
  // Three unrelated leaks at one per call: two contexts (2 frames per call) and a napi_ref to a function.
  {
    folder: 'coincident-rates', twin: 'leak', exit: 1,
    named: { fixture_coincident_null: { live: [2, 22], counters: c(22, 0) }, fixture_coincident_object: { live: [2, 22], counters: c(22, 0) } },
    frames: [5, 45], references: { fixtureCoincidentCallback: [2, 22] },
  },
  {
    folder: 'coincident-rates', twin: 'ok', exit: 0,
    named: { fixture_coincident_null_ok: { live: [0, 0], counters: c(22, 22) }, fixture_coincident_object_ok: { live: [0, 0], counters: c(22, 22) } },
    frames: [1, 1], references: {},
  },
  // Native memory only; one step (two snapshots) is not enough to call it a leak.
  { folder: 'wrapped-weak-ref', twin: 'leak', exit: 0, named: {}, frames: [1, 1], references: {} },
  { folder: 'wrapped-weak-ref', twin: 'ok', exit: 0, named: {}, frames: [1, 1], references: {} },
];

/** Where versions differ (napi-internals.md §1.3, §1.4). */
function expectedFor(major: number, k: Case): Case {
  const e: Case = structuredClone(k);
  // No context frames before Node 22.
  if (major < 22) e.frames = [0, 0];
  // Node 22's workers leave 3 more frames of Node's own on the main thread (the same in both twins).
  if (major === 22 && k.folder === 'worker-teardown') e.frames = [4, 4];
  // Node 26 holds a passed resource strongly (nodejs/node#59828): each leaked js-resource context keeps its
  // FixtureResource, claimed by the context's name (not a reference group).
  return e;
}

interface AnalysisJson {
  verdict: string;
  agent: { found: boolean; node: string | null };
  asyncContexts: Array<{ name: string; named: boolean; live: number[]; counters: Counters | null; openAtWorkerTeardown: number[]; contextFrames: number[] | null; verdict: string }>;
  references: Array<{ name: string; live: number[]; verdict: string }>;
  nativeMemory: { verdict: string } | null;
  capture: { ok: boolean; manifest: { node: { version: string; execPath: string }; snapshots: Array<{ file: string }> } };
}

interface CaseResult {
  label: string;
  run: Run;
  out: string;
  json: AnalysisJson | undefined;
}

/** One row per version for the summary printed at the end. */
const summary: string[] = [];

const golden = JSON.parse(readFileSync(join(repoRoot, 'snapshots', 'captures.json'), 'utf8')) as Array<{ file: string; node: string; nodeCount: number; edgeCount: number }>;

describe.each(Object.entries(NODE_MATRIX as Record<string, string>).map(([major, version]) => [Number(major), version] as const))('Node %i (%s)', (major, version) => {
  let node: string;
  const results = new Map<string, CaseResult>();

  beforeAll(async () => {
    node = ensureNode(version);
    const versionRun = await run(node, ['--version']);
    expect(versionRun.stdout.trim()).toBe(`v${version}`);
    const outcomes = await twoAtATime(CASES, async (k) => {
      const label = `${k.folder}/${k.twin}`;
      const out = join(scratch, `${major}-${k.folder}-${k.twin}`);
      const jsonFile = `${out}.json`;
      const r = await run(node, [cli, 'capture', '--scenario', join(fixtures, k.folder, `${k.twin}.mjs`), '--iterations', String(ITERATIONS), '--snapshots', '2', '--warmup', String(WARMUP), '--out', out, '--json', jsonFile]);
      let json: AnalysisJson | undefined;
      try {
        json = JSON.parse(readFileSync(jsonFile, 'utf8')) as AnalysisJson;
      } catch {
        // asserted below
      }
      return { label, run: r, out, json };
    });
    for (const o of outcomes) results.set(o.label, o);
  });

  it.each(CASES.map((k) => [`${k.folder}/${k.twin}`, k] as const))('capture %s: exit code and every attributed count, exact', (label, k) => {
    const e = expectedFor(major, k);
    const r = results.get(label)!;
    expect(r.run.code, r.run.stderr).toBe(e.exit);
    const json = r.json!;
    expect(json.capture.ok).toBe(true);
    // The child ran under the same binary as the CLI.
    expect(json.capture.manifest.node).toMatchObject({ version: `v${version}`, execPath: node });
    expect(json.agent).toMatchObject({ found: true, node: `v${version}` });
    expect(json.verdict).toBe(e.exit === 1 ? 'leak' : 'clean');

    const named = Object.fromEntries(json.asyncContexts.filter((row) => row.named).map((row) => [row.name, { live: row.live, counters: row.counters, ...(row.openAtWorkerTeardown.some(Boolean) || k.folder === 'worker-teardown' ? { openAtWorkerTeardown: row.openAtWorkerTeardown } : {}) }]));
    expect(named).toEqual(e.named);
    // One bug, one row: every context frame (Node 22+) belongs to the named
    // row whose open contexts hold it; Node's own one is not listed.
    expect(json.asyncContexts.filter((row) => !row.named).map((row) => row.name)).toEqual([]);
    const frames = Object.fromEntries(json.asyncContexts.filter((row) => row.contextFrames !== null).map((row) => [row.name, row.contextFrames]));
    const open = Object.entries(e.named).filter(([, row]) => row.live[1] > 0 && !row.openAtWorkerTeardown);
    const perRow = (i: 0 | 1) => (e.frames[i] - (major < 22 ? 0 : 1)) / Math.max(1, open.length);
    expect(frames).toEqual(major < 22 ? {} : Object.fromEntries(open.map(([name]) => [name, [perRow(0), perRow(1)]])));
    const references = Object.fromEntries(json.references.map((row) => [row.name, row.live]));
    expect(references).toEqual(e.references);
    // Each leaking name or reference group is exactly one failing group.
    const failing = [...json.asyncContexts, ...json.references, ...(json.nativeMemory ? [json.nativeMemory] : [])].filter((row) => row.verdict === 'leak');
    expect(failing).toHaveLength(open.length + (k.folder === 'worker-teardown' && k.twin === 'leak' ? 1 : 0) + Object.keys(e.references).length);
  });

  it('the snapshots hold what the analysis says: agent records read back from each file', async () => {
    for (const k of CASES.filter((x) => Object.keys(x.named).length > 0 && x.folder !== 'worker-teardown')) {
      const r = results.get(`${k.folder}/${k.twin}`)!;
      for (const [i, snap] of r.json!.capture.manifest.snapshots.entries()) {
        const view = readAgentRecords(new HeapGraph(await loadSnapshot(join(r.out, snap.file))));
        expect(view.registry?.node).toBe(`v${version}`);
        for (const [name, row] of Object.entries(k.named)) {
          expect(view.names.find((n) => n.name === name)?.live ?? 0, `${k.folder}/${k.twin} ${name} snapshot ${i + 1}`).toBe(row.live[i]);
        }
      }
    }
  });

  it('diff of a capture folder under this binary gives the capture\'s own analysis', async () => {
    for (const label of ['js-resource/leak', 'callback-scope/leak', 'reference/leak']) {
      const r = results.get(label)!;
      const jsonFile = `${r.out}-diff.json`;
      const d = await run(node, [cli, 'diff', r.out, '--json', jsonFile]);
      expect(d.code, d.stderr).toBe(1);
      const diff = JSON.parse(readFileSync(jsonFile, 'utf8')) as AnalysisJson;
      const { capture: _capture, ...own } = r.json!;
      expect(diff).toEqual(own);
    }
  });

  it('inspect under this binary reads the golden capture of every version', async () => {
    for (const g of golden) {
      const jsonFile = join(scratch, `${major}-inspect-${g.file}.json`);
      const r = await run(node, [cli, 'inspect', join(repoRoot, 'snapshots', g.file), '--json', jsonFile, '--top', '3']);
      expect([r.code, r.stderr], g.file).toEqual([0, '']);
      expect(JSON.parse(readFileSync(jsonFile, 'utf8'))).toMatchObject({ nodeCount: g.nodeCount, edgeCount: g.edgeCount });
    }
    // Broken input is exit 2 and one line here too.
    const broken = await run(node, [cli, 'inspect', join(repoRoot, 'snapshots', 'format', 'empty-strings-section.heapsnapshot')]);
    expect(broken.code).toBe(2);
    expect(broken.stderr.trimEnd().split('\n')).toHaveLength(1);
  });

  it('capture -- <command>: the agent rides along NODE_OPTIONS into this binary\'s processes', async () => {
    const out = join(scratch, `${major}-command`);
    const r = await run(node, [cli, 'capture', '--out', out, '--', node, join(repoRoot, 'test', 'scenarios', 'command-app.mjs')]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('app: 7 kept; child says hi\n');
    const manifest = JSON.parse(readFileSync(join(out, 'manifest.json'), 'utf8')) as { status: string; processes: Array<{ node: string; pid: number }>; snapshots: Array<{ file: string; pid: number; label: string }> };
    expect(manifest.status).toBe('completed');
    expect(manifest.processes.map((p) => p.node)).toEqual([`v${version}`, `v${version}`]);
    const exit = manifest.snapshots.find((s) => s.pid === manifest.processes[0]!.pid && s.label === 'exit')!;
    const view = readAgentRecords(new HeapGraph(await loadSnapshot(join(out, exit.file))));
    const leak = view.names.find((n) => n.name === 'test_cmd_leak')!;
    expect({ live: leak.live, ...leak.counters }).toEqual({ live: 7, init: 7, destroy: 0, before: 0, after: 0 });
    expect(readdirSync(out).filter((f) => f.endsWith('.tmp'))).toEqual([]);
  });

  afterAll(() => {
    const cell = (label: string) => {
      const json = results.get(label)?.json;
      if (!json) return '?';
      const named = json.asyncContexts.filter((row) => row.named && row.live.some(Boolean)).map((row) => row.live.join('→'));
      const frames = json.asyncContexts.filter((row) => row.contextFrames !== null).map((row) => row.contextFrames!.join('→')).join(' ');
      const refs = json.references.map((row) => `${row.name} ${row.live.join('→')}`);
      return [named.length ? named.join(' ') : '0', frames ? `frames ${frames}` : '', ...refs].filter(Boolean).join('; ');
    };
    summary.push(`| ${version} | ${CASES.filter((k) => k.twin === 'leak').map((k) => cell(`${k.folder}/leak`)).join(' | ')} |`);
  });
});

// Node 20 takes a heap while dispatching the request (in an interrupt, maybe
// inside napi_async_init), Node 22+ in a later task: attach must cut the
// ledger at the heap's moment on each. The CLI runs on this machine's Node;
// the target on the binary under test.
describe.each(Object.entries(NODE_MATRIX as Record<string, string>).map(([major, version]) => [Number(major), version] as const))('attach, Node %i (%s)', (major, version) => {
  it('a program busy in its own async hooks: the heap and the ledger agree at every one of 8 snapshots', async () => {
    const node = ensureNode(version);
    const target = spawn(node, ['--inspect-port=0', join(repoRoot, 'test', 'scenarios', 'attach-target.mjs'), join(repoRoot, 'test', 'scenarios', 'hook-heavy.mjs')], { stdio: ['ignore', 'pipe', 'pipe'] });
    try {
      await new Promise<void>((resolve, reject) => {
        target.stdout.on('data', (chunk: Buffer) => {
          if (chunk.toString().includes('ready')) resolve();
        });
        target.once('exit', (code) => reject(new Error(`target exited (${code})`)));
      });
      const out = join(scratch, `attach-${major}`);
      const json = `${out}.json`;
      const r = await run(process.execPath, [cli, 'attach', String(target.pid), '--snapshots', '8', '--interval', '150', '--out', out, '--json', json]);
      expect(r.code, r.stderr).toBe(1);
      const result = JSON.parse(readFileSync(json, 'utf8')) as AnalysisResult & { capture: { manifest: { node: { version: string }; notes?: string[] } } };
      const named = result.asyncContexts.find((row) => row.name === 'fixture_null_resource_leak')!;
      expect(named.verdict).toBe('leak');
      expect(named.unnamedResources).toEqual(named.ledger!.open);
      // The contexts leaked before the attach stay unnamed: the same number in every heap.
      const unnamed = result.asyncContexts.find((row) => row.name === UNNAMED_ASYNC_RESOURCE)!;
      expect(unnamed.live.length).toBe(8);
      expect(unnamed.live.every((n) => n === unnamed.live[0]), `unnamed ${unnamed.live}`).toBe(true);
      expect((result.capture.manifest.notes ?? []).filter((n) => n.startsWith('snapshot '))).toEqual([]);
    } finally {
      target.kill('SIGKILL');
    }
  });
});

afterAll(() => {
  const header = `| node | ${CASES.filter((k) => k.twin === 'leak').map((k) => k.folder).join(' | ')} |`;
  // The table for README/reports: live named contexts, context frames and growing references per leak fixture (snapshot 1 → 2).
  console.log(['', header, header.replace(/[^|]/g, '-'), ...summary].join('\n'));
});
