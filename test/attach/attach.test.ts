import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { connect, createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AnalysisResult, AsyncContextRow } from '../../src/analysis/result.js';
import type { AttachManifest } from '../../src/capture-folder/manifest.js';
import { cliPath, repoRoot } from '../helpers/run-cli.js';

// Real processes throughout: a long-running node program that leaks one
// Node-API async context every 5 ms (native-fixtures/null-resource), the
// built CLI attaching to it over the inspector, and the files it writes.
// Targets start with --inspect-port=0, so SIGUSR1 opens their inspector on a
// free port: tests running in parallel never fight over 9229.

const scenarios = join(repoRoot, 'test', 'scenarios');
const targetMjs = join(scenarios, 'attach-target.mjs');
const targetCjs = join(scenarios, 'attach-target.cjs');
const LEAK_NAME = 'fixture_null_resource_leak';
const UNNAMED = /^\(unnamed: async context/;

// A space in the path: every path handed around must survive it.
const scratch = mkdtempSync(join(tmpdir(), 'napi heapdiff-attach-'));
const children: ChildProcess[] = [];
afterAll(() => {
  for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  rmSync(scratch, { recursive: true, force: true });
});

let outCounter = 0;
const newOut = (label: string): string => join(scratch, `${++outCounter}-${label}`);

interface Target {
  child: ChildProcess;
  pid: number;
  stderr: () => string;
}

/** Starts a node program and waits for its "ready <pid>" line. */
function startTarget(script: string, args: string[] = [], nodeArgs: string[] = ['--inspect-port=0']): Promise<Target> {
  const child = spawn(process.execPath, [...nodeArgs, script, ...args], { cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  let stdout = '';
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`target did not start: ${stderr}`)), 30_000);
    child.stdout!.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
      if (/^ready \d+$/m.test(stdout)) {
        clearTimeout(timer);
        resolve({ child, pid: child.pid!, stderr: () => stderr });
      }
    });
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`target exited (${code ?? signal}): ${stderr}`));
    });
  });
}

interface CliRun {
  child: ChildProcess;
  done: Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }>;
}

