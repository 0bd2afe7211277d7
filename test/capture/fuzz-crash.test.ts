import { spawnSync } from 'node:child_process';
import { closeSync, copyFileSync, cpSync, existsSync, mkdirSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readAgentRecords } from '../../src/analysis/agent-records.js';
import { EVENTS_FILE } from '../../src/capture-folder/files.js';
import { writeManifest, type CaptureManifest } from '../../src/capture-folder/manifest.js';
import type { EventSummary } from '../../src/capture/child-events.js';
import { runChild, settleProcessEntries, type ChildOutcome } from '../../src/capture/child-process.js';
import { finishCapture, newManifest } from '../../src/capture/lifecycle.js';
import { HeapGraph } from '../../src/graph/heap-graph.js';
import { loadSnapshot } from '../../src/snapshot/load.js';
import { repoRoot, type CliResult } from '../helpers/run-cli.js';

// Hostile children: a capture whose child segfaults, aborts, runs out of
// memory, never ends (capture --timeout), or whose disk fills up. Each must
// end with exit 2 and one last stderr line, keep every snapshot written
// before, leave no temporary file and a manifest that says what happened.

const scenarios = join(repoRoot, 'test', 'scenarios');
const scratch = mkdtempSync(join(tmpdir(), 'napi-heapdiff-crash-'));

/**
 * The built CLI, copied (dist/ with the agent and the harness, and
 * package.json) inside the repository so node_modules resolve: a rebuild of
 * dist/ by another `npm test` while a capture runs must not break it.
 */
let cli = '';
let cliCopy = '';
beforeAll(() => {
  const parent = join(repoRoot, '.napi-heapdiff');
  mkdirSync(parent, { recursive: true });
  cliCopy = mkdtempSync(join(parent, 'crash-cli-'));
  for (let attempt = 1; ; attempt++) {
    rmSync(join(cliCopy, 'dist'), { recursive: true, force: true });
    cpSync(join(repoRoot, 'dist'), join(cliCopy, 'dist'), { recursive: true });
    copyFileSync(join(repoRoot, 'package.json'), join(cliCopy, 'package.json'));
    cli = join(cliCopy, 'dist', 'cli', 'main.js');
    if (spawnSync(process.execPath, [cli, '--version']).status === 0) return;
    if (attempt === 5) throw new Error('the built CLI does not start');
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 3000);
  }
}, 60_000);
afterAll(() => {
  rmSync(scratch, { recursive: true, force: true });
  if (cliCopy) rmSync(cliCopy, { recursive: true, force: true });
});

function runCli(args: string[], options: { env?: NodeJS.ProcessEnv } = {}): CliResult {
  const r = spawnSync(process.execPath, [cli, ...args], { cwd: repoRoot, env: { ...process.env, NO_COLOR: '1', ...options.env }, encoding: 'utf8', timeout: 120_000, maxBuffer: 64 << 20 });
  return { code: r.status, signal: r.signal, stdout: r.stdout, stderr: r.stderr };
}
let counter = 0;
const newOut = (label: string) => join(scratch, `${++counter}-${label}`);

const lastLine = (text: string) => text.trimEnd().split('\n').at(-1)!;
const manifestOf = (out: string) => JSON.parse(readFileSync(join(out, 'manifest.json'), 'utf8')) as CaptureManifest;
const files = (dir: string) => readdirSync(dir, { recursive: true, encoding: 'utf8' }).sort();
/** The capture's own files: manifest, snapshots, and anything unfinished (other files, e.g. trace logs, are not this test's). */
const captureFiles = (dir: string) => files(dir).filter((f) => f === 'manifest.json' || f === EVENTS_FILE || f.endsWith('.heapsnapshot') || f.endsWith('.tmp'));

/** Live count of one agent name in a snapshot file. */
async function live(file: string, name: string): Promise<number | undefined> {
  const view = readAgentRecords(new HeapGraph(await loadSnapshot(file)));
  return view.names.find((n) => n.name === name)?.live;
}

/** Runs a crash scenario: warm-up 0, 2 iterations per phase, 3 snapshots; the crash comes in iteration 3 (phase 2). */
function capture(scenario: string, out: string, extra: string[] = [], env: NodeJS.ProcessEnv = {}) {
  const json = `${out}.json`;
  const started = Date.now();
  const r = runCli(['capture', '--scenario', join(scenarios, scenario), '--iterations', '2', '--snapshots', '3', '--warmup', '0', '--out', out, '--json', json, ...extra], { env });
  return { ...r, ms: Date.now() - started, json };
}

