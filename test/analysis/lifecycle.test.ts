import { spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { LEAK_KINDS } from '../../src/analysis/leak-kinds.js';
import { BUILTIN_ASYNC_TYPES } from '../../src/ledger/builtin-async-types.js';
import { captureScenario, fixturesDir, type CaptureJson } from '../helpers/attribution-capture.js';
import { repoRoot } from '../helpers/run-cli.js';

/**
 * The lifecycle ledger from Node's own trace events beside the heap, leak
 * kinds with fix hints, and native memory beside the heap, on every fixture.
 * The kinds are inferred here as they are for raw snapshots and attach:
 * without the native call-site ledger (--no-native-ledger), whose exact kinds
 * test/native-ledger/ covers.
 */
const HEAP_ONLY = ['--no-native-ledger'];
const CASES = [
  // Nothing of the name released and no resource collected: napi_async_init and async work look the same from JavaScript.
  { folder: 'null-resource', name: 'fixture_null_resource_leak', iterations: 100, warmup: 4, open: [4, 104, 204], created: [4, 104, 204], kinds: ['missing-destroy', 'async-work-not-deleted'] },
  // The resources were collected: only napi_async_init holds one weakly.
  { folder: 'js-resource', name: 'fixture_js_resource_leak', iterations: 100, warmup: 4, open: [4, 104, 204], created: [4, 104, 204], kinds: ['missing-destroy'] },
  { folder: 'error-path', name: 'fixture_error_path_leak', iterations: 100, warmup: 4, open: [1, 26, 51], created: [4, 104, 204], kinds: ['error-path'] },
  { folder: 'shared-context', name: 'fixture_shared_context_leak', iterations: 100, warmup: 4, open: [8, 208, 408], created: [12, 312, 612], kinds: ['shared-context'] },
  { folder: 'worker-teardown', name: 'fixture_worker_teardown_leak', iterations: 10, warmup: 2, open: [4, 24, 44], created: [4, 24, 44], kinds: ['no-env-cleanup-hook'] },
  // Queued and completed (before = after): async work first, a context used with napi_make_callback second.
  { folder: 'async-work', name: 'fixture_async_work_leak', iterations: 100, warmup: 4, open: [4, 104, 204], created: [4, 104, 204], kinds: ['async-work-not-deleted', 'missing-destroy'] },
  // Node's cleanup queue grew by one hook per context: threadsafe functions first.
  { folder: 'tsfn', name: 'fixture_tsfn_leak', iterations: 100, warmup: 4, open: [4, 104, 204], created: [4, 104, 204], kinds: ['tsfn-not-released', 'missing-destroy', 'async-work-not-deleted'] },
  { folder: 'callback-scope', name: 'fixture_callback_scope_leak', iterations: 100, warmup: 4, open: [4, 104, 204], created: [4, 104, 204], kinds: ['unclosed-callback-scope'] },
] as const;

const scratch = mkdtempSync(join(tmpdir(), 'napi-heapdiff-lifecycle-'));

describe.each(CASES)('$folder: ledger and leak kind', (c) => {
  let leak: CaptureJson;
  let ok: CaptureJson;
  beforeAll(() => {
    leak = captureScenario(join(fixturesDir, c.folder, 'leak.mjs'), { iterations: c.iterations, snapshots: 3, warmup: c.warmup, outDir: join(scratch, `${c.folder}-leak`), extra: HEAP_ONLY }).json;
    ok = captureScenario(join(fixturesDir, c.folder, 'ok.mjs'), { iterations: c.iterations, snapshots: 3, warmup: c.warmup, outDir: join(scratch, `${c.folder}-ok`), extra: HEAP_ONLY }).json;
  });

  it('ledger counts per snapshot are exact; the correct twin ends with every context destroyed', () => {
    expect(leak.ledger).toEqual({ found: true });
    const row = leak.asyncContexts.find((r) => r.name === c.name)!;
    expect(row.ledger).toEqual({ created: [...c.created], destroyed: c.created.map((n, i) => n - c.open[i]!), open: [...c.open] });
    const twin = ok.asyncContexts.find((r) => r.name === c.name.replace(/_leak$/, '_ok'))!;
    expect(twin.ledger!.open).toEqual([0, 0, 0]);
    expect(twin.ledger!.created).toEqual(twin.ledger!.destroyed);
    expect(twin.leakKind).toBeNull();
  });

  it(`is labelled ${c.kinds.join(' or ')}, with the fix of each in the JSON; the correct twin has no kind and no native-memory leak`, () => {
    const row = leak.asyncContexts.find((r) => r.name === c.name)!;
    expect(row.leakKind!.candidates).toEqual([...c.kinds]);
    expect(row.leakKind!.certain).toBe(c.kinds.length === 1);
    for (const kind of c.kinds) expect(row.leakKind!.hint).toContain(LEAK_KINDS[kind].hint);
    expect(ok.nativeMemory!.verdict).not.toBe('leak');
    expect(ok.verdict).toBe('clean');
  });
});

describe('a kind rests on evidence tied to its own group, never on a coincidence of rates', () => {
  it('coincident-rates: two plain contexts and an unrelated strong napi_ref to a function, all at 1 per iteration: missing destroy, missing destroy, leaked napi_ref — no threadsafe function anywhere', () => {
    const run = captureScenario(join(fixturesDir, 'coincident-rates', 'leak.mjs'), { iterations: 100, snapshots: 3, warmup: 4, outDir: join(scratch, 'coincident'), extra: HEAP_ONLY });
    expect(run.code, run.stderr).toBe(1);
    const rows = Object.fromEntries(run.json.asyncContexts.map((row) => [row.name, row]));
    expect(Object.keys(rows).sort()).toEqual(['fixture_coincident_null', 'fixture_coincident_object']);
    for (const row of Object.values(rows)) {
      expect([row.live, row.perIteration, row.verdict]).toEqual([[4, 104, 204], 1, 'leak']);
      expect(row.leakKind!.kind).toBe('missing-destroy');
      expect(row.leakKind!.candidates).not.toContain('tsfn-not-released');
    }
    // The context whose resource was collected can only be napi_async_init: certain.
    expect(rows.fixture_coincident_object!.leakKind).toMatchObject({ certain: true, candidates: ['missing-destroy'] });
    // The NULL-resource one looks like async work never queued too; the cleanup queue rules threadsafe functions out.
    expect(rows.fixture_coincident_null!.leakKind).toMatchObject({ certain: false, candidates: ['missing-destroy', 'async-work-not-deleted'] });
    expect(rows.fixture_coincident_null!.leakKind!.evidence).toContain("Node's cleanup queue grew by 0 hooks, fewer than the 200 that threadsafe functions would add");
    const fn = run.json.references.find((row) => row.name === 'fixtureCoincidentCallback')!;
    expect([fn.live, fn.perIteration, fn.verdict]).toEqual([[4, 104, 204], 1, 'leak']);
    expect(fn.leakKind).toMatchObject({ kind: 'leaked-reference', certain: true, candidates: ['leaked-reference'] });
    expect(run.stdout).not.toContain('threadsafe function never released');
    const correct = captureScenario(join(fixturesDir, 'coincident-rates', 'ok.mjs'), { iterations: 100, snapshots: 3, warmup: 4, outDir: join(scratch, 'coincident-ok') });
    expect(correct.code, correct.stderr).toBe(0);
  });
});

describe('native-only and native-memory leaks', () => {
  it('js-resource: the resources were collected, so the heap keeps nothing; reported as a native-only leak with its exact count', () => {
    const run = captureScenario(join(fixturesDir, 'js-resource', 'leak.mjs'), { iterations: 50, snapshots: 2, warmup: 0, outDir: join(scratch, 'js-native-only') });
    const row = run.json.asyncContexts.find((r) => r.name === 'fixture_js_resource_leak')!;
    expect(row.ledger!.open).toEqual([0, 50]);
    expect(row.resourcesCollected).toBe(50);
    expect(row.retainedSize).toBe(0);
    expect(row.retainingPath).toBeNull();
    expect(row.explanation).toMatch(/^resource collected: native-only leak — 50 open context\(s\) whose JS resource was garbage-collected/);
    expect(run.stdout).toContain('fixture_js_resource_leak: resource collected: native-only leak');
  });

  it('native-memory: the heap is flat but the C allocator climbs 64 KiB per iteration: a failing native-memory group at 3 snapshots, with the valgrind command', () => {
    const run = captureScenario(join(fixturesDir, 'native-memory', 'leak.mjs'), { iterations: 100, snapshots: 3, warmup: 4, outDir: join(scratch, 'native-memory') });
    expect(run.code, run.stderr).toBe(1);
    const { memory, nativeMemory } = run.json;
    expect(run.json.asyncContexts.every((row) => row.verdict !== 'leak')).toBe(true);
    expect(memory.readings).toHaveLength(3);
    expect(memory.readings.every((r) => typeof r?.mallocInUse === 'number')).toBe(true);
    expect(nativeMemory!.measure).toBe('malloc-in-use');
    expect(nativeMemory!.verdict).toBe('leak');
    // 100 × 64 KiB at each step: 6,553,600 bytes, give or take the allocator's bookkeeping.
    const steps = nativeMemory!.live.slice(1).map((bytes, i) => bytes - nativeMemory!.live[i]!);
    for (const step of steps) expect(Math.abs(step - 6_553_600)).toBeLessThan(600_000);
    expect(Math.abs(nativeMemory!.perIteration! - 65_536)).toBeLessThan(6_000);
    expect(nativeMemory!.leakKind!.kind).toBe('native-memory');
    expect(nativeMemory!.explanation).toMatch(/; no async-context group grew at every step, so open contexts do not account for it$/);
    expect(nativeMemory!.valgrind).toMatch(/^valgrind --leak-check=full /);
    expect(run.stdout).toContain(`confirm: ${nativeMemory!.valgrind}`);
    expect(run.stdout).toMatch(/\nLEAK: \(native memory\) \+1\d\.\d MB \(\+6\d kB\/iteration\)\n$/);
    const correct = captureScenario(join(fixturesDir, 'native-memory', 'ok.mjs'), { iterations: 100, snapshots: 3, warmup: 4, outDir: join(scratch, 'native-memory-ok') });
    expect(correct.code, correct.stderr).toBe(0);
    expect(correct.json.nativeMemory!.verdict).not.toBe('leak');
  });

  it('wrapped-weak-ref: a weak reference per wrapped object, never deleted: nothing in the JS heap, no async context — native memory fails at 3 snapshots; the twin passes', () => {
    const run = captureScenario(join(fixturesDir, 'wrapped-weak-ref', 'leak.mjs'), { iterations: 100, snapshots: 3, warmup: 10, outDir: join(scratch, 'wrapped-weak-ref') });
    expect(run.code, run.stderr).toBe(1);
    expect(run.json.asyncContexts).toEqual([]);
    expect(run.json.references).toEqual([]);
    expect(run.json.nativeMemory).toMatchObject({ name: '(native memory)', measure: 'malloc-in-use', verdict: 'leak', leakKind: { kind: 'native-memory', certain: true } });
    // 1000 references per iteration (Node's Reference objects, ~80 bytes each) at every step.
    expect(run.json.nativeMemory!.perIteration).toBeGreaterThan(60_000);
    const correct = captureScenario(join(fixturesDir, 'wrapped-weak-ref', 'ok.mjs'), { iterations: 100, snapshots: 3, warmup: 10, outDir: join(scratch, 'wrapped-weak-ref-ok') });
    expect(correct.code, correct.stderr).toBe(0);
    expect(correct.json.nativeMemory!.verdict).not.toBe('leak');
    expect(correct.json.verdict).toBe('clean');
  });
});

describe('the built-in async types', () => {
  it('the ledger skips exactly the types the agent skips', () => {
    const agent = spawnSync(process.execPath, ['-p', `[...require(${JSON.stringify(join(repoRoot, 'dist/agent/agent.cjs'))}).BUILTIN_TYPES].sort().join(',')`], { encoding: 'utf8' });
    expect(agent.stdout.trim()).toBe([...BUILTIN_ASYNC_TYPES].sort().join(','));
  });
});