/** The built CLI in a child process, without blocking this one (targets and watchers keep running). */
function runCliAsync(args: string[]): CliRun {
  const child = spawn(process.execPath, [cliPath, ...args], { cwd: repoRoot, env: { ...process.env, NO_COLOR: '1' }, stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (chunk: Buffer) => {
    stdout += chunk.toString();
  });
  child.stderr!.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  const done = new Promise<Awaited<CliRun['done']>>((resolve) => {
    child.once('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
  return { child, done };
}

const attachCli = (args: string[]) => runCliAsync(['attach', ...args]).done;

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** True when a TCP connection to 127.0.0.1:port succeeds. */
function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

const read = (file: string): string => readFileSync(file, 'utf8');
const readJson = <T>(file: string): T => JSON.parse(read(file)) as T;
type AttachJson = AnalysisResult & { capture: { ok: boolean; failure: string | null; manifest: AttachManifest; snapshotFiles: string[] } };

const isStrictlyIncreasing = (values: number[]) => values.every((v, i) => i === 0 || v > values[i - 1]!);
const stderrLines = (text: string) => text.trimEnd().split('\n').filter(Boolean);

function row(result: AnalysisResult, match: string | RegExp): AsyncContextRow {
  const found = result.asyncContexts.find((r) => (typeof match === 'string' ? r.name === match : match.test(r.name)));
  if (!found) throw new Error(`no row ${match}; have ${result.asyncContexts.map((r) => r.name).join(', ')}`);
  return found;
}

/**
 * The folder holds the k snapshots, manifest.json and, when the target was
 * still there to stop tracing, the trace events of the ledger; nothing
 * half-written.
 */
function expectCleanFolder(out: string, manifest: AttachManifest, traced = true): void {
  const files = readdirSync(out).sort();
  expect(files).toEqual(['manifest.json', ...(traced ? ['trace.json'] : []), ...manifest.snapshots.map((s) => s.file)].sort());
  for (const s of manifest.snapshots) {
    expect(statSync(join(out, s.file)).size).toBe(s.bytes);
    // A complete snapshot is one JSON object: it ends with the strings array.
    const tail = readFileSync(join(out, s.file)).subarray(-2).toString();
    expect(tail).toBe(']}');
  }
}

describe('attach to a running process that leaks async contexts (null-resource fixture, ESM entry point)', () => {
  let target: Target;
  beforeAll(async () => {
    target = await startTarget(targetMjs);
  });

  it('--inject-agent: names the leak fixture_null_resource_leak (leak, live counts increasing), notes that only contexts created after attaching are seen, and detaches cleanly', async () => {
    const out = newOut('inject');
    const json = join(scratch, 'inject.json');
    const r = await attachCli([String(target.pid), '--inject-agent', '--snapshots', '3', '--interval', '1500', '--out', out, '--json', json]);
    expect(r.code, r.stderr).toBe(1);

    // Terminal: the named row, the verdict and the note.
    expect(r.stdout).toMatch(new RegExp(`│ ${LEAK_NAME} +│ \\d+ → \\d+ → \\d+ +│`));
    expect(r.stdout).toContain(`LEAK: ${LEAK_NAME} +`);
    expect(r.stdout).toContain('only async contexts created after attaching are named');
    expect(r.stderr).toContain('injected the agent');
    expect(r.stderr).toMatch(/snapshot 3\/3 \(t\+\d+(\.\d)?s\) snapshot-3\.heapsnapshot/);
    expect(r.stderr).toContain('detached (agent removed, inspector closed)');

    // JSON: the same analysis as diff, by name, plus the capture.
    const result = readJson<AttachJson>(json);
    expect(result.verdict).toBe('leak');
    expect(result.agent.found).toBe(true);
    expect(result.comparison).toBe('identity');
    const leak = row(result, LEAK_NAME);
    expect(leak.named).toBe(true);
    expect(leak.verdict).toBe('leak');
    expect(leak.live).toHaveLength(3);
    expect(isStrictlyIncreasing(leak.live), `live ${leak.live}`).toBe(true);
    // 1.5 s apart at one context per 5 ms: well over 20 new ones per step.
    expect(leak.live[2]! - leak.live[0]!).toBeGreaterThan(40);
    // Only what was created after attaching: the first snapshot follows the injection by moments.
    expect(leak.live[0]!).toBeLessThan(leak.live[2]! - leak.live[0]!);
    expect(leak.counters!.destroy).toBe(0);
    expect(leak.creationSites.some((site) => site.frame.includes('null-resource/leak.mjs')), JSON.stringify(leak.creationSites)).toBe(true);
    expect(leak.identity).toEqual({ newAlive: leak.live[2]! - leak.live[0]!, freed: 0, kept: leak.live[0]! });
    expect(result.notes.some((n) => n.includes('only async contexts created after attaching are named'))).toBe(true);
    expect(result.notes.some((n) => n.startsWith('No iteration counts'))).toBe(false);
    expect(result.asyncContexts.every((r) => r.perIteration === null)).toBe(true);
    // The ledger from the target's own trace events (NodeTracing over the same connection) agrees with the heap.
    expect(result.ledger).toEqual({ found: true });
    // The target keeps running between reading its clock and the snapshot (one context per 5 ms): a few may fall between.
    expect(leak.ledger, JSON.stringify(result.notes)).not.toBeNull();
    leak.ledger!.open.forEach((open, i) => expect(Math.abs(open - leak.live[i]!), `snapshot ${i + 1}: ledger ${open}, heap ${leak.live[i]}`).toBeLessThanOrEqual(6));
    // Where they differ, the explanation names the numbers the row shows (and nothing about pending destroys: there are none).
    if (leak.explanation !== null) {
      expect(leak.explanation.startsWith(`heap ${leak.live.at(-1)}, ledger ${leak.ledger!.open.at(-1)} open at the last snapshot: `), leak.explanation).toBe(true);
      expect(leak.explanation).not.toMatch(/destroy/);
    }
    // Contexts leaked before the attach stay unnamed, and do not grow (the new ones are claimed by name).
    const unnamed = row(result, UNNAMED);
    expect(unnamed.live[0]!).toBeGreaterThan(0);
    expect(unnamed.growth).toBe(0);

    // The manifest: mode attach, pid, snapshots with labels and times, how it ended.
    const manifest = readJson<AttachManifest>(join(out, 'manifest.json'));
    expect(result.capture.manifest).toEqual(manifest);
    expect(manifest).toMatchObject({
      schemaVersion: 1,
      mode: 'attach',
      status: 'completed',
      ended: { how: 'completed' },
      attach: { pid: target.pid, host: '127.0.0.1', inspector: 'opened', inspectorClosed: true, agent: 'injected', agentRemoved: true, snapshots: 3, intervalMs: 1500 },
      node: { version: process.version },
      processes: [{ pid: target.pid, ended: { how: 'running' } }],
    });
    expect(manifest.snapshots.map((s) => s.file)).toEqual(['snapshot-1.heapsnapshot', 'snapshot-2.heapsnapshot', 'snapshot-3.heapsnapshot']);
    expect(manifest.snapshots.map((s) => s.label)[0]).toBe('t+0s');
    expect(manifest.snapshots.every((s) => s.pid === target.pid && s.bytes > 1e6)).toBe(true);
    const times = manifest.snapshots.map((s) => Date.parse(s.takenAt));
    expect(times[1]! - times[0]!).toBeGreaterThanOrEqual(1400);
    expect(manifest.attach.port).toBeGreaterThan(0);
    expect(manifest.attach.port).not.toBe(9229);
    expectCleanFolder(out, manifest);

    // The target runs on, and the inspector this attach opened is closed.
    expect(alive(target.pid)).toBe(true);
    expect(await canConnect(manifest.attach.port)).toBe(false);
    expect(target.stderr()).not.toMatch(/Error|Warning/);
  });

  it('without --inject-agent (after the one above removed its agent): one failing row, named by the ledger; the terminal shows the ledger\'s open count; every explanation matches its numbers', async () => {
    const out = newOut('no-agent');
    const json = join(scratch, 'no-agent.json');
    const r = await attachCli([String(target.pid), '--snapshots', '3', '--interval', '1500', '--out', out, '--json', json]);
    expect(r.code, r.stderr).toBe(1);
    const result = readJson<AttachJson>(json);
    // The injected agent was disabled on detach: its registry is gone from the heap.
    expect(result.agent.found).toBe(false);
    // No records in the heap, yet the name is known: Node's own trace events (the ledger) carry it.
    const named = row(result, LEAK_NAME);
    expect(named.live).toEqual([0, 0, 0]);
    expect(named.verdict).toBe('leak');
    expect(named.basis).toBe('ledger');
    const open = named.ledger!.open;
    expect(isStrictlyIncreasing(open), `ledger ${open}`).toBe(true);
    expect(named.growth).toBe(open[2]! - open[0]!);
    // One bug, one failing group: the empty objects (NULL resources) of the
    // contexts the ledger names are counted under the name, as many as it has open.
    expect(named.unnamedResources).toEqual(open);
    const unnamed = row(result, UNNAMED);
    expect(unnamed.verdict).not.toBe('leak');
    expect(unnamed.growth).toBe(0);
    const gate = result.asyncContexts.filter((r) => r.verdict === 'leak').map((r) => r.name);
    expect(gate).toEqual([LEAK_NAME]);
    expect(r.stdout).toContain(`LEAK: ${LEAK_NAME} +${named.growth}\n`);
    // The explanation states the numbers the row shows.
    expect(named.explanation).toBe(`open ${open.join(' → ')} per the trace-event ledger; no agent records in these snapshots, so the heap carries no names; ${open[2]} of the heap's unnamed empty objects (NULL resources) are counted here by number, as many as the ledger has open`);
    // The terminal shows the ledger's open count beside the heap's live count.
    expect(r.stdout).toMatch(/│ async context \(name\) +│ live +│ open \(ledger\) +│ growth +│/);
    expect(r.stdout).toMatch(new RegExp(`│ ${LEAK_NAME} +│ 0 → 0 → 0 +│ ${open.join(' → ')} +│ \\+${named.growth} +│`));
    expect(r.stdout).toContain(`${LEAK_NAME}: ${named.explanation}`);
    // Its kind: the heap alone cannot tell napi_async_init from async work; the cleanup queue rules threadsafe functions out.
    expect(named.leakKind).toMatchObject({ kind: 'missing-destroy', certain: false, candidates: ['missing-destroy', 'async-work-not-deleted'] });
    expect(result.notes.some((n) => n.includes('--inject-agent'))).toBe(true);
    expect(r.stdout).toContain('attach again with --inject-agent');
    const manifest = result.capture.manifest;
    expect(manifest.attach).toMatchObject({ agent: 'none', inspector: 'opened', inspectorClosed: true });
    expectCleanFolder(out, manifest);

    expect(alive(target.pid)).toBe(true);
    expect(await canConnect(manifest.attach.port)).toBe(false);
  });

  it('--report, budgets and the config file work as for diff: the report folder is written; an ignored name passes the gate (exit 0)', async () => {
    const out = newOut('gate');
    const report = join(scratch, 'gate-report');
    const config = join(scratch, 'gate-config.json');
    writeFileSync(config, JSON.stringify({ ignore: [LEAK_NAME] }));
    const r = await attachCli([String(target.pid), '--snapshots', '2', '--interval', '1000', '--out', out, '--report', report, '--config', config]);
    expect(r.code, r.stderr).toBe(0);
    expect(readdirSync(report).sort()).toEqual(['junit.xml', 'report.html', 'result.json', 'summary.md']);
    const saved = readJson<AttachJson & { gate: { failed: boolean; groups: Array<{ name: string; status: string }> } }>(join(report, 'result.json'));
    expect(saved.capture.manifest.mode).toBe('attach');
    expect(saved.gate.failed).toBe(false);
    expect(saved.gate.groups.find((g) => g.name === LEAK_NAME)!.status).toBe('ignored');
    expect(r.stdout).toContain(`gate: ${LEAK_NAME}: ignored by configuration`);
    expect(read(join(report, 'junit.xml'))).toContain('<skipped message=');
    // A budget without iteration counts cannot be checked: the verdict decides, and says so.
    const budgeted = await attachCli([String(target.pid), '--snapshots', '2', '--interval', '1000', '--out', newOut('budget'), '--max-per-iteration', `${LEAK_NAME}=5`]);
    expect(budgeted.code, budgeted.stderr).toBe(1);
    expect(budgeted.stdout).toMatch(new RegExp(`gate: ${LEAK_NAME}: leak: grew at every step, live .*; budget not checked \\(no iteration counts\\)`));
    // The gate flags need the analysis.
    const refused = await attachCli([String(target.pid), '--out', newOut('refused'), '--no-analysis', '--report', report]);
    expect([refused.code, refused.stderr]).toEqual([2, 'napi-heapdiff: --report, --max-per-iteration and --config apply to the analysis: drop --no-analysis to use them\n']);
  });
});

describe('attach: the ledger is cut at the moment each heap was taken', () => {
  it('a program busy in its own async hooks (inspector messages land inside napi_async_init): the heap and the ledger agree at every one of 8 snapshots', async () => {
    const target = await startTarget(targetMjs, [join(scenarios, 'hook-heavy.mjs')]);
    const out = newOut('hook-heavy');
    const json = join(scratch, 'hook-heavy.json');
    const r = await attachCli([String(target.pid), '--snapshots', '8', '--interval', '150', '--out', out, '--json', json]);
    expect(r.code, r.stderr).toBe(1);
    const result = readJson<AttachJson>(json);
    const named = row(result, LEAK_NAME);
    const open = named.ledger!.open;
    expect(isStrictlyIncreasing(open), `ledger ${open}`).toBe(true);
    expect(named.unnamedResources).toEqual(open);
    // What stays unnamed are the contexts leaked before the attach: the same
    // number in every heap. A heap taken half-way through napi_async_init
    // (its resource held, its trace event not yet written) would count one more.
    const unnamed = row(result, UNNAMED);
    expect(unnamed.live.length).toBe(8);
    expect(unnamed.live.every((n) => n === unnamed.live[0]), `unnamed ${unnamed.live}`).toBe(true);
    expect(unnamed.live[0]!).toBeGreaterThan(0);
    expect((result.capture.manifest.notes ?? []).filter((n) => n.startsWith('snapshot '))).toEqual([]);
    target.child.kill();
  });
});

describe('attach to a process that preloads the agent', () => {
  it('the agent\'s records since start-up beside a ledger from the attach on: the explanation counts exactly the records the ledger cannot see', async () => {
    const target = await startTarget(targetMjs, [], ['--inspect-port=0', '--require', join(repoRoot, 'dist', 'agent', 'agent.cjs')]);
    // Let it leak for a while before attaching.
    await new Promise((resolve) => setTimeout(resolve, 1000));
    const out = newOut('preloaded');
    const json = join(scratch, 'preloaded.json');
    const r = await attachCli([String(target.pid), '--snapshots', '2', '--interval', '1500', '--out', out, '--json', json]);
    expect(r.code, r.stderr).toBe(1);
    const result = readJson<AttachJson>(json);
    expect(result.agent.found).toBe(true);
    expect(result.capture.manifest.attach.agent).toBe('preloaded');
    const named = row(result, LEAK_NAME);
    const heap = named.live.at(-1)!;
    const ledger = named.ledger!.open.at(-1)!;
    // Every record opened before the attach is one the ledger never saw begin.
    expect(heap).toBeGreaterThan(ledger + 100);
    const explanation = named.explanation!;
    expect(explanation.startsWith(`heap ${heap}, ledger ${ledger} open at the last snapshot: `), explanation).toBe(true);
    // The parts add up: heap − (records only in the heap) = ledger − (contexts only in the ledger).
    const count = (pattern: RegExp) => Number(pattern.exec(explanation)?.[1] ?? 0);
    const before = count(/(\d+) records in the heap were opened before the trace-event ledger started/);
    const afterCut = count(/(\d+) were opened after the ledger was cut/);
    const destroyedInHeap = count(/(\d+) records in the heap are not open per the ledger/);
    const notInTrace = count(/(\d+) records in the heap have no event in the trace/);
    const endedAfterCut = count(/(\d+) open per the ledger were destroyed after its cut/);
    const noRecord = count(/(\d+) open per the ledger have no record/);
    expect(before).toBeGreaterThan(100);
    // The target never destroys a context: none can be called destroyed.
    expect(destroyedInHeap).toBe(0);
    expect(endedAfterCut).toBe(0);
    // The ledger is cut at the heap's moment: nothing the heap holds began after it.
    expect(afterCut).toBe(0);
    // A begin written in the trace's last moment can be missing from it (a handful at most).
    expect(notInTrace).toBeLessThan(5);
    expect(heap - before - afterCut - notInTrace).toBe(ledger - noRecord);
    expect(noRecord).toBe(0);
    expect(r.stdout).toContain(`${LEAK_NAME}: ${explanation}`);
    target.child.kill('SIGKILL');
  });
});

describe('attach: entry points and inspectors', () => {
  it('CommonJS entry point: the injected agent names the leak too', async () => {
    const target = await startTarget(targetCjs);
    const out = newOut('cjs');
    const json = join(scratch, 'cjs.json');
    const r = await attachCli([String(target.pid), '--inject-agent', '--snapshots', '2', '--interval', '1000', '--out', out, '--json', json]);
    expect(r.code, r.stderr).toBe(1);
    const leak = row(readJson<AttachJson>(json), LEAK_NAME);
    expect(leak.verdict).toBe('leak');
    expect(alive(target.pid)).toBe(true);
    expect(await canConnect(readJson<AttachJson>(json).capture.manifest.attach.port)).toBe(false);
    target.child.kill('SIGKILL');
  });

  it('a process whose promise jobs no longer drain (leaked callback scope): pending destroys are still waited for, and attach leaves nothing of its own in the heap', async () => {
    const target = await startTarget(targetMjs, [join(repoRoot, 'native-fixtures', 'callback-scope', 'leak.mjs')]);
    const out = newOut('callback-scope');
    const json = join(scratch, 'callback-scope.json');
    const r = await attachCli([String(target.pid), '--inject-agent', '--snapshots', '3', '--interval', '1000', '--out', out, '--json', json]);
    expect(r.code, r.stderr).toBe(1);
    expect(r.stderr).not.toContain('did not finish an event-loop turn');
    const result = readJson<AttachJson>(json);
    const leak = row(result, 'fixture_callback_scope_leak');
    expect(leak.verdict).toBe('leak');
    // Every context entered its callback and never left it, but the snapshot of a running process is taken
    // from an interrupt: it can land between one context's init hook and its before hook (that one is live,
    // not yet entered). So: all of them, or all but that one.
    expect([leak.live[2]! - 1, leak.live[2]]).toContain(leak.unclosedCallbackScopes);
    // Only the fixture leaks: no reference group grows (an awaited promise would, held by the inspector).
    expect(result.references.filter((r) => r.growth > 0)).toEqual([]);
    expect(alive(target.pid)).toBe(true);
    target.child.kill('SIGKILL');
  });

  it('an inspector open before attaching (--inspect, found by itself or given by --port) is used and left open', async () => {
    const target = await startTarget(targetMjs, [], ['--inspect=127.0.0.1:0']);
    const port = Number(/Debugger listening on ws:\/\/127\.0\.0\.1:(\d+)\//.exec(target.stderr())![1]);

    const found = await attachCli([String(target.pid), '--snapshots', '2', '--interval', '200', '--no-analysis', '--out', newOut('open-found')]);
    expect(found.code, found.stderr).toBe(0);
    expect(found.stderr).toContain(`the inspector of process ${target.pid} is already open on 127.0.0.1:${port}`);
    expect(await canConnect(port)).toBe(true);

    const out = newOut('open-port');
    const given = await attachCli([String(target.pid), '--port', String(port), '--snapshots', '2', '--interval', '200', '--no-analysis', '--out', out]);
    expect(given.code, given.stderr).toBe(0);
    expect(stderrLines(given.stderr).at(-1)).toMatch(/captured 2 snapshot\(s\) in .*; see .*manifest\.json$/);
    const manifest = readJson<AttachManifest>(join(out, 'manifest.json'));
    expect(manifest.attach).toMatchObject({ port, inspector: 'already-open', inspectorClosed: false, agent: 'none' });
    expectCleanFolder(out, manifest);
    expect(alive(target.pid)).toBe(true);
    expect(await canConnect(port)).toBe(true);
    target.child.kill('SIGKILL');
  });
});

describe('attach: a target that exits mid-capture', () => {
  it('killed while snapshot 3 streams: the 2 complete snapshots stay, no partial file, the manifest says it exited; exit 2 with one line', async () => {
    // Ballast, so that a snapshot takes long enough to be caught streaming.
    const target = await startTarget(targetMjs, ['--ballast-mb', '20']);
    const out = newOut('exits');
    const run = runCliAsync(['attach', String(target.pid), '--snapshots', '3', '--interval', '0', '--no-analysis', '--out', out]);
    // Watch for the third snapshot's temporary file, then kill the target.
    let killedWhileStreaming = false;
    const deadline = Date.now() + 90_000;
    while (Date.now() < deadline && run.child.exitCode === null) {
      const names = existsSync(out) ? readdirSync(out) : [];
      const streaming = names.find((n) => n.startsWith('.snapshot-3.heapsnapshot.') && n.endsWith('.tmp'));
      if (streaming && statSync(join(out, streaming)).size > 0) {
        target.child.kill('SIGKILL');
        killedWhileStreaming = true;
        break;
      }
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    expect(killedWhileStreaming).toBe(true);
    const r = await run.done;
    expect(r.code, r.stderr).toBe(2);
    expect(stderrLines(r.stderr).at(-1)).toBe(`napi-heapdiff: process ${target.pid} exited during the capture; 2 of 3 snapshot(s) written`);
    const manifest = readJson<AttachManifest>(join(out, 'manifest.json'));
    expect(manifest).toMatchObject({
      mode: 'attach',
      status: 'failed',
      ended: { how: 'exited', exitCode: null, message: `process ${target.pid} exited during the capture; 2 of 3 snapshot(s) written` },
      processes: [{ pid: target.pid, ended: { how: 'unknown' } }],
    });
    expect(manifest.snapshots).toHaveLength(2);
    // The target died before tracing could be stopped: no trace file, the analysis has no ledger.
    expectCleanFolder(out, manifest, false);
  });
});

describe('attach: interrupted', () => {
  it('SIGINT while waiting for the next snapshot: detaches (agent removed, inspector closed), the manifest says aborted, exit 2 with one line', async () => {
    const target = await startTarget(targetMjs);
    const out = newOut('interrupted');
    const run = runCliAsync(['attach', String(target.pid), '--inject-agent', '--snapshots', '3', '--interval', '60000', '--out', out]);
    const deadline = Date.now() + 60_000;
    while (Date.now() < deadline && !existsSync(join(out, 'snapshot-1.heapsnapshot'))) await new Promise((resolve) => setTimeout(resolve, 20));
    run.child.kill('SIGINT');
    const r = await run.done;
    expect(r.code, r.stderr).toBe(2);
    const lines = stderrLines(r.stderr);
    expect(lines.at(-2)).toBe('napi-heapdiff: detached (agent removed, inspector closed)');
    expect(lines.at(-1)).toBe(`napi-heapdiff: attach to process ${target.pid} interrupted; 1 of 3 snapshot(s) written`);
    const manifest = readJson<AttachManifest>(join(out, 'manifest.json'));
    expect(manifest).toMatchObject({ status: 'failed', ended: { how: 'aborted' }, attach: { agentRemoved: true, inspectorClosed: true } });
    expect(manifest.snapshots).toHaveLength(1);
    expectCleanFolder(out, manifest);
    expect(alive(target.pid)).toBe(true);
    expect(await canConnect(manifest.attach.port)).toBe(false);
    target.child.kill('SIGKILL');
  });
});

describe('attach: bad input (exit 2, one line on stderr, nothing written)', () => {
  let target: Target;
  beforeAll(async () => {
    target = await startTarget(targetMjs);
  });
  afterAll(() => {
    target.child.kill('SIGKILL');
  });

  async function expectRefused(args: string[], message: RegExp): Promise<void> {
    const out = newOut('refused');
    const r = await attachCli([...args, '--out', out]);
    expect(r.code, r.stderr).toBe(2);
    expect(stderrLines(r.stderr)).toHaveLength(1);
    expect(r.stderr).toMatch(message);
    expect(r.stdout).toBe('');
    expect(existsSync(out)).toBe(false);
  }

  it('no such pid', async () => {
    await expectRefused(['2147483646'], /^napi-heapdiff: no process with pid 2147483646\n$/);
  });

  it('not a node process: refused before any signal (SIGUSR1 would kill it)', async () => {
    const sleeper = spawn('sleep', ['60'], { stdio: 'ignore' });
    children.push(sleeper);
    await new Promise((resolve) => sleeper.once('spawn', resolve));
    await expectRefused([String(sleeper.pid)], /^napi-heapdiff: process \d+ is not a Node\.js process \(.*sleep\)/);
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(sleeper.exitCode).toBe(null);
    expect(sleeper.signalCode).toBe(null);
    sleeper.kill('SIGKILL');
  });

  it('--port where nothing listens', async () => {
    // A port that was free a moment ago.
    const port = await new Promise<number>((resolve) => {
      const server = createServer();
      server.listen(0, '127.0.0.1', () => {
        const { port: p } = server.address() as AddressInfo;
        server.close(() => resolve(p));
      });
    });
    await expectRefused([String(target.pid), '--port', String(port)], new RegExp(`^napi-heapdiff: nothing listens on 127\\.0\\.0\\.1:${port}: the inspector is not open there\\n$`));
  });

  it('a host that is not loopback', async () => {
    await expectRefused([String(target.pid), '--host', '192.0.2.7'], /^napi-heapdiff: refusing to connect to 192\.0\.2\.7: attach connects to 127\.0\.0\.1 or ::1 only/);
  });

  it('bad numbers', async () => {
    await expectRefused(['abc'], /^napi-heapdiff: pid must be a whole number \(got "abc"\)\n$/);
    await expectRefused([String(target.pid), '--snapshots', '0'], /^napi-heapdiff: --snapshots must be a whole number ≥ 1 \(got 0\)\n$/);
  });

  it('the target is untouched by all of the above', async () => {
    expect(alive(target.pid)).toBe(true);
    expect(target.stderr()).toBe('');
  });
});
