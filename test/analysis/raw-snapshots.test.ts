import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AnalysisResult } from '../../src/analysis/result.js';
import { UNNAMED_ASYNC_RESOURCE } from '../../src/analysis/rules/index.js';
import { HeapGraph } from '../../src/graph/heap-graph.js';
import { loadSnapshot } from '../../src/snapshot/load.js';
import {
  asyncRow,
  buildFixtures,
  diffSnapshots,
  fixturesDir,
  functionLocation,
  helperPath,
  lastLine,
  readMeta,
  referenceRow,
  type CliRun,
} from '../helpers/attribution-capture.js';

// Snapshots written by V8 in a plain `node --expose-gc` process, WITHOUT the
// agent (test/helpers/attribution-raw-snapshots.mjs), then fed to
// `napi-heapdiff diff --iterations N`. No async-context name can be in them,
// so a leaked NULL-resource context is found from heap shape alone (a strong
// global handle to an empty Object) and reported under UNNAMED_ASYNC_RESOURCE;
// a leaked napi_ref is found by what it holds (a closure: its name and source
// location). Warm-up 4, then 100 iterations between snapshots: 4, 104, 204
// leaked objects at the three snapshots.

const ITERATIONS = 100;
const WARMUP = 4;
const SNAPSHOTS = 3;
const NAME_NOTE_START = 'Async contexts grew but these snapshots carry no names';

