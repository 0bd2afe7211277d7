import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { classifyAsyncLeak, classifyReferenceLeak, LEAK_KINDS, type AsyncEvidence } from '../../src/analysis/leak-kinds.js';
import { buildLedger } from '../../src/ledger/ledger.js';
import { readAsyncTraceEvents, type AsyncTraceEvent } from '../../src/ledger/trace-events.js';
import { repoRoot } from '../helpers/run-cli.js';

const notBuiltin = (name: string) => !name.startsWith('fixture_') && !name.startsWith('t_');

describe('ledger from Node trace events', () => {
  it('counts begins and ends per name from a real traced process, including contexts whose resource was collected', () => {
    const dir = mkdtempSync(join(tmpdir(), 'napi-heapdiff-trace-'));
    const script = `
      const leak = await import(${JSON.stringify(join(repoRoot, 'native-fixtures/null-resource/leak.mjs'))});
      const ok = await import(${JSON.stringify(join(repoRoot, 'native-fixtures/null-resource/ok.mjs'))});
      const js = await import(${JSON.stringify(join(repoRoot, 'native-fixtures/js-resource/leak.mjs'))});
      for (let i = 0; i < 100; i++) leak.iteration(i);
      for (let i = 0; i < 50; i++) js.iteration(i);
      for (let i = 0; i < 30; i++) ok.iteration(i);
      globalThis.gc(); await new Promise((r) => setImmediate(r)); await new Promise((r) => setImmediate(r));`;
    const run = spawnSync(process.execPath, ['--expose-gc', '--trace-event-categories', 'node.async_hooks', '--trace-event-file-pattern', join(dir, 'trace-${pid}-${rotation}.log'), '--input-type=module', '-e', script], { encoding: 'utf8' });
    expect(run.status, run.stderr).toBe(0);
    const files = readdirSync(dir).map((f) => join(dir, f));
    const ledger = buildLedger(readAsyncTraceEvents(files), { snapshotTimes: [Number.MAX_SAFE_INTEGER], isBuiltin: notBuiltin });
    const byName = Object.fromEntries(ledger.names.map((l) => [l.name, [l.created, l.destroyed, l.open]]));
    expect(byName).toEqual({
      fixture_null_resource_leak: [100, 0, 100],
      fixture_js_resource_leak: [50, 0, 50],
      fixture_null_resource_ok: [30, 30, 0],
    });
  });

  it('splits counts into windows ending at each snapshot and spreads open contexts over iterations', () => {
    const ev = (phase: 'b' | 'e', name: string, asyncId: number, ts: number): AsyncTraceEvent => ({ phase, name, asyncId, ts, pid: 1 });
    // Iterations start at 10, 20, 30, 40; snapshots at 5 (before) and 50 (after).
    // t_err leaks in iterations 1 and 3 only; t_all leaks in every iteration.
    const events = [
      ev('b', 't_err', 1, 11), ev('e', 't_err', 1, 12),
      ev('b', 't_err', 2, 21),
      ev('b', 't_err', 3, 31), ev('e', 't_err', 3, 32),
      ev('b', 't_err', 4, 41),
      ev('b', 't_all', 5, 13), ev('b', 't_all', 6, 23), ev('b', 't_all', 7, 33), ev('b', 't_all', 8, 43),
      ev('b', 'PROMISE', 9, 14),
    ];
    const ledger = buildLedger(events, { snapshotTimes: [5, 50], iterationStarts: [10, 20, 30, 40], isBuiltin: notBuiltin });
    const err = ledger.names.find((l) => l.name === 't_err')!;
    expect(err.windows).toEqual([{ created: 0, destroyed: 0, open: 0 }, { created: 4, destroyed: 2, open: 2 }]);
    expect(err.iterations).toEqual({ measured: 4, withOpenContexts: 2, maxOpenPerIteration: 1, openPerIteration: 0.5 });
    // The ids still open at the last snapshot, for the join with the agent's records.
    expect(err.openIdsAtLast).toEqual([2, 4]);
    expect(ledger.names.find((l) => l.name === 't_all')!.iterations).toEqual({ measured: 4, withOpenContexts: 4, maxOpenPerIteration: 1, openPerIteration: 1 });
    expect(ledger.names.map((l) => l.name)).toEqual(['t_err', 't_all']);
    // Built-in types count for the first id the trace saw begin.
    expect(ledger.firstAsyncId).toBe(1);
  });
});

