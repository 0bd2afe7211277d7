import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AsyncContextRow } from '../../src/analysis/result.js';
import { HeapGraph } from '../../src/graph/heap-graph.js';
import { NONE } from '../../src/graph/none.js';
import { loadSnapshot } from '../../src/snapshot/load.js';
import {
  asyncRow,
  buildFixtures,
  captureScenario,
  diffSnapshots,
  fixturesDir,
  functionLocation,
  lastLine,
  readMeta,
  referenceRow,
  type CaptureJson,
  type CliRun,
  type ScenarioMeta,
} from '../helpers/attribution-capture.js';

// End-to-end attribution: `napi-heapdiff capture --scenario` runs each native
// fixture (leak.mjs and ok.mjs) with the agent in a real child process, takes
// 3 snapshots, and the analysis it prints (and writes with --json) must name
// the fixture's own async context with the exact counts the fixture's design
// implies (native-fixtures/README.md, each module's `meta`).
//
// Counts: a snapshot is taken after `warmup` iterations and then after every
// `iterations` more, so a leak of r per iteration shows
// live = [r·w, r·(w + n), r·(w + 2n)] and growth 2·r·n; perIteration is the
// slope against the manifest's iteration counts [0, n, 2n], i.e. r.

const SNAPSHOTS = 3;
const scratch = mkdtempSync(join(tmpdir(), 'napi heapdiff attribution-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

type Counters = AsyncContextRow['counters'];
const counters = (init: number, destroy: number, before = 0, after = 0): Counters => ({ init, destroy, before, after });

interface ReferenceExpectation {
  name: string;
  live: number[];
  perIteration: number;
}

interface ScenarioCase {
  folder: string;
  iterations: number;
  warmup: number;
  leak: {
    /** The fixture's async-context name; null when the leak is not an async context (reference). */
    name: string | null;
    live: number[];
    perIteration: number;
    counters: Counters;
    creationSite: 'leak.mjs' | 'worker.mjs' | 'native';
    openAtWorkerTeardown: number[];
    unclosedCallbackScopes: number;
    references: ReferenceExpectation[];
    /** The last line the CLI prints. */
    summary: string;
  };
  ok: { name: string | null; counters: Counters };
}

// Warm-up 4 and 100 iterations per phase: 4, 104 and 204 iterations done at the
// three snapshots (worker-teardown: warm-up 2, 10 per phase: 2, 12, 22 workers).
const CASES: ScenarioCase[] = [
  {
    folder: 'null-resource', iterations: 100, warmup: 4,
    leak: { name: 'fixture_null_resource_leak', live: [4, 104, 204], perIteration: 1, counters: counters(204, 0), creationSite: 'leak.mjs', openAtWorkerTeardown: [0, 0, 0], unclosedCallbackScopes: 0, references: [], summary: 'LEAK: fixture_null_resource_leak +200 (1.00/iteration)' },
    ok: { name: 'fixture_null_resource_ok', counters: counters(204, 204) },
  },
  {
    // On Node 20 the resource is held weakly and collected: only the agent's records show the leak.
    folder: 'js-resource', iterations: 100, warmup: 4,
    leak: { name: 'fixture_js_resource_leak', live: [4, 104, 204], perIteration: 1, counters: counters(204, 0), creationSite: 'leak.mjs', openAtWorkerTeardown: [0, 0, 0], unclosedCallbackScopes: 0, references: [], summary: 'LEAK: fixture_js_resource_leak +200 (1.00/iteration)' },
    ok: { name: 'fixture_js_resource_ok', counters: counters(204, 204) },
  },
  {
    // Leaks when i % 4 === 3: floor(4/4) = 1, floor(104/4) = 26, floor(204/4) = 51; 0.25 per iteration.
    folder: 'error-path', iterations: 100, warmup: 4,
    leak: { name: 'fixture_error_path_leak', live: [1, 26, 51], perIteration: 0.25, counters: counters(204, 153), creationSite: 'leak.mjs', openAtWorkerTeardown: [0, 0, 0], unclosedCallbackScopes: 0, references: [], summary: 'LEAK: fixture_error_path_leak +50 (0.25/iteration)' },
    ok: { name: 'fixture_error_path_ok', counters: counters(204, 204) },
  },
  {
    // 3 inits and 1 destroy per iteration: 2 leaked.
    folder: 'shared-context', iterations: 100, warmup: 4,
    leak: { name: 'fixture_shared_context_leak', live: [8, 208, 408], perIteration: 2, counters: counters(612, 204), creationSite: 'leak.mjs', openAtWorkerTeardown: [0, 0, 0], unclosedCallbackScopes: 0, references: [], summary: 'LEAK: fixture_shared_context_leak +400 (2.00/iteration)' },
    ok: { name: 'fixture_shared_context_ok', counters: counters(612, 612) },
  },
  {
    // 2 contexts per Worker, open when it exits: known only from the workers' teardown reports.
    // The worker's napi_ref dies with the worker's isolate: no reference row on the main thread.
    folder: 'worker-teardown', iterations: 10, warmup: 2,
    leak: { name: 'fixture_worker_teardown_leak', live: [4, 24, 44], perIteration: 2, counters: counters(0, 0), creationSite: 'worker.mjs', openAtWorkerTeardown: [4, 24, 44], unclosedCallbackScopes: 0, references: [], summary: 'LEAK: fixture_worker_teardown_leak +40 (2.00/iteration)' },
    ok: { name: 'fixture_worker_teardown_ok', counters: counters(0, 0) },
  },
  {
    // Queued and completed (before/after), never deleted (no destroy).
    folder: 'async-work', iterations: 100, warmup: 4,
    leak: { name: 'fixture_async_work_leak', live: [4, 104, 204], perIteration: 1, counters: counters(204, 0, 204, 204), creationSite: 'leak.mjs', openAtWorkerTeardown: [0, 0, 0], unclosedCallbackScopes: 0, references: [], summary: 'LEAK: fixture_async_work_leak +200 (1.00/iteration)' },
    ok: { name: 'fixture_async_work_ok', counters: counters(204, 204, 204, 204) },
  },
  {
    // A TSFN holds its {} resource (claimed by the named group) and its JS function (a reference row).
    folder: 'tsfn', iterations: 100, warmup: 4,
    leak: {
      name: 'fixture_tsfn_leak', live: [4, 104, 204], perIteration: 1, counters: counters(204, 0), creationSite: 'leak.mjs', openAtWorkerTeardown: [0, 0, 0], unclosedCallbackScopes: 0,
      references: [{ name: 'fixtureTsfnCallback', live: [4, 104, 204], perIteration: 1 }],
      summary: 'LEAK: fixture_tsfn_leak +200 (1.00/iteration), fixtureTsfnCallback +200 (1.00/iteration)',
    },
    ok: { name: 'fixture_tsfn_ok', counters: counters(204, 204, 204, 204) },
  },
  {
    // Opened in a raw uv timer callback (no JS stack): before without after, every iteration.
    folder: 'callback-scope', iterations: 100, warmup: 4,
    leak: { name: 'fixture_callback_scope_leak', live: [4, 104, 204], perIteration: 1, counters: counters(204, 0, 204, 0), creationSite: 'native', openAtWorkerTeardown: [0, 0, 0], unclosedCallbackScopes: 204, references: [], summary: 'LEAK: fixture_callback_scope_leak +200 (1.00/iteration)' },
    ok: { name: 'fixture_callback_scope_ok', counters: counters(204, 204, 204, 204) },
  },
  {
    // No async context at all: one strong napi_ref to a new closure per iteration.
    folder: 'reference', iterations: 100, warmup: 4,
    leak: {
      name: null, live: [], perIteration: 0, counters: null, creationSite: 'native', openAtWorkerTeardown: [], unclosedCallbackScopes: 0,
      references: [{ name: 'fixtureLeakedCallback', live: [4, 104, 204], perIteration: 1 }],
      summary: 'LEAK: fixtureLeakedCallback +200 (1.00/iteration)',
    },
    ok: { name: null, counters: null },
  },
];

beforeAll(() => {
  const build = buildFixtures();
  expect(build.status, build.stderr).toBe(0);
});

for (const c of CASES) {
  describe(`${c.folder}: capture --iterations ${c.iterations} --snapshots ${SNAPSHOTS} --warmup ${c.warmup}`, () => {
    const leakModule = join(fixturesDir, c.folder, 'leak.mjs');
    const okModule = join(fixturesDir, c.folder, 'ok.mjs');
    let leak: CliRun<CaptureJson>;
    let ok: CliRun<CaptureJson>;
    let leakMeta: ScenarioMeta;
    let okMeta: ScenarioMeta;
    const snapshotIterations = [0, c.iterations, 2 * c.iterations];
    // The modules whose meta has retainedFunction (README): reference and tsfn.
    const hasRetainedFunction = c.folder === 'reference' || c.folder === 'tsfn';

    beforeAll(() => {
      leakMeta = readMeta(leakModule);
      okMeta = readMeta(okModule);
      const options = { iterations: c.iterations, snapshots: SNAPSHOTS, warmup: c.warmup };
      leak = captureScenario(leakModule, { ...options, outDir: join(scratch, `${c.folder}-leak`) });
      ok = captureScenario(okModule, { ...options, outDir: join(scratch, `${c.folder}-ok`) });
    });

    it('the expectations agree with the modules\' meta (names, leak rates, retained function)', () => {
      expect(leakMeta).toMatchObject({ scenario: c.folder, twin: 'leak', asyncNames: c.leak.name === null ? [] : [c.leak.name] });
      expect(okMeta).toMatchObject({ scenario: c.folder, twin: 'ok', asyncNames: c.ok.name === null ? [] : [c.ok.name], leakedAsyncPerIteration: 0 });
      expect(leakMeta.leakedAsyncPerIteration).toBe(c.leak.name === null ? 0 : c.leak.perIteration);
      if (c.folder === 'reference') expect(leakMeta.leakedRefsPerIteration).toBe(c.leak.references[0]!.perIteration);
      expect(leakMeta.retainedFunction !== undefined).toBe(hasRetainedFunction);
      if (hasRetainedFunction) expect(c.leak.references.map((r) => r.name)).toContain(leakMeta.retainedFunction!.name);
    });

    it('leak.mjs: exit 1, verdict leak; the capture completed with snapshots at 0, n, 2n iterations', () => {
      expect(leak.code, leak.stderr).toBe(1);
      expect(leak.json.verdict).toBe('leak');
      expect(lastLine(leak.stdout)).toBe(c.leak.summary);
      expect(leak.json.capture.ok).toBe(true);
      expect(leak.json.capture.manifest.status).toBe('completed');
      expect(leak.json.snapshots.map((s) => s.iterations)).toEqual(snapshotIterations);
      expect(leak.json.agent).toEqual({ found: true, node: process.version });
      expect(leak.json.notes).toEqual([]);
    });

    if (c.leak.name !== null) {
      const name = c.leak.name;
      it(`leak.mjs: ${name} live ${c.leak.live.join(' → ')}, growth ${c.leak.live.at(-1)! - c.leak.live[0]!}, ${c.leak.perIteration}/iteration, verdict leak; the only async-context row`, () => {
        expect(leak.json.asyncContexts.map((row) => row.name)).toEqual([name]);
        const row = asyncRow(leak.json, name);
        expect(row.named).toBe(true);
        expect(row.live).toEqual(c.leak.live);
        expect(row.growth).toBe(c.leak.live.at(-1)! - c.leak.live[0]!);
        expect(row.perIteration).toBe(c.leak.perIteration);
        expect(row.verdict).toBe('leak');
        expect(row.counters).toEqual(c.leak.counters);
        expect(row.unclosedCallbackScopes).toBe(c.leak.unclosedCallbackScopes);
        expect(row.openAtWorkerTeardown).toEqual(c.leak.openAtWorkerTeardown);
      });

      it('leak.mjs: one creation site, counting every live context', () => {
        const row = asyncRow(leak.json, name);
        expect(row.creationSites).toHaveLength(1);
        expect(row.creationSites[0]!.count).toBe(c.leak.live.at(-1));
        const frame = row.creationSites[0]!.frame;
        if (c.leak.creationSite === 'native') expect(frame).toBe('(no JS stack: created from native code)');
        else expect(frame).toContain(`${pathToFileURL(join(fixturesDir, c.folder, c.leak.creationSite)).href}:`);
      });
    }

    it(`leak.mjs: reference rows ${c.leak.references.length === 0 ? 'none' : c.leak.references.map((r) => r.name).join(', ')}`, () => {
      expect(leak.json.references.map((row) => row.name)).toEqual(c.leak.references.map((r) => r.name));
      for (const expected of c.leak.references) {
        const row = referenceRow(leak.json, expected.name);
        expect(row.live).toEqual(expected.live);
        expect(row.growth).toBe(expected.live.at(-1)! - expected.live[0]!);
        expect(row.perIteration).toBe(expected.perIteration);
        expect(row.verdict).toBe('leak');
      }
    });

    if (hasRetainedFunction) {
      it('leak.mjs: the reference row is located at the closure\'s own line (meta.retainedFunction.line) and column', () => {
        const fn = leakMeta.retainedFunction!;
        expect(fn.file).toBe(leakModule);
        const where = functionLocation(leakModule, fn.name);
        expect(where.line).toBe(fn.line);
        const row = referenceRow(leak.json, fn.name);
        expect(row.location).toBe(`${pathToFileURL(leakModule).href}:${fn.line}:${where.column}`);
        // Held straight from (Global handles): the napi_ref / TSFN's strong global.
        expect(row.retainingPath!.map((step) => [step.edge.split(':')[0], step.node, step.nodeType])).toEqual([
          ['', '', 'synthetic'],
          ['element', '(GC roots)', 'synthetic'],
          ['element', '(Global handles)', 'synthetic'],
          ['internal', fn.name, 'closure'],
        ]);
      });
    }

    it('same process: comparison identity; new objects alive since the first snapshot = growth', () => {
      expect(leak.json.comparison).toBe('identity');
      expect(ok.json.comparison).toBe('identity');
      const pid = leak.json.capture.manifest.processes[0]!.pid;
      expect(leak.json.capture.manifest.snapshots.map((s) => s.pid)).toEqual([pid, pid, pid]);
      expect(leak.json.asyncContexts.length + leak.json.references.length).toBe((c.leak.name === null ? 0 : 1) + c.leak.references.length);
      for (const row of leak.json.references) {
        expect(row.identity, row.name).toEqual({ newAlive: row.growth, freed: 0, kept: row.live[0] });
      }
      for (const row of leak.json.asyncContexts) {
        if (c.folder === 'worker-teardown') {
          // The contexts are counted from the workers' teardown reports: no object
          // on the main thread stands for them, so there is no object-id diff.
          expect(row.identity).toBeNull();
          expect(row.openAtWorkerTeardown.at(-1)! - row.openAtWorkerTeardown[0]!).toBe(row.growth);
        } else {
          expect(row.identity, row.name).toEqual({ newAlive: row.growth, freed: 0, kept: row.live[0] });
        }
      }
      // Correct twins hold no objects in any snapshot: nothing to compare by id.
      for (const row of [...ok.json.asyncContexts, ...ok.json.references]) expect(row.identity, row.name).toBeNull();
    });

    it('ok.mjs: exit 0, verdict clean, no growth anywhere', () => {
      expect(ok.code, ok.stderr).toBe(0);
      expect(ok.json.verdict).toBe('clean');
      expect(lastLine(ok.stdout)).toBe('no leak: no group grew at every step');
      expect(ok.json.capture.ok).toBe(true);
      expect(ok.json.snapshots.map((s) => s.iterations)).toEqual(snapshotIterations);
      expect(ok.json.notes).toEqual([]);
      expect(ok.json.references).toEqual([]);
      expect(ok.json.asyncContexts.map((row) => row.name)).toEqual(c.ok.name === null ? [] : [c.ok.name]);
      if (c.ok.name !== null) {
        const row = asyncRow(ok.json, c.ok.name);
        expect(row.named).toBe(true);
        expect(row.live).toEqual([0, 0, 0]);
        expect(row.growth).toBe(0);
        expect(row.perIteration).toBe(0);
        expect(row.verdict).toBe('stable');
        expect(row.counters).toEqual(c.ok.counters);
        expect(row.unclosedCallbackScopes).toBe(0);
        expect(row.openAtWorkerTeardown).toEqual([0, 0, 0]);
      }
    });

    if (c.folder === 'tsfn' || c.folder === 'worker-teardown') {
      it('diff <capture folder> repeats the capture\'s analysis exactly (the JSON minus `capture`), exit 1', () => {
        const again = diffSnapshots([join(scratch, `${c.folder}-leak`)], { jsonFile: join(scratch, `${c.folder}-leak-diff.json`) });
        expect(again.code, again.stderr).toBe(1);
        const { capture: _capture, ...analysis } = leak.json;
        expect(again.json).toEqual(analysis);
        expect(again.stdout).toBe(leak.stdout);
      });
    }

    if (c.folder === 'callback-scope') {
      it('leak.mjs: unclosedCallbackScopes = every iteration run (warm-up 4 + 200); ok.mjs closes all', () => {
        const ranIterations = leak.json.capture.manifest.snapshots.at(-1)!.totalIterations;
        expect(ranIterations).toBe(204);
        expect(asyncRow(leak.json, 'fixture_callback_scope_leak').unclosedCallbackScopes).toBe(ranIterations);
        expect(asyncRow(ok.json, 'fixture_callback_scope_ok').unclosedCallbackScopes).toBe(0);
      });
    }

    if (c.folder === 'worker-teardown') {
      it('leak.mjs: openAtWorkerTeardown = 2 x workers ended (2, 12, 22), all of live; nothing retained on the main thread', () => {
        expect(leak.json.capture.manifest.snapshots.map((s) => s.totalIterations)).toEqual([2, 12, 22]);
        const row = asyncRow(leak.json, 'fixture_worker_teardown_leak');
        expect(row.openAtWorkerTeardown).toEqual([4, 24, 44]);
        expect(row.live).toEqual(row.openAtWorkerTeardown);
        expect(row.retainedSize).toBe(0);
        expect(row.retainingPath).toBeNull();
        expect(asyncRow(ok.json, 'fixture_worker_teardown_ok').openAtWorkerTeardown).toEqual([0, 0, 0]);
      });
    }

    if (c.folder === 'null-resource') {
      it('leak.mjs: each context is an empty Object held straight from (Global handles)', () => {
        const row = asyncRow(leak.json, 'fixture_null_resource_leak');
        expect(row.retainingPath!.map((step) => [step.edge.split(':')[0], step.node, step.nodeType])).toEqual([
          ['', '', 'synthetic'],
          ['element', '(GC roots)', 'synthetic'],
          ['element', '(Global handles)', 'synthetic'],
          ['internal', 'Object', 'object'],
        ]);
      });

      it('leak.mjs: the path shows a context created after the first snapshot', async () => {
        const row = asyncRow(leak.json, 'fixture_null_resource_leak');
        const { manifest } = leak.json.capture;
        const first = new HeapGraph(await loadSnapshot(join(manifest.outDir, manifest.snapshots[0]!.file)));
        expect(first.ordinalOfId(row.retainingPath!.at(-1)!.id)).toBe(NONE);
      });
    }
  });
}