/** What every crash leaves: 2 of 3 snapshots kept and loadable, with the 0 and 2 leaked records they had. */
async function expectTwoSnapshotsKept(out: string) {
  const m = manifestOf(out);
  expect(m.status).toBe('failed');
  expect(m.snapshots.map((s) => s.file)).toEqual(['snapshot-1.heapsnapshot', 'snapshot-2.heapsnapshot']);
  expect(await live(join(out, 'snapshot-1.heapsnapshot'), 'test_crash_leak')).toBeUndefined();
  expect(await live(join(out, 'snapshot-2.heapsnapshot'), 'test_crash_leak')).toBe(2);
  expect(files(out).filter((f) => f.endsWith('.tmp') || f === EVENTS_FILE)).toEqual([]);
  return m;
}

describe('capture survives a child that crashes', () => {
  it('segfault (SIGSEGV): exit 2, one line, snapshots kept, analysis of what was written, --json says why', async () => {
    const out = newOut('segfault');
    const r = capture('crash-segfault.mjs', out);
    expect(r.code).toBe(2);
    const message = 'scenario process was killed by SIGSEGV in phase 2 after 2 of 3 snapshots';
    expect(lastLine(r.stderr)).toMatch(new RegExp(`^napi-heapdiff: ${message}(; output in .*)?$`));
    expect(r.stderr).not.toMatch(/^\s+at /m);
    // The two snapshots written are analysed: the leak is named even though the child died.
    expect(r.stdout).toContain('test_crash_leak');
    const m = await expectTwoSnapshotsKept(out);
    expect(m.ended).toMatchObject({ how: 'signal', exitCode: null, signal: 'SIGSEGV', phase: 'phase 2' });
    expect(m.processes[0]!.ended).toEqual({ how: 'signal', exitCode: null, signal: 'SIGSEGV' });
    const result = JSON.parse(readFileSync(r.json, 'utf8'));
    expect(result.capture).toMatchObject({ ok: false, failure: m.ended.message });
    expect(result.verdict).toBe('leak');
  });

  it('abort (SIGABRT): exit 2, one line, output kept in scenario-output.log', async () => {
    const out = newOut('abort');
    const r = capture('crash-abort.mjs', out);
    expect(r.code).toBe(2);
    expect(lastLine(r.stderr)).toMatch(/^napi-heapdiff: scenario process was killed by SIGABRT in phase 2 after 2 of 3 snapshots(; output in .*scenario-output\.log)?$/);
    const m = await expectTwoSnapshotsKept(out);
    expect(m.ended).toMatchObject({ how: 'signal', signal: 'SIGABRT', phase: 'phase 2' });
  });

  it('out of memory: exit 2, one line, the manifest says out-of-memory', async () => {
    const out = newOut('oom');
    const r = capture('crash-oom.mjs', out, [], { NODE_OPTIONS: '--max-old-space-size=32' });
    expect(r.code).toBe(2);
    expect(lastLine(r.stderr)).toMatch(/^napi-heapdiff: scenario process ran out of memory in phase 2 after 2 of 3 snapshots; output in .*scenario-output\.log$/);
    const m = manifestOf(out);
    expect(m.ended).toMatchObject({ how: 'out-of-memory', phase: 'phase 2' });
    expect(m.snapshots).toHaveLength(2);
    expect(files(out).filter((f) => f.endsWith('.tmp'))).toEqual([]);
  });
});

