import { spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { BUILTIN_ASYNC_TYPES } from '../src/ledger/builtin-async-types.js';
import { captureScenario, fixturesDir, type CaptureJson } from './helpers/attribution-capture.js';
import { repoRoot } from './helpers/run-cli.js';

/**
 * The lifecycle ledger from Node's own trace events beside the heap, leak
 * kinds with fix hints, and native memory beside the heap, on every fixture.
 */
const CASES = [
  { folder: 'null-resource', name: 'fixture_null_resource_leak', iterations: 100, warmup: 4, open: [4, 104, 204], created: [4, 104, 204], kind: 'missing-destroy' },
  { folder: 'js-resource', name: 'fixture_js_resource_leak', iterations: 100, warmup: 4, open: [4, 104, 204], created: [4, 104, 204], kind: 'missing-destroy' },
  { folder: 'error-path', name: 'fixture_error_path_leak', iterations: 100, warmup: 4, open: [1, 26, 51], created: [4, 104, 204], kind: 'error-path' },
  { folder: 'shared-context', name: 'fixture_shared_context_leak', iterations: 100, warmup: 4, open: [8, 208, 408], created: [12, 312, 612], kind: 'shared-context' },
  { folder: 'worker-teardown', name: 'fixture_worker_teardown_leak', iterations: 10, warmup: 2, open: [4, 24, 44], created: [4, 24, 44], kind: 'no-env-cleanup-hook' },
  { folder: 'async-work', name: 'fixture_async_work_leak', iterations: 100, warmup: 4, open: [4, 104, 204], created: [4, 104, 204], kind: 'async-work-not-deleted' },
  { folder: 'tsfn', name: 'fixture_tsfn_leak', iterations: 100, warmup: 4, open: [4, 104, 204], created: [4, 104, 204], kind: 'tsfn-not-released' },
  { folder: 'callback-scope', name: 'fixture_callback_scope_leak', iterations: 100, warmup: 4, open: [4, 104, 204], created: [4, 104, 204], kind: 'unclosed-callback-scope' },
] as const;

const scratch = mkdtempSync(join(tmpdir(), 'napi-heapdiff-lifecycle-'));

describe.each(CASES)('$folder: ledger and leak kind', (c) => {
  let leak: CaptureJson;
  let ok: CaptureJson;
  beforeAll(() => {
    leak = captureScenario(join(fixturesDir, c.folder, 'leak.mjs'), { iterations: c.iterations, snapshots: 3, warmup: c.warmup, outDir: join(scratch, `${c.folder}-leak`) }).json;
    ok = captureScenario(join(fixturesDir, c.folder, 'ok.mjs'), { iterations: c.iterations, snapshots: 3, warmup: c.warmup, outDir: join(scratch, `${c.folder}-ok`) }).json;
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

  it(`is labelled ${c.kind}, with its fix hint in the JSON and on the terminal`, () => {
    const row = leak.asyncContexts.find((r) => r.name === c.name)!;
    expect(row.leakKind?.kind).toBe(c.kind);
    expect(row.leakKind!.hint.length).toBeGreaterThan(20);
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

  it('native-memory: the heap is flat but RSS climbs 64 KiB per iteration: native leak suspected, with the valgrind command', () => {
    const run = captureScenario(join(fixturesDir, 'native-memory', 'leak.mjs'), { iterations: 100, snapshots: 4, warmup: 4, outDir: join(scratch, 'native-memory') });
    const { memory } = run.json;
    expect(run.json.asyncContexts.every((row) => row.verdict !== 'leak')).toBe(true);
    expect(memory.readings).toHaveLength(4);
    expect(memory.perIteration!.rss).toBeGreaterThanOrEqual(60_000); // 64 KiB leaked per iteration, plus snapshot-writer slack
    expect(Math.abs(memory.perIteration!.heapUsed)).toBeLessThan(4_096);
    expect(memory.nativeLeakSuspected!.names).toEqual([]);
    expect(memory.nativeLeakSuspected!.message).toMatch(/^native leak suspected: RSS grows \d+ B\/iteration while the JS heap grows -?\d+ B\/iteration; no async context stayed open in that window/);
    expect(memory.nativeLeakSuspected!.valgrind).toMatch(/^valgrind --leak-check=full /);
    expect(run.stdout).toContain(memory.nativeLeakSuspected!.valgrind);
    const correct = captureScenario(join(fixturesDir, 'native-memory', 'ok.mjs'), { iterations: 100, snapshots: 4, warmup: 4, outDir: join(scratch, 'native-memory-ok') });
    expect(correct.json.memory.nativeLeakSuspected).toBeNull();
  });
});

describe('the built-in async types', () => {
  it('the ledger skips exactly the types the agent skips', () => {
    const agent = spawnSync(process.execPath, ['-p', `[...require(${JSON.stringify(join(repoRoot, 'dist/agent/agent.cjs'))}).BUILTIN_TYPES].sort().join(',')`], { encoding: 'utf8' });
    expect(agent.stdout.trim()).toBe([...BUILTIN_ASYNC_TYPES].sort().join(','));
  });
});
