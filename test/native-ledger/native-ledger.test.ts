import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { NativeSiteRow } from '../../src/analysis/result.js';
import { compileNativeHelper } from '../../src/native/compile.js';
import { buildFixtures, captureScenario, fixturesDir, type CaptureJson } from '../helpers/attribution-capture.js';
import { repoRoot } from '../helpers/run-cli.js';

// The native call-site ledger on every native fixture, both twins: the
// LD_AUDIT library counts each Node-API acquire/release per native call
// site, the capture cuts its counters at each snapshot, and the analysis
// reports, per site, the C function and file:line (fixtures are built with
// -g), acquired/released/open per snapshot, and the pair's exact kind.
// 2 warm-up iterations, then 10 per step: 3 snapshots at 2, 12, 22 calls.

const scratch = mkdtempSync(join(tmpdir(), 'napi-heapdiff-native-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

beforeAll(() => {
  expect(buildFixtures().status).toBe(0);
  // The library is compiled on first use; a machine without it could not run these tests at all.
  expect(compileNativeHelper('napi-ledger-audit').unavailable).toBeUndefined();
});

interface Site {
  pair: string;
  /** The async resource name the site passed (named pairs only). */
  asyncName?: string;
  /** Each frame's "function (file.c:line)", innermost first. */
  chain: string[];
  acquired: number[];
  released: number[];
  open: number[];
  weak?: number[];
}

const captures = new Map<string, CaptureJson>();
function capture(folder: string, twin: 'leak' | 'ok'): CaptureJson {
  const key = `${folder}/${twin}`;
  if (!captures.has(key)) captures.set(key, captureScenario(join(fixturesDir, folder, `${twin}.mjs`), { iterations: 10, snapshots: 3, warmup: 2, outDir: join(scratch, `${folder}-${twin}`) }).json);
  return captures.get(key)!;
}

const sitesOf = (json: CaptureJson): Site[] =>
  (json.nativeSites ?? []).map((row: NativeSiteRow) => ({
    pair: row.pair,
    ...(row.asyncName !== null ? { asyncName: row.asyncName } : {}),
    chain: row.frames.map((f) => f.text),
    acquired: row.acquired,
    released: row.released,
    open: row.live,
    ...(row.weak ? { weak: row.weak } : {}),
  }));

const byChain = (a: Site, b: Site) => (a.pair + a.chain.join('<') < b.pair + b.chain.join('<') ? -1 : 1);
const n = (a: number, b: number, c: number) => [a, b, c];
const calls = n(2, 12, 22);
const none = n(0, 0, 0);

/** Every acquisition site of each fixture twin, exactly. */
const EXPECTED: Record<string, { leak: Site[]; ok: Site[] }> = {
  'null-resource': {
    leak: [{ pair: 'async_init/async_destroy', asyncName: 'fixture_null_resource_leak', chain: ['async_init_named (null_resource.c:20)'], acquired: calls, released: none, open: calls }],
    ok: [{ pair: 'async_init/async_destroy', asyncName: 'fixture_null_resource_ok', chain: ['async_init_named (null_resource.c:20)'], acquired: calls, released: calls, open: none }],
  },
  'error-path': {
    // i % 4 === 3 skips the destroy: none of calls 0-1, 3 of 2-11, 5 of 0-21.
    leak: [{ pair: 'async_init/async_destroy', asyncName: 'fixture_error_path_leak', chain: ['Run (error_path.c:34)'], acquired: calls, released: n(2, 9, 17), open: n(0, 3, 5) }],
    ok: [{ pair: 'async_init/async_destroy', asyncName: 'fixture_error_path_ok', chain: ['Run (error_path.c:34)'], acquired: calls, released: calls, open: none }],
  },
  'shared-context': {
    leak: [{ pair: 'async_init/async_destroy', asyncName: 'fixture_shared_context_leak', chain: ['async_init_named (shared_context.c:20)'], acquired: n(6, 36, 66), released: calls, open: n(4, 24, 44) }],
    ok: [{ pair: 'async_init/async_destroy', asyncName: 'fixture_shared_context_ok', chain: ['async_init_named (shared_context.c:20)'], acquired: n(6, 36, 66), released: n(6, 36, 66), open: none }],
  },
  'async-work': {
    leak: [
      { pair: 'create_async_work/delete_async_work', asyncName: 'fixture_async_work_leak', chain: ['Queue (async_work.c:78)'], acquired: calls, released: none, open: calls },
      { pair: 'create_reference/delete_reference', chain: ['Queue (async_work.c:76)'], acquired: calls, released: calls, open: none, weak: none },
    ],
    ok: [
      { pair: 'create_async_work/delete_async_work', asyncName: 'fixture_async_work_ok', chain: ['Queue (async_work.c:78)'], acquired: calls, released: calls, open: none },
      { pair: 'create_reference/delete_reference', chain: ['Queue (async_work.c:76)'], acquired: calls, released: calls, open: none, weak: none },
    ],
  },
  tsfn: {
    leak: [{ pair: 'create_threadsafe_function/release_threadsafe_function', asyncName: 'fixture_tsfn_leak', chain: ['create_tsfn (tsfn.c:21)'], acquired: calls, released: none, open: calls }],
    ok: [
      { pair: 'create_reference/delete_reference', chain: ['Ok (tsfn.c:67)'], acquired: calls, released: calls, open: none, weak: none },
      { pair: 'create_threadsafe_function/release_threadsafe_function', asyncName: 'fixture_tsfn_ok', chain: ['create_tsfn (tsfn.c:21)'], acquired: calls, released: calls, open: none },
    ],
  },
  'callback-scope': {
    leak: [
      { pair: 'async_init/async_destroy', asyncName: 'fixture_callback_scope_leak', chain: ['OnTimer (callback_scope.c:41)'], acquired: calls, released: none, open: calls },
      { pair: 'create_reference/delete_reference', chain: ['Schedule (callback_scope.c:90)'], acquired: calls, released: calls, open: none, weak: none },
      { pair: 'open_callback_scope/close_callback_scope', chain: ['OnTimer (callback_scope.c:46)'], acquired: calls, released: none, open: calls },
      { pair: 'open_handle_scope/close_handle_scope', chain: ['OnTimer (callback_scope.c:34)'], acquired: calls, released: calls, open: none },
    ],
    ok: [
      { pair: 'async_init/async_destroy', asyncName: 'fixture_callback_scope_ok', chain: ['OnTimer (callback_scope.c:41)'], acquired: calls, released: calls, open: none },
      { pair: 'create_reference/delete_reference', chain: ['Schedule (callback_scope.c:90)'], acquired: calls, released: calls, open: none, weak: none },
      { pair: 'open_callback_scope/close_callback_scope', chain: ['OnTimer (callback_scope.c:46)'], acquired: calls, released: calls, open: none },
      { pair: 'open_handle_scope/close_handle_scope', chain: ['OnTimer (callback_scope.c:34)'], acquired: calls, released: calls, open: none },
    ],
  },
  reference: {
    leak: [{ pair: 'create_reference/delete_reference', chain: ['CreateReference (reference.c:18)'], acquired: calls, released: none, open: calls, weak: none }],
    ok: [{ pair: 'create_reference/delete_reference', chain: ['CreateReference (reference.c:18)'], acquired: calls, released: calls, open: none, weak: none }],
  },
  'wrapped-weak-ref': {
    // 1000 wraps per call; the leak twin's references stay open at refcount 0 (weak) after their objects are collected.
    leak: [
      { pair: 'open_handle_scope/close_handle_scope', chain: ['WrapMany (wrapped_weak_ref.c:42)'], acquired: n(2000, 12000, 22000), released: n(2000, 12000, 22000), open: none },
      { pair: 'wrap/delete_reference', chain: ['WrapMany (wrapped_weak_ref.c:48)'], acquired: n(2000, 12000, 22000), released: none, open: n(2000, 12000, 22000), weak: n(2000, 12000, 22000) },
    ],
    ok: [
      { pair: 'open_handle_scope/close_handle_scope', chain: ['WrapMany (wrapped_weak_ref.c:42)'], acquired: n(2000, 12000, 22000), released: n(2000, 12000, 22000), open: none },
      { pair: 'wrap/delete_reference', chain: ['WrapMany (wrapped_weak_ref.c:48)'], acquired: n(2000, 12000, 22000), released: n(2000, 12000, 22000), open: none, weak: none },
    ],
  },
  'helper-sites': {
    // One helper (open_context) wraps napi_async_init for three callers: three sites, by their chains.
    leak: [
      { pair: 'async_init/async_destroy', asyncName: 'fixture_helper_a', chain: ['open_context (helper_sites.c:17)', 'StartA (helper_sites.c:36)'], acquired: calls, released: none, open: calls },
      { pair: 'async_init/async_destroy', asyncName: 'fixture_helper_b', chain: ['open_context (helper_sites.c:17)', 'StartB (helper_sites.c:42)'], acquired: n(4, 24, 44), released: n(4, 24, 44), open: none },
      { pair: 'async_init/async_destroy', asyncName: 'fixture_helper_c', chain: ['open_context (helper_sites.c:17)', 'middle (helper_sites.c:29)', 'StartC (helper_sites.c:49)'], acquired: calls, released: none, open: calls },
    ],
    ok: [{ pair: 'async_init/async_destroy', asyncName: 'fixture_helper_b', chain: ['open_context (helper_sites.c:17)', 'StartB (helper_sites.c:42)'], acquired: n(4, 24, 44), released: n(4, 24, 44), open: none }],
  },
  threads: {
    // Threadsafe functions driven from a libuv pool thread and from a plain pthread.
    leak: [
      { pair: 'create_async_work/delete_async_work', asyncName: 'fixture_tsfn_pool_leak', chain: ['TsfnPool (threads.c:62)'], acquired: calls, released: calls, open: none },
      { pair: 'create_reference/delete_reference', chain: ['TsfnPool (threads.c:61)'], acquired: calls, released: calls, open: none, weak: none },
      { pair: 'create_threadsafe_function/release_threadsafe_function', asyncName: 'fixture_tsfn_native_leak', chain: ['TsfnNative (threads.c:93)'], acquired: calls, released: none, open: calls },
      { pair: 'create_threadsafe_function/release_threadsafe_function', asyncName: 'fixture_tsfn_pool_leak', chain: ['TsfnPool (threads.c:60)'], acquired: calls, released: none, open: calls },
    ],
    ok: [
      { pair: 'create_async_work/delete_async_work', asyncName: 'fixture_tsfn_pool_ok', chain: ['TsfnPool (threads.c:62)'], acquired: calls, released: calls, open: none },
      { pair: 'create_reference/delete_reference', chain: ['TsfnPool (threads.c:61)'], acquired: calls, released: calls, open: none, weak: none },
      { pair: 'create_threadsafe_function/release_threadsafe_function', asyncName: 'fixture_tsfn_native_ok', chain: ['TsfnNative (threads.c:93)'], acquired: calls, released: calls, open: none },
      { pair: 'create_threadsafe_function/release_threadsafe_function', asyncName: 'fixture_tsfn_pool_ok', chain: ['TsfnPool (threads.c:60)'], acquired: calls, released: calls, open: none },
    ],
  },
  'worker-teardown': {
    // Every call runs a Worker that opens 2 contexts and a reference: the calls come from worker threads.
    // The ok twin's env cleanup hook (registered once per environment, main thread included) releases them at teardown.
    leak: [
      { pair: 'async_init/async_destroy', asyncName: 'fixture_worker_teardown_leak', chain: ['Open (worker_teardown.c:87)'], acquired: n(4, 24, 44), released: none, open: n(4, 24, 44) },
      { pair: 'create_reference/delete_reference', chain: ['Open (worker_teardown.c:92)'], acquired: calls, released: none, open: calls, weak: none },
    ],
    ok: [
      { pair: 'add_env_cleanup_hook/remove_env_cleanup_hook', chain: ['napi_register_module_v1 (worker_teardown.c:146)'], acquired: n(3, 13, 23), released: none, open: n(1, 1, 1) },
      { pair: 'async_init/async_destroy', asyncName: 'fixture_worker_teardown_ok', chain: ['Open (worker_teardown.c:87)'], acquired: n(4, 24, 44), released: n(4, 24, 44), open: none },
      { pair: 'create_reference/delete_reference', chain: ['Open (worker_teardown.c:92)'], acquired: calls, released: calls, open: none, weak: none },
    ],
  },
  hooks: {
    leak: [
      { pair: 'add_async_cleanup_hook/remove_async_cleanup_hook', chain: ['AddAsyncHook (hooks.c:40)'], acquired: calls, released: none, open: calls },
      { pair: 'add_env_cleanup_hook/remove_env_cleanup_hook', chain: ['AddHook (hooks.c:25)'], acquired: calls, released: none, open: calls },
      { pair: 'create_reference/delete_reference', chain: ['ScopeTimer (hooks.c:88)'], acquired: calls, released: calls, open: none, weak: none },
      { pair: 'open_escapable_handle_scope/close_escapable_handle_scope', chain: ['Escapable (hooks.c:48)'], acquired: calls, released: calls, open: none },
      { pair: 'open_handle_scope/close_handle_scope', chain: ['OnTimer (hooks.c:68)'], acquired: calls, released: none, open: calls },
    ],
    ok: [
      { pair: 'add_async_cleanup_hook/remove_async_cleanup_hook', chain: ['AddAsyncHook (hooks.c:40)'], acquired: calls, released: calls, open: none },
      { pair: 'add_env_cleanup_hook/remove_env_cleanup_hook', chain: ['AddHook (hooks.c:25)'], acquired: calls, released: calls, open: none },
      { pair: 'create_reference/delete_reference', chain: ['ScopeTimer (hooks.c:88)'], acquired: calls, released: calls, open: none, weak: none },
      { pair: 'open_escapable_handle_scope/close_escapable_handle_scope', chain: ['Escapable (hooks.c:48)'], acquired: calls, released: calls, open: none },
      { pair: 'open_handle_scope/close_handle_scope', chain: ['OnTimer (hooks.c:68)'], acquired: calls, released: calls, open: none },
    ],
  },
};

describe.each(Object.keys(EXPECTED))('%s', (folder) => {
  it.each(['leak', 'ok'] as const)('%s twin: every acquisition site, exact per snapshot, with its C function and file:line', (twin) => {
    const json = capture(folder, twin);
    expect(json.capture.manifest.snapshots.map((s) => s.nativeLedger)).toEqual([1, 2, 3].map((i) => `native-${json.capture.manifest.snapshots[0]!.pid}-${i}.bin`));
    expect(sitesOf(json).sort(byChain)).toEqual([...EXPECTED[folder]![twin]].sort(byChain));
    if (twin === 'ok') {
      // Every correct twin ends with nothing open (but the main thread's own cleanup hook, which lives as long as it), and nothing fails.
      expect((json.nativeSites ?? []).filter((row) => row.live.some((count) => count > 0)).map((row) => row.pair)).toEqual(folder === 'worker-teardown' ? ['add_env_cleanup_hook/remove_env_cleanup_hook'] : []);
      expect(json.verdict).toBe('clean');
    }
  });
});

describe('native-only leaks become rows of their own, with their call site', () => {
  it('wrapped-weak-ref: 1000 weak references per iteration at WrapMany (wrapped_weak_ref.c:48) fail as one group; native memory is accounted for by them', () => {
    const json = capture('wrapped-weak-ref', 'leak');
    const site = json.nativeSites!.find((row) => row.pair === 'wrap/delete_reference')!;
    expect(site).toMatchObject({ name: 'napi_wrap (its result reference) at WrapMany (wrapped_weak_ref.c:48)', perIteration: 1000, verdict: 'leak', shownBy: null });
    expect(site.leakKind).toMatchObject({ kind: 'leaked-reference', certain: true });
    expect(site.frames[0]).toMatchObject({ function: 'WrapMany', file: join(fixturesDir, 'wrapped-weak-ref', 'wrapped_weak_ref.c'), line: 48 });
    const failing = [...json.asyncContexts, ...json.references, ...json.nativeSites!.filter((row) => row.shownBy === null), ...(json.nativeMemory && !json.nativeMemory.accountedFor ? [json.nativeMemory] : [])].filter((row) => row.verdict === 'leak');
    expect(failing.map((row) => row.name)).toEqual([site.name]);
    expect(json.nativeMemory!.accountedFor).toEqual([site.name]);
  });

  it('hooks: cleanup hooks never removed and a handle scope left open in a libuv callback are failing sites; the balanced escapable scope is not', () => {
    const json = capture('hooks', 'leak');
    const failing = json.nativeSites!.filter((row) => row.shownBy === null && row.verdict === 'leak').map((row) => [row.frames[0]!.text, row.leakKind!.kind]);
    expect(failing.sort()).toEqual([
      ['AddAsyncHook (hooks.c:40)', 'cleanup-hook-not-removed'],
      ['AddHook (hooks.c:25)', 'cleanup-hook-not-removed'],
      ['OnTimer (hooks.c:68)', 'unclosed-handle-scope'],
    ]);
  });
});

describe('native sites joined with the heap rows by async name', () => {
  it('helper-sites: each leaking name is one row, which names its native chain; the sites are named apart and counted once', () => {
    const json = capture('helper-sites', 'leak');
    const a = 'napi_async_init "fixture_helper_a" at open_context (helper_sites.c:17) ← StartA (helper_sites.c:36)';
    const c = 'napi_async_init "fixture_helper_c" at open_context (helper_sites.c:17) ← middle (helper_sites.c:29) ← StartC (helper_sites.c:49)';
    expect(json.asyncContexts.filter((row) => row.verdict === 'leak').map((row) => [row.name, row.nativeSites, row.leakKind!.kind])).toEqual([
      ['fixture_helper_a', [a], 'missing-destroy'],
      ['fixture_helper_c', [c], 'missing-destroy'],
    ]);
    expect(json.nativeSites!.filter((row) => row.verdict === 'leak').map((row) => [row.name, row.shownBy])).toEqual([
      [a, 'the async-context row fixture_helper_a'],
      [c, 'the async-context row fixture_helper_c'],
    ]);
  });
});

describe('kinds from the unbalanced pair are exact', () => {
  it.each([
    ['null-resource', 'fixture_null_resource_leak', 'missing-destroy'],
    ['async-work', 'fixture_async_work_leak', 'async-work-not-deleted'],
    ['tsfn', 'fixture_tsfn_leak', 'tsfn-not-released'],
  ])('%s: the heap alone cannot tell the kind; with the ledger the row is certain: %s is %s', (folder, name, kind) => {
    const row = capture(folder, 'leak').asyncContexts.find((r) => r.name === name)!;
    expect(row.leakKind).toMatchObject({ kind, certain: true, candidates: [kind] });
    expect(row.leakKind!.evidence).toMatch(/^native ledger: /);
  });
});

describe('a stripped build', () => {
  it('without symbols the site is the object and offset (or the nearest exported symbol), with the same counts', () => {
    const dir = join(scratch, 'stripped');
    mkdirSync(join(dir, 'build', 'Release'), { recursive: true });
    const addon = join(dir, 'build', 'Release', 'null_resource.node');
    copyFileSync(join(fixturesDir, 'null-resource', 'build', 'Release', 'null_resource.node'), addon);
    expect(spawnSync('strip', ['--strip-all', addon]).status).toBe(0);
    copyFileSync(join(fixturesDir, 'null-resource', 'leak.mjs'), join(dir, 'leak.mjs'));
    const json = captureScenario(join(dir, 'leak.mjs'), { iterations: 10, snapshots: 3, warmup: 2, outDir: join(scratch, 'stripped-capture') }).json;
    const [site] = json.nativeSites!;
    expect(json.nativeSites).toHaveLength(1);
    expect(site).toMatchObject({ pair: 'async_init/async_destroy', acquired: calls, released: none, live: calls });
    expect(site!.frames[0]!.file).toBeNull();
    expect(site!.frames[0]!.text).toMatch(/^(null_resource\.node\+0x[0-9a-f]+|\S+\+0x[0-9a-f]+ \(null_resource\.node\+0x[0-9a-f]+\))$/);
  });
});

describe('the program does not notice the library', () => {
  it('output, exit code and signal are the same with and without LD_AUDIT, and a process without addons writes no ledger', () => {
    const library = compileNativeHelper('napi-ledger-audit').path!;
    const dir = join(scratch, 'transparent');
    mkdirSync(dir);
    const script = join(dir, 'program.mjs');
    writeFileSync(script, `
      import { createRequire } from 'node:module';
      const addon = createRequire(${JSON.stringify(join(fixturesDir, 'null-resource', 'leak.mjs'))})(${JSON.stringify(join(fixturesDir, 'null-resource', 'build', 'Release', 'null_resource.node'))});
      for (let i = 0; i < 50; i++) addon.leak();
      console.log('out', process.argv[2]);
      console.error('err');
      if (process.argv[2] === 'signal') process.kill(process.pid, 'SIGTERM');
      else process.exitCode = 3;
    `);
    for (const mode of ['exit', 'signal']) {
      const plain = spawnSync(process.execPath, [script, mode], { encoding: 'utf8', env: { ...process.env, NODE_OPTIONS: '' } });
      const audited = spawnSync(process.execPath, [script, mode], { encoding: 'utf8', env: { ...process.env, NODE_OPTIONS: '', LD_AUDIT: library, NAPI_HEAPDIFF_NATIVE_DIR: dir } });
      expect([audited.stdout, audited.stderr, audited.status, audited.signal]).toEqual([plain.stdout, plain.stderr, plain.status, plain.signal]);
    }
    // A shell started under the library: nothing bound, no file.
    const shell = spawnSync('sh', ['-c', 'echo hi'], { encoding: 'utf8', env: { ...process.env, LD_AUDIT: library, NAPI_HEAPDIFF_NATIVE_DIR: join(dir, 'sh') } });
    expect([shell.stdout, shell.status]).toEqual(['hi\n', 0]);
    expect(spawnSync('ls', [join(dir, 'sh')]).status).not.toBe(0);
  });

  it('capture --no-native-ledger: no ledger files, nativeSites null', () => {
    const json = captureScenario(join(repoRoot, 'native-fixtures', 'null-resource', 'leak.mjs'), { iterations: 5, snapshots: 2, warmup: 0, outDir: join(scratch, 'off'), extra: ['--no-native-ledger'] }).json;
    expect(json.nativeSites).toBeNull();
    expect(json.capture.manifest.snapshots.every((s) => s.nativeLedger === undefined)).toBe(true);
  });
});