describe('leak kinds', () => {
  const base: AsyncEvidence = {
    growth: 100,
    perIteration: 1,
    counters: { init: 100, destroy: 0, before: 0, after: 0 },
    unclosedScopesGrowth: 0,
    workerTeardownGrowth: 0,
    iterations: undefined,
    initsPerIteration: 1,
    resourcesCollected: 0,
    cleanupHooksGrowth: 0,
  };
  it.each([
    ['resource collected: only napi_async_init holds one weakly', { ...base, resourcesCollected: 100 }, ['missing-destroy']],
    ['error path (ledger)', { ...base, perIteration: 0.25, counters: { init: 100, destroy: 75, before: 0, after: 0 }, iterations: { measured: 100, withOpenContexts: 25, maxOpenPerIteration: 1 } }, ['error-path']],
    ['error path (rate, no ledger)', { ...base, perIteration: 0.25, counters: { init: 100, destroy: 75, before: 0, after: 0 } }, ['error-path']],
    ['shared context', { ...base, perIteration: 2, initsPerIteration: 3, counters: { init: 300, destroy: 100, before: 0, after: 0 }, iterations: { measured: 100, withOpenContexts: 100, maxOpenPerIteration: 2 } }, ['shared-context']],
    ['worker teardown', { ...base, perIteration: 2, workerTeardownGrowth: 20 }, ['no-env-cleanup-hook']],
    ['callback scope', { ...base, counters: { init: 100, destroy: 0, before: 100, after: 0 }, unclosedScopesGrowth: 100 }, ['unclosed-callback-scope']],
    // Nothing released, no collected resource: the API cannot be told from JavaScript.
    ['init without destroy, cleanup queue flat', base, ['missing-destroy', 'async-work-not-deleted']],
    ['completed callbacks, cleanup queue flat', { ...base, counters: { init: 100, destroy: 0, before: 100, after: 100 } }, ['async-work-not-deleted', 'missing-destroy']],
    ['cleanup queue grew enough for threadsafe functions', { ...base, cleanupHooksGrowth: 100 }, ['tsfn-not-released', 'missing-destroy', 'async-work-not-deleted']],
    ['cleanup queue not measured', { ...base, cleanupHooksGrowth: null }, ['missing-destroy', 'async-work-not-deleted', 'tsfn-not-released']],
    ['cleanup queue grew, but less than the group', { ...base, cleanupHooksGrowth: 99 }, ['missing-destroy', 'async-work-not-deleted']],
    ['no agent', { ...base, counters: null }, ['missing-destroy', 'async-work-not-deleted']],
  ] as const)('%s', (_label, evidence, candidates) => {
    const label = classifyAsyncLeak(evidence);
    expect(label.candidates).toEqual(candidates);
    expect(label.kind).toBe(candidates[0]);
    expect(label.certain).toBe(candidates.length === 1);
    // An uncertain label names every candidate and gives each one's fix.
    for (const kind of candidates) {
      expect(label.label).toContain(LEAK_KINDS[kind].label);
      expect(label.hint).toContain(LEAK_KINDS[kind].hint);
    }
  });

  it('a function held by a strong handle: a napi_ref unless the cleanup queue grew enough for threadsafe functions', () => {
    expect(classifyReferenceLeak(100, true, 0).candidates).toEqual(['leaked-reference']);
    expect(classifyReferenceLeak(100, true, 0).evidence).toBe("100 more functions held by strong global handles; Node's cleanup queue grew by 0 hooks, fewer than the 100 that threadsafe functions would add");
    expect(classifyReferenceLeak(100, true, 100).candidates).toEqual(['tsfn-not-released', 'leaked-reference']);
    expect(classifyReferenceLeak(100, true, null).candidates).toEqual(['leaked-reference', 'tsfn-not-released']);
    expect(classifyReferenceLeak(100, false, 100).candidates).toEqual(['leaked-reference']);
  });
});
