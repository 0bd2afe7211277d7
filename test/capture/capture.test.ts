import { spawnSync } from 'node:child_process';
import { copyFileSync, createReadStream, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readAgentRecords, type AgentNameView, type AgentRecords } from '../../src/analysis/agent-records.js';
import type { CaptureManifest } from '../../src/capture-folder/manifest.js';
import { appendRequire } from '../../src/capture/node-options.js';
import { EVENTS_FILE } from '../../src/capture-folder/files.js';
import { ENV_CAPTURE_DIR, ENV_CAPTURE_INTERVAL, STACK_NOT_SAMPLED } from '../../src/capture/protocol.js';
import { HeapGraph } from '../../src/graph/heap-graph.js';
import { loadSnapshot } from '../../src/snapshot/load.js';
import { repoRoot, runCli } from '../helpers/run-cli.js';

// Everything here runs real processes: the built CLI (dist/), the agent, the
// scenario harness, and for the fixture tests the native addons.

const agent = join(repoRoot, 'dist', 'agent', 'agent.cjs');
const scenarios = join(repoRoot, 'test', 'scenarios');
const fixtures = join(repoRoot, 'native-fixtures');
// A space in the path: every path handed around must survive it.
const scratch = mkdtempSync(join(tmpdir(), 'napi heapdiff-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

let outCounter = 0;
const newOutDir = (label: string): string => join(scratch, `${++outCounter}-${label}`);

function readManifest(outDir: string): CaptureManifest {
  return JSON.parse(readFileSync(join(outDir, 'manifest.json'), 'utf8')) as CaptureManifest;
}

/**
 * The capture folder's files, with each process's trace-event file (the
 * ledger, written by Node at exit: trace-<pid>-<n>.log) as "trace-PID.log"
 * and its native ledger (native-<pid>.bin, cut per snapshot as
 * native-<pid>-<n>.bin) as "native-PID.bin".
 */
function filesIn(dir: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .map((f) => f.split('\\').join('/').replace(/(^|\/)trace-\d+-1\.log$/, '$1trace-PID.log').replace(/(^|\/)native-\d+(-\d+)?\.bin$/, '$1native-PID$2.bin'))
    .sort();
}

async function agentView(file: string): Promise<AgentRecords> {
  return readAgentRecords(new HeapGraph(await loadSnapshot(file)));
}

function byName(view: AgentRecords, name: string): AgentNameView {
  const entry = view.names.find((n) => n.name === name);
  if (!entry) throw new Error(`no agent entry for ${name}; have ${view.names.map((n) => n.name).join(', ')}`);
  return entry;
}

/** The last line the CLI wrote to stderr. */
const lastLine = (text: string): string => text.trimEnd().split('\n').at(-1)!;

describe('capture --scenario (pure JS scenarios)', () => {
  it('js-leak: 100 iterations per phase leave exactly 100 more test_js_leak records each, 0 test_js_ok; manifest and files exact', async () => {
    const out = newOutDir('js-leak');
    const json = join(scratch, 'js-leak-result.json');
    const module = join(scenarios, 'js-leak.mjs');
    const r = runCli(['capture', '--scenario', module, '--iterations', '100', '--snapshots', '3', '--warmup', '5', '--out', out, '--json', json]);
    // A leak was found: exit 1, and the attribution on stdout.
    expect(r.code, r.stderr).toBe(1);
    expect(r.stdout).toContain('LEAK: test_js_leak +200 (1.00/iteration)');
    expect(r.stderr).toContain('snapshot 3/3 (iteration-200, 200 iterations) snapshot-3.heapsnapshot');

    // Atomic writes: nothing but the snapshots and the manifest (no *.tmp, no events file).
    expect(filesIn(out)).toEqual(['manifest.json', 'snapshot-1.heapsnapshot', 'snapshot-2.heapsnapshot', 'snapshot-3.heapsnapshot', 'trace-PID.log']);

    const m = readManifest(out);
    expect(m).toMatchObject({
      schemaVersion: 1,
      tool: { name: 'napi-heapdiff', version: '0.1.0' },
      mode: 'scenario',
      status: 'completed',
      outDir: out,
      scenario: { module, iterations: 100, snapshots: 3, warmup: 5 },
      node: { version: process.version },
      ended: { how: 'completed', exitCode: 0, signal: null },
    });
    expect(m.processes).toHaveLength(1);
    const pid = m.processes[0]!.pid;
    expect(m.processes[0]!.ended).toEqual({ how: 'exit', exitCode: 0, signal: null });
    expect(m.snapshots.map((s) => [s.index, s.file, s.label, s.iterations, s.totalIterations, s.pid])).toEqual([
      [1, 'snapshot-1.heapsnapshot', 'baseline', 0, 5, pid],
      [2, 'snapshot-2.heapsnapshot', 'iteration-100', 100, 105, pid],
      [3, 'snapshot-3.heapsnapshot', 'iteration-200', 200, 205, pid],
    ]);
    for (const s of m.snapshots) {
      expect(s.bytes).toBeGreaterThan(1_000_000);
      expect(s.writeMs).toBeGreaterThan(0);
      expect(Date.parse(s.takenAt)).toBeGreaterThanOrEqual(Date.parse(m.startedAt));
    }
    expect(Date.parse(m.endedAt!) - Date.parse(m.startedAt)).toBe(m.durationMs);
    expect(m.notes).toBeUndefined();

    // --json: the analysis, with the capture's own outcome beside it.
    const written = JSON.parse(readFileSync(json, 'utf8')) as { verdict: string; asyncContexts: Array<{ name: string; live: number[] }>; capture: { ok: boolean; failure: null; manifest: CaptureManifest; snapshotFiles: string[] } };
    expect(written.verdict).toBe('leak');
    expect(written.asyncContexts.map((row) => [row.name, row.live])).toEqual([['test_js_leak', [5, 105, 205]], ['test_js_ok', [0, 0, 0]]]);
    const result = written.capture;
    expect(result.ok).toBe(true);
    expect(result.failure).toBeNull();
    expect(result.manifest).toEqual(m);
    expect(result.snapshotFiles).toEqual(m.snapshots.map((s) => join(out, s.file)));

    const leakLine = `iteration (${pathToFileURL(module).href}:8:3)`;
    const expectedLive = [5, 105, 205];
    for (const [i, snapshot] of m.snapshots.entries()) {
      const view = await agentView(join(out, snapshot.file));
      expect(view.found).toBe(true);
      expect(view.registry).toMatchObject({ schema: '1', pid, thread: 'main', node: process.version, workersReported: 0 });
      expect(view.ignoredRegistries).toBe(0);
      expect(view.names.map((n) => n.name)).toEqual(['test_js_leak', 'test_js_ok']);
      const leak = byName(view, 'test_js_leak');
      expect(leak.live).toBe(expectedLive[i]);
      expect(leak.counters).toEqual({ init: expectedLive[i], destroy: 0, before: 0, after: 0 });
      expect(leak.stacks).toHaveLength(1);
      expect(leak.stacks[0]!.count).toBe(expectedLive[i]);
      expect(leak.stacks[0]!.stack.split('\n')[0]).toBe(leakLine);
      expect(leak.stacks[0]!.stack.split('\n').length).toBeLessThanOrEqual(6);
      const ok = byName(view, 'test_js_ok');
      expect(ok.live).toBe(0);
      expect(ok.counters).toEqual({ init: expectedLive[i], destroy: expectedLive[i], before: 0, after: 0 });
      expect(ok.stacks).toEqual([]);
    }
  });

  it('the snapshots load in heap-snapshot-toolkit (DevTools loader); its Summary names the records napi:<name>', async () => {
    const out = newOutDir('toolkit');
    const r = runCli(['capture', '--scenario', join(scenarios, 'js-leak.mjs'), '--iterations', '100', '--snapshots', '2', '--warmup', '0', '--out', out]);
    expect(r.code, r.stderr).toBe(1); // test_js_leak grows: a leak
    const { parse } = await import('heap-snapshot-toolkit');
    const counts: number[] = [];
    for (const file of ['snapshot-1.heapsnapshot', 'snapshot-2.heapsnapshot']) {
      const snapshot = await parse(createReadStream(join(out, file), 'utf-8'));
      const aggregates = snapshot.aggregatesWithFilter({}) as Record<string, { name: string; count: number }>;
      const summary = new Map(Object.values(aggregates).map((a) => [a.name, a.count]));
      counts.push(summary.get('napi:test_js_leak') ?? 0);
      // Destroyed records are gone; the record prototype is not counted as a record.
      expect(summary.get('napi:test_js_ok')).toBeUndefined();
      expect(summary.get('NapiHeapdiffRegistry')).toBe(1);
      expect(summary.get('NapiHeapdiffName')).toBe(file === 'snapshot-1.heapsnapshot' ? undefined : 2);
    }
    expect(counts).toEqual([0, 100]);
  });

  it('records are told apart from user objects that carry the same name or class', async () => {
    const out = newOutDir('lookalike');
    const r = runCli(['capture', '--scenario', join(scenarios, 'lookalike.mjs'), '--iterations', '10', '--snapshots', '2', '--warmup', '0', '--out', out]);
    expect(r.code, r.stderr).toBe(1);
    const file = join(out, 'snapshot-2.heapsnapshot');
    const graph = new HeapGraph(await loadSnapshot(file));
    // DevTools-style class counts see 40 "napi:test_lookalike" objects and 11 "NapiHeapdiffRegistry"...
    const { classOf, names } = graph.classes();
    const classCount = (name: string) => classOf.reduce((n, c) => n + (names[c] === name ? 1 : 0), 0);
    expect(classCount('napi:test_lookalike')).toBe(40);
    expect(classCount('NapiHeapdiffRegistry')).toBe(11);
    // ...the analyzer finds the one registry and the 10 real records.
    const view = readAgentRecords(graph);
    expect(view.ignoredRegistries).toBe(0);
    expect(byName(view, 'test_lookalike').live).toBe(10);
    expect(byName(view, 'test_lookalike').counters).toEqual({ init: 10, destroy: 0, before: 0, after: 0 });
  });

  it('a CommonJS scenario with async setup, iterations and teardown', async () => {
    const out = newOutDir('async-cjs');
    const trace = join(scratch, 'async-cjs-trace.txt');
    const r = runCli(['capture', '--scenario', join(scenarios, 'async-js.cjs'), '--iterations', '20', '--snapshots', '2', '--warmup', '3', '--out', out], {
      env: { SCENARIO_TRACE: trace },
    });
    expect(r.code, r.stderr).toBe(1);
    expect(readFileSync(trace, 'utf8')).toBe('setup\nteardown\n');
    expect(byName(await agentView(join(out, 'snapshot-1.heapsnapshot')), 'test_async_leak').live).toBe(3);
    expect(byName(await agentView(join(out, 'snapshot-2.heapsnapshot')), 'test_async_leak').live).toBe(23);
  });

  it('an iteration that throws: exit 2, one line on stderr, the manifest says where', () => {
    const out = newOutDir('throws');
    const trace = join(scratch, 'throws-trace.txt');
    const r = runCli(['capture', '--scenario', join(scenarios, 'throws-at-2.cjs'), '--iterations', '5', '--snapshots', '2', '--warmup', '0', '--out', out], {
      env: { SCENARIO_TRACE: trace },
    });
    expect(r.code).toBe(2);
    expect(lastLine(r.stderr)).toBe('napi-heapdiff: scenario iteration 2 failed: TypeError: fixture failure in iteration 2');
    expect(r.stderr).not.toMatch(/^\s+at /m);
    expect(readFileSync(trace, 'utf8')).toBe('setup\niteration 0\niteration 1\niteration 2\n');
    const m = readManifest(out);
    expect(m.status).toBe('failed');
    expect(m.ended).toEqual({
      how: 'scenario-error',
      exitCode: 1,
      signal: null,
      phase: 'phase 1',
      iteration: 2,
      message: 'scenario iteration 2 failed: TypeError: fixture failure in iteration 2',
    });
    expect(m.snapshots.map((s) => s.file)).toEqual(['snapshot-1.heapsnapshot']);
    expect(filesIn(out)).toEqual(['manifest.json', 'snapshot-1.heapsnapshot', 'trace-PID.log']);
  });

  it('a child that aborts in iteration 5 keeps snapshot 1; the manifest records SIGABRT', async () => {
    const out = newOutDir('abort');
    const json = join(scratch, 'abort.json');
    const r = runCli(['capture', '--scenario', join(scenarios, 'abort-at-5.mjs'), '--iterations', '10', '--snapshots', '3', '--warmup', '0', '--out', out, '--json', json]);
    expect(r.code).toBe(2);
    expect(lastLine(r.stderr)).toMatch(/^napi-heapdiff: scenario process was killed by SIGABRT in phase 1 after 1 of 3 snapshots; output in .*scenario-output\.log$/);
    expect(filesIn(out)).toEqual(['manifest.json', 'scenario-output.log', 'snapshot-1.heapsnapshot']);
    const m = readManifest(out);
    expect(m.status).toBe('failed');
    expect(m.ended).toMatchObject({ how: 'signal', exitCode: null, signal: 'SIGABRT', phase: 'phase 1' });
    expect(m.processes[0]!.ended).toEqual({ how: 'signal', exitCode: null, signal: 'SIGABRT' });
    expect(m.output).toBe('scenario-output.log');
    expect(readFileSync(join(out, 'scenario-output.log'), 'utf8')).toContain('abort-at-5.mjs');
    expect(m.snapshots).toHaveLength(1);
    const view = await agentView(join(out, 'snapshot-1.heapsnapshot'));
    expect(view.found).toBe(true);
    expect(view.names).toEqual([]);
    expect(JSON.parse(readFileSync(json, 'utf8'))).toMatchObject({ schemaVersion: 1, verdict: null, capture: { ok: false, failure: m.ended.message, manifest: m } });
  });

  it('a child that runs out of memory keeps its snapshots; the manifest says out-of-memory', () => {
    const out = newOutDir('oom');
    const r = runCli(['capture', '--scenario', join(scenarios, 'oom-at-3.mjs'), '--iterations', '2', '--snapshots', '3', '--warmup', '0', '--out', out], {
      env: { NODE_OPTIONS: '--max-old-space-size=24' },
    });
    expect(r.code).toBe(2);
    expect(lastLine(r.stderr)).toMatch(/^napi-heapdiff: scenario process ran out of memory in phase 2 after 2 of 3 snapshots; output in /);
    const m = readManifest(out);
    expect(m.ended).toMatchObject({ how: 'out-of-memory', signal: 'SIGABRT', phase: 'phase 2' });
    expect(filesIn(out)).toEqual(['manifest.json', 'scenario-output.log', 'snapshot-1.heapsnapshot', 'snapshot-2.heapsnapshot']);
  });

  it('usage mistakes exit 2 with one line', () => {
    const out = newOutDir('usage');
    const cases: [string[], string][] = [
      [['--scenario', join(scenarios, 'missing.mjs')], `napi-heapdiff: scenario module not found: ${join(scenarios, 'missing.mjs')}`],
      [['--scenario', join(scenarios, 'js-leak.mjs'), '--snapshots', '1'], 'napi-heapdiff: --snapshots must be an integer ≥ 2 (got 1)'],
      [['--scenario', join(scenarios, 'js-leak.mjs'), '--iterations', 'ten'], 'napi-heapdiff: --iterations must be a whole number (got "ten")'],
      [['--scenario', join(scenarios, 'js-leak.mjs'), '--', 'node', 'x.js'], 'napi-heapdiff: give either --scenario or a command after --, not both (got: node x.js)'],
      [['--scenario', join(scenarios, 'js-leak.mjs'), '--interval', '100'], 'napi-heapdiff: --interval applies to command mode only'],
      [['--iterations', '5', '--', 'node', '-e', '0'], 'napi-heapdiff: --iterations applies to --scenario only'],
      [[], 'napi-heapdiff: nothing to capture: give --scenario <module> or a command after --'],
    ];
    for (const [args, message] of cases) {
      const r = runCli(['capture', '--out', out, ...args]);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.stderr.trimEnd(), args.join(' ')).toBe(message);
    }
    const missingOut = runCli(['capture', '--scenario', join(scenarios, 'js-leak.mjs')]);
    expect(missingOut.code).toBe(2);
    expect(missingOut.stderr.trimEnd()).toBe("error: required option '--out <dir>' not specified");
  });

  it('a second capture into the same folder replaces the first one\'s files', () => {
    const out = newOutDir('rerun');
    expect(runCli(['capture', '--scenario', join(scenarios, 'js-leak.mjs'), '--iterations', '3', '--snapshots', '3', '--warmup', '0', '--out', out]).code).toBe(1);
    expect(runCli(['capture', '--scenario', join(scenarios, 'js-leak.mjs'), '--iterations', '3', '--snapshots', '2', '--warmup', '0', '--out', out]).code).toBe(1);
    expect(filesIn(out)).toEqual(['manifest.json', 'snapshot-1.heapsnapshot', 'snapshot-2.heapsnapshot', 'trace-PID.log']);
  });
});

/** [folder, twin, async name, iterations, warm-up, expected at snapshot 1, expected at snapshot 2]. */
interface FixtureCase {
  folder: string;
  twin: 'leak' | 'ok';
  name: string;
  iterations: number;
  warmup: number;
  /** live records, and hook counters, at snapshot 1 and snapshot 2. */
  expect: [FixtureState, FixtureState];
}
interface FixtureState {
  live: number;
  init: number;
  destroy: number;
  before: number;
  after: number;
  teardownOpen?: number;
  teardownWorkers?: number;
}

const s = (live: number, init: number, destroy: number, before = 0, after = 0): FixtureState => ({ live, init, destroy, before, after });

// Warm-up 4, then 100 iterations: 104 calls by snapshot 2.
const FIXTURE_CASES: FixtureCase[] = [
  { folder: 'null-resource', twin: 'leak', name: 'fixture_null_resource_leak', iterations: 100, warmup: 4, expect: [s(4, 4, 0), s(104, 104, 0)] },
  { folder: 'null-resource', twin: 'ok', name: 'fixture_null_resource_ok', iterations: 100, warmup: 4, expect: [s(0, 4, 4), s(0, 104, 104)] },
  { folder: 'js-resource', twin: 'leak', name: 'fixture_js_resource_leak', iterations: 100, warmup: 4, expect: [s(4, 4, 0), s(104, 104, 0)] },
  { folder: 'js-resource', twin: 'ok', name: 'fixture_js_resource_ok', iterations: 100, warmup: 4, expect: [s(0, 4, 4), s(0, 104, 104)] },
  // Fails (and leaks) when i % 4 === 3: 1 of the 4 warm-up calls, 25 of the next 100.
  { folder: 'error-path', twin: 'leak', name: 'fixture_error_path_leak', iterations: 100, warmup: 4, expect: [s(1, 4, 3), s(26, 104, 78)] },
  { folder: 'error-path', twin: 'ok', name: 'fixture_error_path_ok', iterations: 100, warmup: 4, expect: [s(0, 4, 4), s(0, 104, 104)] },
  // 3 inits and 1 destroy per iteration.
  { folder: 'shared-context', twin: 'leak', name: 'fixture_shared_context_leak', iterations: 100, warmup: 4, expect: [s(8, 12, 4), s(208, 312, 104)] },
  { folder: 'shared-context', twin: 'ok', name: 'fixture_shared_context_ok', iterations: 100, warmup: 4, expect: [s(0, 12, 12), s(0, 312, 312)] },
  { folder: 'async-work', twin: 'leak', name: 'fixture_async_work_leak', iterations: 100, warmup: 4, expect: [s(4, 4, 0, 4, 4), s(104, 104, 0, 104, 104)] },
  { folder: 'async-work', twin: 'ok', name: 'fixture_async_work_ok', iterations: 100, warmup: 4, expect: [s(0, 4, 4, 4, 4), s(0, 104, 104, 104, 104)] },
  { folder: 'tsfn', twin: 'leak', name: 'fixture_tsfn_leak', iterations: 100, warmup: 4, expect: [s(4, 4, 0), s(104, 104, 0)] },
  { folder: 'tsfn', twin: 'ok', name: 'fixture_tsfn_ok', iterations: 100, warmup: 4, expect: [s(0, 4, 4, 4, 4), s(0, 104, 104, 104, 104)] },
  // A callback scope left open: before without after (and microtasks stop draining in that process).
  { folder: 'callback-scope', twin: 'leak', name: 'fixture_callback_scope_leak', iterations: 100, warmup: 4, expect: [s(4, 4, 0, 4, 0), s(104, 104, 0, 104, 0)] },
  { folder: 'callback-scope', twin: 'ok', name: 'fixture_callback_scope_ok', iterations: 100, warmup: 4, expect: [s(0, 4, 4, 4, 4), s(0, 104, 104, 104, 104)] },
  { folder: 'native-memory', twin: 'leak', name: 'fixture_native_memory', iterations: 100, warmup: 4, expect: [s(0, 4, 4), s(0, 104, 104)] },
  // One Worker per iteration; its 2 contexts are open when it ends. Nothing lives on the main thread.
  {
    folder: 'worker-teardown', twin: 'leak', name: 'fixture_worker_teardown_leak', iterations: 20, warmup: 2,
    expect: [{ ...s(0, 0, 0), teardownOpen: 4, teardownWorkers: 2 }, { ...s(0, 0, 0), teardownOpen: 44, teardownWorkers: 22 }],
  },
  {
    folder: 'worker-teardown', twin: 'ok', name: 'fixture_worker_teardown_ok', iterations: 20, warmup: 2,
    expect: [{ ...s(0, 0, 0), teardownOpen: 0, teardownWorkers: 0 }, { ...s(0, 0, 0), teardownOpen: 0, teardownWorkers: 0 }],
  },
];

describe('capture --scenario with the native fixtures', () => {
  beforeAll(() => {
    const build = spawnSync(process.execPath, [join(fixtures, 'build.mjs')], { cwd: repoRoot, encoding: 'utf8' });
    expect(build.status, build.stderr).toBe(0);
  });

  it.each(FIXTURE_CASES.map((c) => [`${c.folder}/${c.twin}`, c] as const))('%s: exact live records and hook counts per snapshot', async (_label, c) => {
    const out = newOutDir(`${c.folder}-${c.twin}`);
    const r = runCli(['capture', '--scenario', join(fixtures, c.folder, `${c.twin}.mjs`), '--iterations', String(c.iterations), '--snapshots', '2', '--warmup', String(c.warmup), '--out', out]);
    // native-memory leaks outside the heap: its async contexts are paired, so no heap leak; and one
    // step (two snapshots) is not enough to call native memory a leak.
    expect(r.code, r.stderr).toBe(c.twin === 'leak' && c.folder !== 'native-memory' ? 1 : 0);
    expect(filesIn(out)).toEqual(['manifest.json', 'native-PID-1.bin', 'native-PID-2.bin', 'native-PID.bin', 'snapshot-1.heapsnapshot', 'snapshot-2.heapsnapshot', 'trace-PID.log']);
    for (const [i, expected] of c.expect.entries()) {
      const view = await agentView(join(out, `snapshot-${i + 1}.heapsnapshot`));
      const entry = view.names.find((n) => n.name === c.name);
      if (c.folder === 'worker-teardown') {
        // Worker events reach the main registry only through the teardown report.
        expect(entry?.workerTeardown.open ?? 0, `snapshot ${i + 1}`).toBe(expected.teardownOpen);
        expect(entry?.workerTeardown.workers ?? 0).toBe(expected.teardownWorkers);
        expect(view.registry!.workersReported).toBe((i === 0 ? c.warmup : c.warmup + c.iterations));
        const perWorker = c.twin === 'leak' ? { init: 2, destroy: 0 } : { init: 2, destroy: 2 };
        const workers = i === 0 ? c.warmup : c.warmup + c.iterations;
        expect(entry!.workerTeardown.counters).toEqual({ init: perWorker.init * workers, destroy: perWorker.destroy * workers, before: 0, after: 0 });
        if (c.twin === 'leak') {
          expect(entry!.workerTeardown.stacks).toHaveLength(1);
          expect(entry!.workerTeardown.stacks[0]!.count).toBe(expected.teardownOpen);
          expect(entry!.workerTeardown.stacks[0]!.stack).toContain('worker-teardown/worker.mjs');
        }
        expect(entry!.live).toBe(0);
        continue;
      }
      expect(entry, `snapshot ${i + 1}`).toBeDefined();
      expect({ live: entry!.live, ...entry!.counters }, `snapshot ${i + 1}`).toEqual({ live: expected.live, init: expected.init, destroy: expected.destroy, before: expected.before, after: expected.after });
      expect(entry!.stacks.reduce((n, st) => n + st.count, 0)).toBe(expected.live);
    }
    const [first, second] = c.expect;
    if (c.folder === 'callback-scope' && c.twin === 'leak') expect(second.before - second.after - (first.before - first.after)).toBe(c.iterations);
  });

  it('reference: a napi_ref leak has no async context, so the agent records nothing for it', async () => {
    const out = newOutDir('reference');
    const r = runCli(['capture', '--scenario', join(fixtures, 'reference', 'leak.mjs'), '--iterations', '50', '--snapshots', '2', '--warmup', '0', '--out', out]);
    expect(r.code, r.stderr).toBe(1); // the reference group grows
    const view = await agentView(join(out, 'snapshot-2.heapsnapshot'));
    expect(view.found).toBe(true);
    expect(view.names).toEqual([]);
  });
});

describe('capture -- <command>', () => {
  it('snapshots every node process (start, SIGUSR2, exit) into per-process folders; manifest lists them', async () => {
    const out = newOutDir('command');
    const app = join(scenarios, 'command-app.mjs');
    const r = runCli(['capture', '--out', out, '--', process.execPath, app]);
    expect(r.code, r.stderr).toBe(0);
    // The program's own output, then the analysis of its main process.
    const [programOutput, analysis] = r.stdout.split(/(?=^snapshots: )/m);
    expect(programOutput).toBe('app: 7 kept; child says hi\n');
    expect(analysis).toContain('test_cmd_leak');
    const m = readManifest(out);
    expect(m).toMatchObject({ schemaVersion: 1, mode: 'command', status: 'completed', command: { argv: [process.execPath, app], intervalMs: 0 }, ended: { how: 'completed', exitCode: 0, signal: null } });
    expect(m.processes).toHaveLength(2);
    const [parent, child] = m.processes as [CaptureManifest['processes'][0], CaptureManifest['processes'][0]];
    expect(child.ppid).toBe(parent.pid);
    expect(parent.argv).toEqual([process.execPath, app]);
    expect(parent.folder).toBe(String(parent.pid));
    expect(child.folder).toBe(String(child.pid));
    expect(parent.ended).toEqual({ how: 'exit', exitCode: 0, signal: null });
    expect(child.ended).toEqual({ how: 'exit', exitCode: 0, signal: null });
    const labels = (pid: number) => m.snapshots.filter((snap) => snap.pid === pid).map((snap) => snap.file);
    expect(labels(parent.pid)).toEqual([`${parent.pid}/001-start.heapsnapshot`, `${parent.pid}/002-signal.heapsnapshot`, `${parent.pid}/003-exit.heapsnapshot`]);
    // The child's loop never idles with the agent's unref'ed immediates pending: only its exit snapshot.
    expect(labels(child.pid)).toEqual([`${child.pid}/001-exit.heapsnapshot`]);
    expect(m.snapshots.map((snap) => snap.index)).toEqual([1, 2, 3, 4]);
    expect(filesIn(out)).toEqual(['manifest.json', String(parent.pid), String(child.pid), ...m.snapshots.map((snap) => snap.file)].sort());
    expect(existsSync(join(out, EVENTS_FILE))).toBe(false);

    const start = await agentView(join(out, `${parent.pid}/001-start.heapsnapshot`));
    expect(start.found).toBe(true);
    for (const file of [`${parent.pid}/002-signal.heapsnapshot`, `${parent.pid}/003-exit.heapsnapshot`]) {
      const view = await agentView(join(out, file));
      expect(view.registry!.pid).toBe(parent.pid);
      expect({ live: byName(view, 'test_cmd_leak').live, ...byName(view, 'test_cmd_leak').counters }).toEqual({ live: 7, init: 7, destroy: 0, before: 0, after: 0 });
      expect({ live: byName(view, 'test_cmd_ok').live, ...byName(view, 'test_cmd_ok').counters }).toEqual({ live: 0, init: 3, destroy: 3, before: 0, after: 0 });
    }
  });

  it('--interval adds periodic snapshots; NODE_OPTIONS already set is kept', () => {
    const out = newOutDir('interval');
    const script = 'setTimeout(() => console.log(Object.keys(require.cache).some((k) => k.endsWith("agent.cjs")), require("v8").getHeapStatistics().heap_size_limit < 200e6), 2500)';
    const r = runCli(['capture', '--out', out, '--interval', '200', '--', process.execPath, '-e', script], { env: { NODE_OPTIONS: '--max-old-space-size=100' } });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout.split(/(?=^snapshots: )/m)[0]).toBe('true true\n');
    const m = readManifest(out);
    const labels = m.snapshots.map((snap) => snap.label);
    expect(labels[0]).toBe('start');
    expect(labels.at(-1)).toBe('exit');
    expect(labels.filter((l) => l === 'interval').length).toBeGreaterThanOrEqual(1);
    expect(m.command!.intervalMs).toBe(200);
  });

  it('a failing command: exit 2 and one line; exit code and signal are in the manifest', () => {
    const failed = runCli(['capture', '--out', newOutDir('exit4'), '--', process.execPath, '-e', 'process.exitCode = 4']);
    expect(failed.code).toBe(2);
    expect(lastLine(failed.stderr)).toBe(`napi-heapdiff: ${process.execPath} exited with code 4`);

    const out = newOutDir('killed');
    const killed = runCli(['capture', '--out', out, '--', process.execPath, '-e', 'setTimeout(() => process.kill(process.pid, "SIGKILL"), 50)']);
    expect(killed.code).toBe(2);
    expect(lastLine(killed.stderr)).toBe(`napi-heapdiff: ${process.execPath} was killed by SIGKILL`);
    const m = readManifest(out);
    expect(m.ended).toEqual({ how: 'signal', exitCode: null, signal: 'SIGKILL', message: `${process.execPath} was killed by SIGKILL` });
    expect(m.processes).toHaveLength(1);
    expect(m.processes[0]!.ended).toEqual({ how: 'signal', exitCode: null, signal: 'SIGKILL' });

    const missing = runCli(['capture', '--out', newOutDir('enoent'), '--', 'napi-heapdiff-no-such-command']);
    expect(missing.code).toBe(2);
    expect(missing.stderr.trimEnd()).toBe('napi-heapdiff: cannot run napi-heapdiff-no-such-command: command not found');
  });
});

