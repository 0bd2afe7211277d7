import { accessSync, constants, existsSync, mkdirSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { analyzeSnapshots, type AnalyzeOptions } from '../analysis/analyze.js';
import type { AnalysisResult } from '../analysis/result.js';
import { resolveSnapshotInputs } from '../analysis/snapshot-inputs.js';
import { removePreviousCapture, removeTemporaryFiles, type SnapshotEntry } from '../capture/manifest.js';
import { MANIFEST_FILE } from '../capture/protocol.js';
import { requireBuiltAgent } from '../capture/session.js';
import { toolVersion } from '../capture/version.js';
import { AttachInputError, InspectorDisconnectedError } from './errors.js';
import { InspectorClient } from './inspector-client.js';
import { writeAttachManifest, type AttachEnding, type AttachManifest } from './manifest.js';
import {
  OBJECT_GROUP,
  closeTargetInspector,
  evaluate,
  eventLoopTurns,
  findPreloadedAgent,
  injectAgent,
  settleTarget,
  targetInfo,
  uninstallAgent,
  type AgentStatus,
  type RemoteAgent,
  type TargetInfo,
} from './remote-agent.js';
import { streamHeapSnapshot } from './snapshot-stream.js';
import { startTracing, type TraceRecorder } from './tracing.js';
import { activateInspector, checkTargetProcess, inspectorTarget, isAlive, loopbackHost, portClosed, webSocketUrl, type InspectorEndpoint, type LoopbackHost } from './target.js';

export interface AttachOptions {
  /** The running Node.js process. */
  pid: number;
  /** Its inspector is already open on this port: connect there, send no signal. */
  port?: number;
  /** "127.0.0.1" or "::1" (anything else is refused); default: where the inspector listens. */
  host?: string;
  /** Snapshots to take (≥ 1; the analysis needs 2). */
  snapshots: number;
  /** Milliseconds between the starts of two snapshots. */
  intervalMs: number;
  outDir: string;
  /** Install the agent in the target, so snapshots name the async contexts created from then on. */
  injectAgent?: boolean;
  onProgress?: (progress: AttachProgress) => void;
  /** Aborting stops after the step under way, detaches cleanly and ends the manifest as "aborted". */
  signal?: AbortSignal;
  /** How long SIGUSR1 may take to open the inspector (default 5000 ms). */
  activationTimeoutMs?: number;
  /** How long one protocol call (other than a snapshot) may take (default 30000 ms). */
  requestTimeoutMs?: number;
  /** How long waiting for pending destroys may take before a snapshot (default 5000 ms). */
  settleTimeoutMs?: number;
}

/** Progress reports; the library never prints, the CLI turns these into lines. */
export type AttachProgress =
  | { kind: 'inspector'; pid: number; host: LoopbackHost; port: number; openedByUs: boolean }
  | { kind: 'connected'; pid: number; node: string; argv: string[] }
  | { kind: 'agent'; agent: AgentStatus; requested: boolean }
  | { kind: 'snapshot'; snapshot: SnapshotEntry; expected: number }
  | { kind: 'note'; message: string }
  | { kind: 'detached'; inspectorClosed: boolean; agentRemoved: boolean }
  | { kind: 'ended'; ending: AttachEnding };

export interface AttachResult {
  /** True when every snapshot was written. */
  ok: boolean;
  /** One line: why not, for the CLI to print. */
  failure: string | undefined;
  manifest: AttachManifest;
  manifestPath: string;
  /** Absolute paths of the snapshots, in order. */
  snapshotFiles: string[];
}

const DEFAULTS = { activationTimeoutMs: 5_000, requestTimeoutMs: 30_000, settleTimeoutMs: 5_000 };

/**
 * Attaches to a running Node.js process over its inspector and takes heap
 * snapshots there: opens the inspector (SIGUSR1, as `node inspect -p <pid>`)
 * unless it is open already, connects over loopback only, optionally installs
 * the agent (`injectAgent`), then `snapshots` times: lets pending destroys
 * run, collects garbage, and streams HeapProfiler.takeHeapSnapshot into
 * `<outDir>/snapshot-<n>.heapsnapshot` (atomically). manifest.json is
 * rewritten after each snapshot. At the end the injected agent's hook is
 * disabled and an inspector this attach opened is closed; the target keeps
 * running.
 *
 * Throws AttachInputError (before anything is written) when the process is
 * not there, not Node.js, or its inspector cannot be reached. Once connected,
 * failures (the target exits, the connection drops) end the manifest and are
 * reported in the result: the snapshots already written stay.
 *
 * @example
 *   const result = await attach({ pid: 4242, snapshots: 3, intervalMs: 10_000, outDir: 'out', injectAgent: true });
 *   const analysis = await analyzeAttach(result);
 */
export async function attach(options: AttachOptions): Promise<AttachResult> {
  const report = options.onProgress ?? (() => {});
  const requestTimeoutMs = options.requestTimeoutMs ?? DEFAULTS.requestTimeoutMs;
  const settleTimeoutMs = options.settleTimeoutMs ?? DEFAULTS.settleTimeoutMs;
  const { pid, snapshots, intervalMs } = options;
  if (!Number.isSafeInteger(snapshots) || snapshots < 1) throw new AttachInputError(`--snapshots must be a whole number ≥ 1 (got ${snapshots})`);
  if (!Number.isSafeInteger(intervalMs) || intervalMs < 0) throw new AttachInputError(`--interval must be a whole number of ms ≥ 0 (got ${intervalMs})`);
  if (options.port !== undefined && (!Number.isSafeInteger(options.port) || options.port < 1 || options.port > 65535)) {
    throw new AttachInputError(`--port must be a TCP port, 1-65535 (got ${options.port})`);
  }
  const host = options.host === undefined ? undefined : loopbackHost(options.host);
  const agentPath = options.injectAgent ? requireBuiltAgent() : undefined;
  checkTargetProcess(pid, options.port === undefined);
  const outDir = checkOutDir(options.outDir);
  options.signal?.throwIfAborted();

  // Find (or open) the inspector, then connect.
  const endpoint: InspectorEndpoint = options.port !== undefined
    ? { host: host ?? '127.0.0.1', port: options.port, openedByUs: false }
    : await activateInspector({ pid, host, timeoutMs: options.activationTimeoutMs ?? DEFAULTS.activationTimeoutMs, signal: options.signal });
  const inspector = await inspectorTarget(endpoint.host, endpoint.port);
  const url = webSocketUrl(endpoint, inspector.id);
  let client: InspectorClient;
  try {
    client = await InspectorClient.connect(url, { timeoutMs: requestTimeoutMs });
  } catch (error) {
    throw new AttachInputError(`cannot connect to the inspector of process ${pid} at ${url}: ${(error as Error).message}`);
  }

  /** Leaves before the capture starts: an inspector this attach opened is closed again. */
  const abandon = async (message: string): Promise<never> => {
    if (endpoint.openedByUs && client.isOpen) await closeTargetInspector(client, requestTimeoutMs);
    await client.close();
    throw new AttachInputError(message);
  };
  let info: TargetInfo;
  try {
    info = await targetInfo(client, requestTimeoutMs);
  } catch (error) {
    return abandon(`the inspector at ${endpoint.host}:${endpoint.port} does not answer: ${(error as Error).message}`);
  }
  if (info.pid !== pid) {
    await client.close();
    throw new AttachInputError(`the inspector at ${endpoint.host}:${endpoint.port} belongs to process ${info.pid}, not ${pid}`);
  }

  // From here on the capture runs: the manifest says how it went.
  const startedAt = new Date();
  const manifest: AttachManifest = {
    schemaVersion: 1,
    tool: { name: 'napi-heapdiff', version: toolVersion() },
    mode: 'attach',
    status: 'running',
    outDir,
    attach: {
      pid,
      host: endpoint.host,
      port: endpoint.port,
      inspector: endpoint.openedByUs ? 'opened' : 'already-open',
      inspectorClosed: false,
      agent: 'none',
      agentInjectedAt: null,
      agentRemoved: false,
      snapshots,
      intervalMs,
    },
    node: { version: info.version, execPath: info.execPath },
    startedAt: startedAt.toISOString(),
    endedAt: null,
    durationMs: null,
    ended: { how: 'running', exitCode: null, signal: null },
    processes: [{
      pid,
      argv: info.argv,
      node: info.version,
      startedAt: new Date(startedAt.getTime() - info.uptimeMs).toISOString(),
      endedAt: null,
      ended: { how: 'running', exitCode: null, signal: null },
    }],
    snapshots: [],
  };
  try {
    makeFolder(outDir);
    removePreviousCapture(outDir);
    writeAttachManifest(manifest);
  } catch (error) {
    return abandon(`cannot write into output folder ${options.outDir}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
  }
  report({ kind: 'inspector', pid, host: endpoint.host, port: endpoint.port, openedByUs: endpoint.openedByUs });
  report({ kind: 'connected', pid, node: info.version, argv: info.argv });

  const notes: string[] = [];
  const note = (message: string) => {
    notes.push(message);
    report({ kind: 'note', message });
  };
  let agent: RemoteAgent | undefined;
  let ending: AttachEnding;
  let tracing: TraceRecorder | undefined;
  try {
    agent = await findPreloadedAgent(client, requestTimeoutMs);
    if (!agent && agentPath) {
      agent = await injectAgent(client, agentPath, requestTimeoutMs);
      manifest.attach.agentInjectedAt = new Date().toISOString();
    } else if (agent && options.injectAgent) {
      note(`process ${pid} already runs the agent (preloaded): not injected again; names cover its whole run`);
    }
    manifest.attach.agent = agent?.status ?? 'none';
    report({ kind: 'agent', agent: manifest.attach.agent, requested: options.injectAgent === true });
    writeAttachManifest(manifest);
    await client.send('HeapProfiler.enable', {}, { timeoutMs: requestTimeoutMs });
    try {
      tracing = await startTracing(client, requestTimeoutMs);
    } catch (error) {
      note(`no lifecycle ledger: the target's inspector refused NodeTracing.start (${(error as Error).message})`);
    }

    const first = Date.now();
    let settleWarned = false;
    for (let index = 1; index <= snapshots; index++) {
      if (index > 1) await waitUntil(first + (index - 1) * intervalMs, client, options.signal);
      options.signal?.throwIfAborted();
      const t0 = performance.now();
      const settled = await settleTarget(client, agent, settleTimeoutMs);
      if (!settled && !settleWarned) {
        settleWarned = true;
        note(`process ${pid} did not finish an event-loop turn within ${settleTimeoutMs} ms before snapshot ${index} (its event loop is blocked?); destroys still queued then are not counted as destroyed`);
      }
      const t1 = performance.now();
      await client.send('HeapProfiler.collectGarbage', {}, { timeoutMs: requestTimeoutMs });
      // Second-pass weak callbacks run from the loop: one more turn, one more GC (as the scenario harness does).
      if (settled) await eventLoopTurns(client, 1, settleTimeoutMs);
      await client.send('HeapProfiler.collectGarbage', {}, { timeoutMs: requestTimeoutMs });
      const t2 = performance.now();
      const takenAt = new Date();
      // The trace clock and memory of the target, to cut the ledger at this
      // snapshot. Sent back to back with the snapshot request: the target
      // dispatches both in one go, so none of its JavaScript runs between the
      // clock and the heap (the ledger's cut is the heap's moment).
      const name = `snapshot-${index}.heapsnapshot`;
      const clockReply = evaluate(client, '({ us: Number(process.hrtime.bigint() / 1000n), memory: process.memoryUsage() })', { returnByValue: true, timeoutMs: requestTimeoutMs });
      const streamed = streamHeapSnapshot(client, join(outDir, name), { signal: options.signal });
      const [reply, { bytes }] = await Promise.all([clockReply, streamed]);
      const clock = reply.value as { us: number; memory: { rss: number; heapUsed: number; external: number; arrayBuffers: number } };
      const t3 = performance.now();
      const snapshot: SnapshotEntry = {
        index,
        file: name,
        label: index === 1 ? 't+0s' : `t+${formatSeconds(takenAt.getTime() - Date.parse(manifest.snapshots[0]!.takenAt))}s`,
        pid,
        takenAt: takenAt.toISOString(),
        bytes,
        settleMs: round(t1 - t0),
        gcMs: round(t2 - t1),
        writeMs: round(t3 - t2),
        takenAtUs: clock.us,
        memory: { rss: clock.memory.rss, heapUsed: clock.memory.heapUsed, external: clock.memory.external, arrayBuffers: clock.memory.arrayBuffers },
      };
      manifest.snapshots.push(snapshot);
      writeAttachManifest(manifest);
      report({ kind: 'snapshot', snapshot, expected: snapshots });
    }
    ending = { how: 'completed', exitCode: null, signal: null };
  } catch (error) {
    ending = await endingFor(error, pid, outDir, manifest.snapshots.length, snapshots, client, options.signal);
  }

  // Detach: the target keeps running as it did before.
  if (client.isOpen && ending.how !== 'exited') {
    if (tracing) {
      try {
        await tracing.stop(outDir, requestTimeoutMs);
      } catch (error) {
        note(`no lifecycle ledger: stopping NodeTracing failed (${(error as Error).message})`);
      }
    }
    if (agent?.status === 'injected') {
      try {
        await uninstallAgent(client, agent, requestTimeoutMs);
        manifest.attach.agentRemoved = true;
      } catch (error) {
        note(`could not disable the injected agent in process ${pid}: ${(error as Error).message}`);
      }
    }
    await client.send('Runtime.releaseObjectGroup', { objectGroup: OBJECT_GROUP }, { timeoutMs: requestTimeoutMs }).catch(() => undefined);
    await client.send('HeapProfiler.disable', {}, { timeoutMs: requestTimeoutMs }).catch(() => undefined);
    if (endpoint.openedByUs) {
      await closeTargetInspector(client, requestTimeoutMs);
      manifest.attach.inspectorClosed = await waitForPortClosed(endpoint.host, endpoint.port, 3_000);
      if (!manifest.attach.inspectorClosed) note(`the inspector of process ${pid} is still open on ${endpoint.host}:${endpoint.port}: close it with require('inspector').close() there`);
    }
  } else if (endpoint.openedByUs && ending.how !== 'exited' && isAlive(pid)) {
    note(`the inspector connection was lost; the inspector of process ${pid} may still be open on ${endpoint.host}:${endpoint.port}`);
  }
  await client.close();
  report({ kind: 'detached', inspectorClosed: manifest.attach.inspectorClosed, agentRemoved: manifest.attach.agentRemoved });

  // The ending.
  const removed = removeTemporaryFiles(outDir);
  if (removed.length > 0) notes.push(`removed ${removed.length} unfinished temporary file(s)`);
  const entry = manifest.processes[0]!;
  if (ending.how === 'exited') {
    entry.ended = { how: 'unknown', exitCode: null, signal: null };
    entry.endedAt = new Date().toISOString();
  }
  manifest.ended = ending;
  manifest.status = ending.how === 'completed' ? 'completed' : 'failed';
  manifest.endedAt = new Date().toISOString();
  manifest.durationMs = Date.parse(manifest.endedAt) - Date.parse(manifest.startedAt);
  if (notes.length > 0) manifest.notes = notes;
  let failure = ending.how === 'completed' ? undefined : (ending.message ?? ending.how);
  try {
    writeAttachManifest(manifest);
  } catch (error) {
    // The manifest of the last snapshot stays (status "running"); the caller learns why.
    failure ??= `cannot write ${join(outDir, MANIFEST_FILE)}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`;
  }
  report({ kind: 'ended', ending });
  return {
    ok: failure === undefined,
    failure,
    manifest,
    manifestPath: join(outDir, MANIFEST_FILE),
    snapshotFiles: manifest.snapshots.map((s) => join(outDir, s.file)),
  };
}

/**
 * The same analysis as `diff` over an attach folder (undefined with fewer than
 * two snapshots), with notes on what an attach can and cannot see.
 */
export async function analyzeAttach(result: AttachResult, options: AnalyzeOptions = {}): Promise<AnalysisResult | undefined> {
  const { manifest } = result;
  if (manifest.snapshots.length < 2) return undefined;
  const noIterationCountsNote = `An attach knows no iteration counts: perIteration is null. The snapshots were taken ${formatSeconds(manifest.attach.intervalMs)} s apart (takenAt in manifest.json).`;
  const analysis = await analyzeSnapshots(resolveSnapshotInputs([manifest.outDir]), { ...options, noIterationCountsNote });
  analysis.notes.push(...attachNotes(manifest, analysis));
  return analysis;
}

/** What a reader of an attach analysis must know beyond what every analysis says. */
export function attachNotes(manifest: AttachManifest, analysis: AnalysisResult): string[] {
  const notes: string[] = [];
  const { pid, agent, agentInjectedAt } = manifest.attach;
  if (agent === 'injected') {
    notes.push(
      `Attached to running process ${pid} and injected the agent at ${agentInjectedAt}: only async contexts created after attaching are named and counted by name; ` +
        'contexts opened before that are not (those with a NULL resource, async work or threadsafe functions show in the unnamed groups).',
    );
  } else if (agent === 'none' && analysis.asyncContexts.some((row) => row.growth > 0)) {
    notes.push(`Attached to running process ${pid} without the agent: attach again with --inject-agent to name the async contexts created from then on.`);
  }
  return notes;
}

/** An output folder that exists, or can be made: checked before the target is signalled, created once attached. */
function checkOutDir(outDir: string): string {
  const absolute = resolve(outDir);
  for (let path = absolute; ; path = dirname(path)) {
    let stats;
    try {
      stats = statSync(path);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT' && dirname(path) !== path) continue;
      throw new AttachInputError(`cannot create output folder ${outDir}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
    }
    if (!stats.isDirectory()) throw new AttachInputError(path === absolute ? `output path ${outDir} is not a folder` : `cannot create output folder ${outDir}: ${path} is not a folder`);
    try {
      accessSync(path, constants.W_OK);
    } catch {
      throw new AttachInputError(`cannot create output folder ${outDir}: ${path} is not writable`);
    }
    return absolute;
  }
}

/** mkdir -p, one level at a time (Node 20's recursive mkdirSync never returns for a path under /proc). */
function makeFolder(path: string): void {
  const missing: string[] = [];
  for (let p = path; !existsSync(p); p = dirname(p)) {
    if (dirname(p) === p) break;
    missing.unshift(p);
  }
  for (const p of missing) mkdirSync(p);
}

/** Sleeps until `time` (Date.now() scale), ending early when the connection drops or `signal` aborts. */
async function waitUntil(time: number, client: InspectorClient, signal: AbortSignal | undefined): Promise<void> {
  const ms = time - Date.now();
  if (ms <= 0) return;
  const controller = new AbortController();
  const onAbort = () => controller.abort();
  signal?.addEventListener('abort', onAbort, { once: true });
  try {
    const closed = client.closed.then(() => {
      throw new InspectorDisconnectedError('inspector connection closed while waiting for the next snapshot');
    });
    closed.catch(() => {});
    await Promise.race([sleep(ms, undefined, { signal: controller.signal }), closed]);
  } finally {
    controller.abort();
    signal?.removeEventListener('abort', onAbort);
  }
  signal?.throwIfAborted();
}

async function endingFor(error: unknown, pid: number, outDir: string, done: number, asked: number, client: InspectorClient, signal: AbortSignal | undefined): Promise<AttachEnding> {
  const base = { exitCode: null, signal: null };
  const progress = `${done} of ${asked} snapshot(s) written`;
  if (signal?.aborted) return { how: 'aborted', ...base, message: `attach to process ${pid} interrupted; ${progress}` };
  // A process that exits closes the socket a moment before it is gone.
  const dropped = error instanceof InspectorDisconnectedError || !client.isOpen;
  if (dropped) {
    for (let i = 0; i < 40 && isAlive(pid); i++) await sleep(25);
  }
  if (!isAlive(pid)) return { how: 'exited', ...base, message: `process ${pid} exited during the capture; ${progress}` };
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  if (code === 'ENOSPC' || code === 'EDQUOT') return { how: 'disk-full', ...base, message: `no space left on device (${code}) writing into ${outDir}; ${progress}` };
  if (dropped) return { how: 'disconnected', ...base, message: `the inspector connection to process ${pid} closed during the capture; ${progress}` };
  return { how: 'failed', ...base, message: `attach to process ${pid} failed: ${String((error as Error)?.message ?? error).split('\n')[0]}; ${progress}` };
}

async function waitForPortClosed(host: LoopbackHost, port: number, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await portClosed(host, port)) return true;
    if (Date.now() >= deadline) return false;
    await sleep(50);
  }
}

const round = (ms: number): number => Math.round(ms * 10) / 10;

/** 0, 1.5, 12: seconds with at most one decimal. */
function formatSeconds(ms: number): string {
  return String(Math.round(ms / 100) / 10);
}