const scratch = mkdtempSync(join(tmpdir(), 'napi heapdiff raw-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

interface RawSeries {
  files: string[];
  iterationsRun: number;
  pid: number;
}

/** Runs the fixture module in a child without the agent and returns its snapshot files. */
function rawSnapshots(module: string, outDir: string, extra: string[] = []): RawSeries {
  const child = spawnSync(
    process.execPath,
    ['--expose-gc', helperPath('attribution-raw-snapshots.mjs'), module, outDir, String(ITERATIONS), String(SNAPSHOTS), String(WARMUP), ...extra],
    { encoding: 'utf8', timeout: 120_000, env: { ...process.env, NODE_OPTIONS: '' } },
  );
  if (child.status !== 0) throw new Error(`raw snapshot child for ${module} failed (${child.status} ${child.signal}): ${child.stderr}`);
  return JSON.parse(child.stdout) as RawSeries;
}

/** Raw snapshots of <folder>/<twin>.mjs, then `diff <files> --iterations 100 --json`. */
function rawDiff(folder: string, twin: 'leak' | 'ok', extra: string[] = []): { series: RawSeries; diff: CliRun<AnalysisResult> } {
  const label = `${folder}-${twin}${extra.length > 0 ? '-v8-names' : ''}`;
  const series = rawSnapshots(join(fixturesDir, folder, `${twin}.mjs`), join(scratch, label), extra);
  const diff = diffSnapshots(series.files, { iterations: ITERATIONS, jsonFile: join(scratch, `${label}.json`) });
  return { series, diff };
}

beforeAll(() => {
  const build = buildFixtures();
  expect(build.status, build.stderr).toBe(0);
});

describe('null-resource without the agent', () => {
  let leak: { series: RawSeries; diff: CliRun<AnalysisResult> };
  let ok: { series: RawSeries; diff: CliRun<AnalysisResult> };
  beforeAll(() => {
    leak = rawDiff('null-resource', 'leak');
    ok = rawDiff('null-resource', 'ok');
  });

  it('the child wrote 3 snapshots after 4, 104 and 204 iterations, none carrying agent records', () => {
    expect(leak.series.files.map((f) => basename(f))).toEqual(['raw-1.heapsnapshot', 'raw-2.heapsnapshot', 'raw-3.heapsnapshot']);
    expect(leak.series.iterationsRun).toBe(WARMUP + 2 * ITERATIONS);
    expect(leak.diff.json.agent).toEqual({ found: false, node: null });
    expect(leak.diff.json.snapshots.map((s) => s.iterations)).toEqual([0, 100, 200]);
    // File names without a pid, no manifest: counts only.
    expect(leak.diff.json.comparison).toBe('aggregate');
  });

  it(`leak.mjs: exactly one async-context group, unnamed, live 4 → 104 → 204, +200, 1/iteration, verdict leak; exit 1`, () => {
    const { json, code, stdout, stderr } = leak.diff;
    expect(code, stderr).toBe(1);
    expect(json.verdict).toBe('leak');
    expect(json.asyncContexts.map((row) => row.name)).toEqual([UNNAMED_ASYNC_RESOURCE]);
    const row = asyncRow(json, UNNAMED_ASYNC_RESOURCE);
    expect(row.named).toBe(false);
    expect(row.live).toEqual([4, 104, 204]);
    expect(row.growth).toBe(200);
    expect(row.perIteration).toBe(1);
    expect(row.verdict).toBe('leak');
    expect(row.identity).toBeNull();
    expect(row.counters).toBeNull();
    expect(row.unclosedCallbackScopes).toBeNull();
    expect(row.creationSites).toEqual([]);
    expect(row.retainingPath!.map((step) => [step.node, step.nodeType])).toEqual([
      ['', 'synthetic'],
      ['(GC roots)', 'synthetic'],
      ['(Global handles)', 'synthetic'],
      ['Object', 'object'],
    ]);
    // The native leak holds no JS function: no reference group changed.
    expect(json.references).toEqual([]);
    expect(lastLine(stdout)).toBe(`LEAK: ${UNNAMED_ASYNC_RESOURCE} +200 (1.00/iteration)`);
  });

  it('leak.mjs: a note says how to get the names (take the snapshots with the agent)', () => {
    const { json, stdout } = leak.diff;
    expect(json.notes).toHaveLength(1);
    const note = json.notes[0]!;
    expect(note.startsWith(NAME_NOTE_START)).toBe(true);
    expect(note).toContain('node --require napi-heapdiff/agent');
    expect(note).toContain('napi-heapdiff capture');
    expect(stdout).toContain(`note: ${note}`);
  });

  it('ok.mjs: no group at all, no note; verdict clean, exit 0', () => {
    const { json, code, stdout, stderr } = ok.diff;
    expect(code, stderr).toBe(0);
    expect(json.verdict).toBe('clean');
    expect(json.asyncContexts).toEqual([]);
    expect(json.references).toEqual([]);
    expect(json.notes).toEqual([]);
    expect(lastLine(stdout)).toBe('no leak: no group grew at every step');
  });
});

describe('reference without the agent', () => {
  const leakModule = join(fixturesDir, 'reference', 'leak.mjs');
  let leak: { series: RawSeries; diff: CliRun<AnalysisResult> };
  let ok: { series: RawSeries; diff: CliRun<AnalysisResult> };
  beforeAll(() => {
    leak = rawDiff('reference', 'leak');
    ok = rawDiff('reference', 'ok');
  });

  it('leak.mjs: fixtureLeakedCallback at its own line and column, live 4 → 104 → 204, +200, 1/iteration, verdict leak; exit 1', () => {
    const { json, code, stdout, stderr } = leak.diff;
    expect(code, stderr).toBe(1);
    expect(json.verdict).toBe('leak');
    expect(json.agent.found).toBe(false);
    expect(json.comparison).toBe('aggregate');
    expect(json.asyncContexts).toEqual([]);
    expect(json.references.map((row) => row.name)).toEqual(['fixtureLeakedCallback']);
    const row = referenceRow(json, 'fixtureLeakedCallback');
    const meta = readMeta(leakModule);
    const where = functionLocation(leakModule, 'fixtureLeakedCallback');
    expect(where.line).toBe(meta.retainedFunction!.line);
    expect(row.location).toBe(`${pathToFileURL(leakModule).href}:${meta.retainedFunction!.line}:${where.column}`);
    expect(row.live).toEqual([4, 104, 204]);
    expect(row.growth).toBe(200);
    expect(row.perIteration).toBe(1);
    expect(row.verdict).toBe('leak');
    expect(row.identity).toBeNull();
    // A closure's name needs no agent: no note about names.
    expect(json.notes).toEqual([]);
    expect(lastLine(stdout)).toBe('LEAK: fixtureLeakedCallback +200 (1.00/iteration)');
  });

  it('ok.mjs: no reference or async-context group changed; verdict clean, exit 0', () => {
    const { json, code, stderr } = ok.diff;
    expect(code, stderr).toBe(0);
    expect(json.verdict).toBe('clean');
    expect(json.references).toEqual([]);
    expect(json.asyncContexts).toEqual([]);
    expect(json.notes).toEqual([]);
  });
});

describe('without the agent, the kind rests on what the heap can show', () => {
  it('async-work leak.mjs (never napi_delete_async_work): one unnamed row whose kind lists async work among its candidates, never "missing destroy" alone', () => {
    const { diff } = rawDiff('async-work', 'leak');
    expect(diff.code, diff.stderr).toBe(1);
    expect(diff.json.asyncContexts.map((row) => row.name)).toEqual([UNNAMED_ASYNC_RESOURCE]);
    const row = asyncRow(diff.json, UNNAMED_ASYNC_RESOURCE);
    expect(row.live).toEqual([4, 104, 204]);
    expect(row.leakKind).toMatchObject({ certain: false, candidates: ['missing-destroy', 'async-work-not-deleted'] });
    expect(row.leakKind!.label).toBe('missing destroy or async work never deleted (cannot tell which from this evidence)');
    expect(row.leakKind!.hint).toContain('napi_delete_async_work');
    // The cleanup queue did not grow: threadsafe functions are ruled out, and the evidence says so with the numbers.
    expect(diff.json.memory.cleanupHooksAdded).toEqual([0, 0, 0]);
    expect(row.leakKind!.evidence).toBe("no hook counts (no agent); Node's cleanup queue grew by 0 hooks, fewer than the 200 that threadsafe functions would add; napi_async_init, async work never queued and threadsafe functions never called look the same from JavaScript");
    expect(diff.stdout).toContain(`${UNNAMED_ASYNC_RESOURCE}: missing destroy or async work never deleted (cannot tell which from this evidence) — fix: if missing destroy:`);
  });

  it('tsfn leak.mjs (never released): the cleanup queue grew one hook per function, so threadsafe functions come first, for the context and for the function it holds', () => {
    const { diff } = rawDiff('tsfn', 'leak');
    expect(diff.code, diff.stderr).toBe(1);
    expect(diff.json.memory.cleanupHooksAdded).toEqual([0, 100, 200]);
    const row = asyncRow(diff.json, UNNAMED_ASYNC_RESOURCE);
    expect(row.live).toEqual([4, 104, 204]);
    expect(row.leakKind).toMatchObject({ kind: 'tsfn-not-released', certain: false, candidates: ['tsfn-not-released', 'missing-destroy', 'async-work-not-deleted'] });
    const fn = referenceRow(diff.json, 'fixtureTsfnCallback');
    expect(fn.leakKind).toMatchObject({ kind: 'tsfn-not-released', certain: false, candidates: ['tsfn-not-released', 'leaked-reference'] });
  });
});

describe('V8\'s default snapshot names carry the pid', () => {
  it('null-resource leak.mjs: same process by file name, so the unnamed group is diffed by object id (200 new, 4 kept); the path shown is of a new member', async () => {
    const { series, diff } = rawDiff('null-resource', 'leak', ['--v8-names']);
    expect(series.files.map((f) => basename(f))).toEqual(
      [1, 2, 3].map((seq) => expect.stringMatching(new RegExp(`^Heap\\.\\d+\\.\\d+\\.${series.pid}\\.0\\.00${seq}\\.heapsnapshot$`))),
    );
    expect(diff.code, diff.stderr).toBe(1);
    expect(diff.json.comparison).toBe('identity');
    const row = asyncRow(diff.json, UNNAMED_ASYNC_RESOURCE);
    expect(row.live).toEqual([4, 104, 204]);
    expect(row.identity).toEqual({ newAlive: 200, freed: 0, kept: 4 });
    // "Prefer a member that is new since the first snapshot" (analyze.ts): the
    // object at the end of the retaining path is not in the first snapshot.
    const member = row.retainingPath!.at(-1)!;
    expect([member.node, member.nodeType]).toEqual(['Object', 'object']);
    const first = new HeapGraph(await loadSnapshot(series.files[0]!));
    let inFirst = 0;
    for (let o = 0; o < first.nodeCount; o++) if (first.nodeId(o) === member.id) inFirst++;
    expect(inFirst).toBe(0);
  });
});