describe('agent', () => {
  const run = (args: string[], env: NodeJS.ProcessEnv = {}) => {
    const r = spawnSync(process.execPath, args, { encoding: 'utf8', env: { ...process.env, ...env }, timeout: 60_000 });
    return { code: r.status, signal: r.signal, stdout: r.stdout, stderr: r.stderr };
  };

  it('is invisible: same output, exit code, globals, listeners, stack traces, Error.prepareStackTrace use', () => {
    const script = join(scenarios, 'invisible.cjs');
    const plain = run([script]);
    const withAgent = run(['--require', agent, script]);
    expect(plain.code).toBe(3);
    expect(withAgent).toEqual(plain);
    const report = JSON.parse(plain.stdout) as { globalsAtStart: string[]; globalsNow: string[]; afterResources: unknown; worker: string };
    expect(report.afterResources).toEqual({ userPrepareCalls: 0, samePrepare: true, limit: 7 });
    expect(report.worker).toBe('worker ok undefined');
    expect(report.globalsNow).toEqual(report.globalsAtStart);

    const plainThrow = run([script, 'throw']);
    const agentThrow = run(['--require', agent, script, 'throw']);
    expect(plainThrow.code).toBe(1);
    expect(agentThrow).toEqual(plainThrow);
  });

  it('loads from NODE_OPTIONS when its path has spaces (quoted), in the main thread and in workers', () => {
    const dir = join(scratch, 'agent dir "quoted"');
    mkdirSync(dir, { recursive: true });
    const copy = join(dir, 'agent.cjs');
    copyFileSync(agent, copy);
    const script = `
      const { Worker } = require('node:worker_threads');
      const loaded = () => Object.keys(require.cache).includes(${JSON.stringify(copy)});
      const w = new Worker('const { parentPort } = require("node:worker_threads"); parentPort.postMessage(Object.keys(require.cache).some((k) => k.endsWith("agent.cjs")))', { eval: true });
      w.once('message', (inWorker) => console.log(loaded(), inWorker));`;
    const r = run(['-e', script], { NODE_OPTIONS: appendRequire('--max-old-space-size=100', copy) });
    expect(r.stderr).toBe('');
    expect(r.stdout.split(/(?=^snapshots: )/m)[0]).toBe('true true\n');
  });

  it('its records are in snapshots Node writes itself (--heapsnapshot-signal); stacks via Node\'s default format', async () => {
    const dir = join(scratch, 'signal snapshot');
    mkdirSync(dir, { recursive: true });
    const script = join(scenarios, 'signal-snapshot.cjs');
    const r = run(['--require', agent, '--heapsnapshot-signal=SIGUSR2', `--diagnostic-dir=${dir}`, script]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toBe('length,name,prototype,captureStackTrace,stackTraceLimit\n');
    const files = readdirSync(dir).filter((f) => f.endsWith('.heapsnapshot'));
    expect(files).toHaveLength(1);
    const view = await agentView(join(dir, files[0]!));
    expect(view.found).toBe(true);
    const leak = byName(view, 'signal_leak');
    expect({ live: leak.live, ...leak.counters }).toEqual({ live: 3, init: 3, destroy: 0, before: 0, after: 0 });
    expect(leak.stacks).toHaveLength(1);
    expect(leak.stacks[0]!.count).toBe(3);
    expect(leak.stacks[0]!.stack.split('\n').slice(0, 2)).toEqual([`makeThree (${script}:12:41)`, `Object.<anonymous> (${script}:14:1)`]);
    expect({ live: byName(view, 'signal_ok').live, ...byName(view, 'signal_ok').counters }).toEqual({ live: 0, init: 1, destroy: 1, before: 0, after: 0 });
  });

  it('agrees with the capture library on its environment variables and events file', () => {
    const r = run(['-e', `const a = require(${JSON.stringify(agent)}); console.log(JSON.stringify([a.ENV_CAPTURE_DIR, a.ENV_CAPTURE_INTERVAL, a.EVENTS_FILE, a.SCHEMA_VERSION, a.REGISTRY_MARKER, a.RECORD_TAG_PREFIX, a.STACK_NOT_SAMPLED]))`]);
    expect(JSON.parse(r.stdout)).toEqual([ENV_CAPTURE_DIR, ENV_CAPTURE_INTERVAL, EVENTS_FILE, '1', 'napi-heapdiff agent registry', 'napi:', STACK_NOT_SAMPLED]);
  });
});