describe('capture --timeout', () => {
  it('a child that never finishes is stopped with SIGTERM after the timeout; snapshots kept; manifest says timed-out', async () => {
    const out = newOut('hang');
    const r = capture('crash-hang.mjs', out, ['--timeout', '6000'], { CRASH_HANG_MODE: 'wait' });
    expect(r.code).toBe(2);
    expect(lastLine(r.stderr)).toBe('napi-heapdiff: scenario process timed out after 6000 ms in phase 2 after 2 of 3 snapshots; stopped with SIGTERM');
    expect(r.ms).toBeGreaterThanOrEqual(6000);
    expect(r.ms).toBeLessThan(40_000);
    const m = await expectTwoSnapshotsKept(out);
    expect(m.timeoutMs).toBe(6000);
    expect(m.ended).toEqual({ how: 'timed-out', exitCode: null, signal: 'SIGTERM', phase: 'phase 2', message: 'scenario process timed out after 6000 ms in phase 2 after 2 of 3 snapshots; stopped with SIGTERM' });
    expect(JSON.parse(readFileSync(r.json, 'utf8')).capture.failure).toBe(m.ended.message);
  });

  it('one that ignores SIGTERM in a busy loop gets SIGKILL 2 s later', async () => {
    const out = newOut('busy');
    const r = capture('crash-hang.mjs', out, ['--timeout', '6000'], { CRASH_HANG_MODE: 'busy' });
    expect(r.code).toBe(2);
    expect(lastLine(r.stderr)).toBe('napi-heapdiff: scenario process timed out after 6000 ms in phase 2 after 2 of 3 snapshots; stopped with SIGKILL');
    expect(r.ms).toBeGreaterThanOrEqual(8000);
    const m = await expectTwoSnapshotsKept(out);
    expect(m.ended).toMatchObject({ how: 'timed-out', signal: 'SIGKILL' });
    expect(m.processes[0]!.ended).toEqual({ how: 'signal', exitCode: null, signal: 'SIGKILL' });
  });

  it('one whose own child keeps the output pipes open does not hold the capture up', async () => {
    const out = newOut('linger');
    const pidFile = join(scratch, 'linger.pid');
    try {
      const r = capture('crash-hang.mjs', out, ['--timeout', '6000'], { CRASH_HANG_MODE: 'linger', CRASH_LINGER_PID_FILE: pidFile });
      expect(r.code).toBe(2);
      expect(lastLine(r.stderr)).toMatch(/timed out after 6000 ms in phase 2 after 2 of 3 snapshots; stopped with SIGTERM$/);
      // Not the 60 s the lingering process lives.
      expect(r.ms).toBeLessThan(40_000);
      await expectTwoSnapshotsKept(out);
    } finally {
      if (existsSync(pidFile)) {
        try {
          process.kill(Number(readFileSync(pidFile, 'utf8')), 'SIGKILL');
        } catch {
          // already gone
        }
      }
    }
  });

  it('command mode: the command is stopped, which ends the capture normally; its snapshots kept (one: nothing to analyse, exit 0)', async () => {
    const out = newOut('command-timeout');
    const started = Date.now();
    const r = runCli(['capture', '--out', out, '--timeout', '3000', '--', process.execPath, '-e', 'setInterval(() => {}, 20)']);
    expect(r.code, r.stderr).toBe(0);
    expect(Date.now() - started).toBeLessThan(30_000);
    const m = manifestOf(out);
    expect(m).toMatchObject({ status: 'completed', timeoutMs: 3000, ended: { how: 'timed-out', exitCode: null, signal: 'SIGTERM', message: `${process.execPath} stopped by --timeout after 3000 ms; stopped with SIGTERM; 1 snapshot(s) taken` } });
    expect(lastLine(r.stderr)).toMatch(/^napi-heapdiff: captured 1 snapshot\(s\) in .*; see .*manifest\.json$/);
    // The start-up snapshot was written before the timeout.
    expect(m.snapshots.map((s) => s.label)).toEqual(['start']);
    expect((await loadSnapshot(join(out, m.snapshots[0]!.file))).nodeCount).toBeGreaterThan(1000);
  });

  it('command mode: a long-running program stopped by --timeout is analysed — exit 1 when it leaks, 0 when it does not', () => {
    const target = join(repoRoot, 'test', 'scenarios', 'attach-target.mjs');
    const run = (twin: 'leak' | 'ok') => {
      const out = newOut(`command-timeout-${twin}`);
      const json = `${out}.json`;
      const r = runCli(['capture', '--out', out, '--interval', '1000', '--timeout', '4500', '--json', json, '--', process.execPath, target, join(repoRoot, 'native-fixtures', 'null-resource', `${twin}.mjs`)]);
      return { r, result: JSON.parse(readFileSync(json, 'utf8')) as { verdict: string; asyncContexts: Array<{ name: string; verdict: string; growth: number }>; capture: { ok: boolean; manifest: { status: string; ended: { how: string }; snapshots: unknown[] } } } };
    };
    const leak = run('leak');
    expect(leak.r.code, leak.r.stderr).toBe(1);
    expect(leak.result.capture.ok).toBe(true);
    expect(leak.result.capture.manifest).toMatchObject({ status: 'completed', ended: { how: 'timed-out' } });
    expect(leak.result.capture.manifest.snapshots.length).toBeGreaterThanOrEqual(3);
    expect(leak.result.verdict).toBe('leak');
    const row = leak.result.asyncContexts.find((r) => r.name === 'fixture_null_resource_leak')!;
    expect(row.verdict).toBe('leak');
    expect(leak.r.stdout).toContain(`LEAK: fixture_null_resource_leak +${row.growth}`);
    const ok = run('ok');
    expect(ok.r.code, ok.r.stderr).toBe(0);
    expect(ok.result.verdict).toBe('clean');
    expect(ok.r.stdout).toContain('no leak: no group grew at every step');
  });

  it('a bad --timeout is a usage error; --timeout 0 means no limit', () => {
    const bad = runCli(['capture', '--out', newOut('bad-timeout'), '--timeout', 'soon', '--scenario', join(scenarios, 'js-leak.mjs')]);
    expect([bad.code, bad.stderr]).toEqual([2, 'napi-heapdiff: --timeout must be a whole number (got "soon")\n']);
    const out = newOut('no-limit');
    const ok = runCli(['capture', '--out', out, '--timeout', '0', '--scenario', join(scenarios, 'js-leak.mjs'), '--iterations', '2', '--snapshots', '2', '--warmup', '0']);
    // js-leak leaks: exit 1, the capture itself completed.
    expect(ok.code, ok.stderr).toBe(1);
    expect(manifestOf(out)).toMatchObject({ status: 'completed', ended: { how: 'completed' } });
    expect(manifestOf(out).timeoutMs).toBeUndefined();
  });
});

describe('capture on a full disk', () => {
  it('ENOSPC from the child\'s snapshot write (simulated: writeHeapSnapshot throws it): exit 2, one clear line, snapshot 1 kept', async () => {
    const out = newOut('enospc');
    const r = capture('crash-enospc.mjs', out, [], { CRASH_ENOSPC_AT: '1' });
    expect(r.code).toBe(2);
    expect(lastLine(r.stderr)).toBe(`napi-heapdiff: no space left on device writing ${join(out, 'snapshot-2.heapsnapshot')}: capture stopped after 1 of 3 snapshots (the snapshots written are kept)`);
    const m = manifestOf(out);
    expect(m.ended).toMatchObject({ how: 'disk-full', phase: 'snapshot' });
    expect(m.snapshots.map((s) => s.file)).toEqual(['snapshot-1.heapsnapshot']);
    expect(captureFiles(out)).toEqual(['manifest.json', 'snapshot-1.heapsnapshot']);
    expect((await loadSnapshot(join(out, 'snapshot-1.heapsnapshot'))).nodeCount).toBeGreaterThan(1000);
  });

  // A real full disk: a small tmpfs (needs root for mount; skipped otherwise,
  // the simulated case above still runs).
  let mount: string | undefined;
  beforeAll(() => {
    if (process.platform !== 'linux' || process.getuid?.() !== 0) return;
    const dir = join(scratch, 'tmpfs');
    mkdirSync(dir);
    const r = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=16m', 'tmpfs', dir], { encoding: 'utf8' });
    if (r.status === 0) mount = dir;
  });
  afterAll(() => {
    if (mount) spawnSync('umount', ['-l', mount]);
  });
  const fill = (file: string) => {
    const fd = openSync(file, 'w');
    const block = Buffer.alloc(64 * 1024, 0x61);
    try {
      for (;;) writeSync(fd, block);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOSPC') throw error;
    } finally {
      closeSync(fd);
    }
  };
  const clean = () => {
    for (const name of readdirSync(mount!)) rmSync(join(mount!, name), { recursive: true, force: true });
  };

  it('tmpfs: the disk fills up during the scenario: exit 2, one line, snapshot 1 kept and whole, manifest says disk-full', async (context) => {
    if (!mount) return context.skip();
    clean();
    const out = join(mount, 'out');
    const r = capture('crash-diskfill.mjs', out, [], { CRASH_FILL_FILE: join(mount, 'filler'), CRASH_FILL_AT: '1', CRASH_FILL_SLACK: String(64 * 1024) });
    expect(r.code).toBe(2);
    expect(lastLine(r.stderr)).toBe(`napi-heapdiff: no space left on device writing ${join(out, 'snapshot-2.heapsnapshot')}: capture stopped after 1 of 3 snapshots (the snapshots written are kept)`);
    const m = manifestOf(out);
    expect(m).toMatchObject({ status: 'failed', ended: { how: 'disk-full', phase: 'snapshot' } });
    expect(captureFiles(out)).toEqual(['manifest.json', 'snapshot-1.heapsnapshot']);
    expect((await loadSnapshot(join(out, 'snapshot-1.heapsnapshot'))).nodeCount).toBeGreaterThan(1000);
  });

  it('tmpfs: command mode, the disk fills up before the exit snapshot: exit 2, one line, earlier snapshots kept', async (context) => {
    if (!mount) return context.skip();
    clean();
    const out = join(mount, 'out');
    const filler = join(mount, 'filler');
    // Ask for a signal snapshot, then fill the disk, then exit (the exit snapshot cannot be written).
    const script = `
      const fs = require('node:fs');
      process.kill(process.pid, 'SIGUSR2');
      setTimeout(() => {
        const fd = fs.openSync(${JSON.stringify(filler)}, 'w');
        try { for (;;) fs.writeSync(fd, Buffer.alloc(65536, 97)); } catch {}
        fs.closeSync(fd);
      }, 1500);`;
    const r = runCli(['capture', '--out', out, '--', process.execPath, '-e', script]);
    expect(r.code).toBe(2);
    const line = lastLine(r.stderr);
    expect(line).toMatch(new RegExp(`^napi-heapdiff: no space left on device writing ${out}/\\d+/\\d{3}-exit\\.heapsnapshot; \\d snapshot\\(s\\) written before are kept in ${out}$`));
    expect(r.stderr).not.toMatch(/^\s+at /m);
    // Whatever manifest is on disk is whole, and every snapshot it lists is there and loads.
    const m = manifestOf(out);
    expect(m.snapshots.length).toBeGreaterThanOrEqual(1);
    for (const s of m.snapshots) expect((await loadSnapshot(join(out, s.file))).nodeCount).toBeGreaterThan(1000);
    expect(files(out).filter((f) => f.endsWith('.tmp'))).toEqual([]);
  });

  it('tmpfs: a disk already full before the capture starts: one line, nothing half-written', (context) => {
    if (!mount) return context.skip();
    clean();
    fill(join(mount, 'filler'));
    const out = join(mount, 'out');
    const r = runCli(['capture', '--out', out, '--scenario', join(scenarios, 'js-leak.mjs')]);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe(`napi-heapdiff: cannot write ${join(out, 'manifest.json')}: no space left on device (ENOSPC)\n`);
    expect(readdirSync(out)).toEqual([]);
  });

  it('tmpfs: manifest.json cannot be written while the child runs nor at the end: no throw, the last complete manifest stays, the result says why', async (context) => {
    if (!mount) return context.skip();
    clean();
    const out = join(mount, 'out');
    mkdirSync(out);
    const manifest = newManifest('command', out, { command: { argv: ['node'], cwd: out, intervalMs: 0 } });
    writeManifest(manifest);
    const before = readFileSync(join(out, 'manifest.json'), 'utf8');
    // An event for the parent to apply (a manifest change), then a full disk.
    writeFileSync(join(out, EVENTS_FILE), `${JSON.stringify({ v: 1, pid: 4242, at: new Date().toISOString(), event: 'process-exit', exitCode: 0 })}\n`);
    fill(join(mount, 'filler'));
    const summary: EventSummary = { done: false, error: undefined, harnessExit: undefined, phase: undefined, notes: [] };
    const outcome: ChildOutcome = await runChild(process.execPath, ['-e', '0'], { stdio: 'ignore' }, manifest, summary, { outDir: out, pollMs: 10 });
    expect(outcome.writeError?.code).toBe('ENOSPC');
    expect(outcome.exitCode).toBe(0);
    expect(readFileSync(join(out, 'manifest.json'), 'utf8')).toBe(before);
    // Deleting the events file frees a page: fill it again so the final write fails too.
    rmSync(join(out, EVENTS_FILE));
    fill(join(mount, 'filler2'));
    settleProcessEntries(manifest, outcome);
    const result = finishCapture(manifest, { how: 'completed', exitCode: 0, signal: null }, summary.notes, outcome.writeError);
    expect(result.ok).toBe(false);
    expect(result.failure).toBe(`cannot update ${join(out, 'manifest.json')}: no space left on device (ENOSPC); the one on disk is the last complete version`);
    expect(readFileSync(join(out, 'manifest.json'), 'utf8')).toBe(before);
    expect(readdirSync(out).filter((f) => f.endsWith('.tmp'))).toEqual([]);
  });
});
