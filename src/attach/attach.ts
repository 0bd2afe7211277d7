import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { analyzeSnapshots, type AnalyzeOptions } from '../analysis/analyze.js';
import type { AnalysisResult } from '../analysis/result.js';
import { captureInputs } from '../analysis/snapshot-inputs.js';
import { writeManifest, type AgentStatus, type AttachEnding, type AttachManifest, type LoopbackHost, type SnapshotEntry } from '../capture-folder/manifest.js';
import { CaptureInputError } from '../capture/errors.js';
import { checkCaptureFolder, finishCapture, openCaptureFolder, type CaptureResult } from '../capture/lifecycle.js';
import { requireBuiltAgent } from '../capture/protocol.js';
import { toolVersion } from '../capture/version.js';
import { AttachInputError, InspectorDisconnectedError } from './errors.js';
import { InspectorClient } from './inspector-client.js';
import {
  OBJECT_GROUP,
  closeTargetInspector,
  eventLoopTurns,
  findPreloadedAgent,
  injectAgent,
  settleTarget,
  targetInfo,
  uninstallAgent,
  type RemoteAgent,
  type TargetInfo,
} from './remote-agent.js';
import { snapshotAtMoment } from './snapshot-moment.js';
import { startTracing, type TraceRecorder } from './tracing.js';
import { activateInspector, checkTargetProcess, inspectorTarget, isAlive, loopbackHost, portClosed, webSocketUrl, type InspectorEndpoint } from './target.js';

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

/** How the attach went (ok when every snapshot was written) and its manifest. */
export type AttachResult = CaptureResult<AttachManifest>;

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
  const { pid, snapshots, intervalMs } = options;
  if (!Number.isSafeInteger(snapshots) || snapshots < 1) throw new AttachInputError(`--snapshots must be a whole number ≥ 1 (got ${snapshots})`);
  if (!Number.isSafeInteger(intervalMs) || intervalMs < 0) throw new AttachInputError(`--interval must be a whole number of ms ≥ 0 (got ${intervalMs})`);
  if (options.port !== undefined && (!Number.isSafeInteger(options.port) || options.port < 1 || options.port > 65535)) {
    throw new AttachInputError(`--port must be a TCP port, 1-65535 (got ${options.port})`);
  }
  const host = options.host === undefined ? undefined : loopbackHost(options.host);
  const agentPath = options.injectAgent ? asAttachInput(requireBuiltAgent) : undefined;
  checkTargetProcess(pid, options.port === undefined);
  const outDir = asAttachInput(() => checkCaptureFolder(options.outDir));
  options.signal?.throwIfAborted();

  const { endpoint, client, info } = await connect(options, host, requestTimeoutMs);
  // From here on the capture runs: the manifest says how it went.
  const manifest = attachManifest(outDir, options, endpoint, info);
  try {
    openCaptureFolder(manifest);
  } catch (error) {
    if (endpoint.openedByUs && client.isOpen) await closeTargetInspector(client, requestTimeoutMs);
    await client.close();
    throw new AttachInputError((error as Error).message);
  }
  report({ kind: 'inspector', pid, host: endpoint.host, port: endpoint.port, openedByUs: endpoint.openedByUs });
  report({ kind: 'connected', pid, node: info.version, argv: info.argv });

  const notes: string[] = [];
  const note = (message: string) => {
    notes.push(message);
    report({ kind: 'note', message });
  };
  const session: Session = { client, manifest, agent: undefined, tracing: undefined, note };
  let ending: AttachEnding;
  try {
    await prepareTarget(session, options, agentPath, requestTimeoutMs);
    await takeSnapshots(session, options, requestTimeoutMs);
    ending = { how: 'completed', exitCode: null, signal: null };
  } catch (error) {
    ending = await endingFor(error, pid, outDir, manifest.snapshots.length, snapshots, client, options.signal);
  }
  await detach(session, endpoint, ending, requestTimeoutMs);
  report({ kind: 'detached', inspectorClosed: manifest.attach.inspectorClosed, agentRemoved: manifest.attach.agentRemoved });

  if (ending.how === 'exited') {
    const entry = manifest.processes[0]!;
    entry.ended = { how: 'unknown', exitCode: null, signal: null };
    entry.endedAt = new Date().toISOString();
  }
  const result = finishCapture(manifest, ending, notes);
  report({ kind: 'ended', ending });
  return result;
}

/** What the steps of one attach share. */
interface Session {
  client: InspectorClient;
  manifest: AttachManifest;
  agent: RemoteAgent | undefined;
  tracing: TraceRecorder | undefined;
  note: (message: string) => void;
}

/** The library's own input checks throw CaptureInputError; an attach's callers expect AttachInputError. */
function asAttachInput<T>(step: () => T): T {
  try {
    return step();
  } catch (error) {
    if (error instanceof CaptureInputError) throw new AttachInputError(error.message);
    throw error;
  }
}

/** Finds (or opens) the target's inspector, connects, and checks the inspector is the target's. */
async function connect(options: AttachOptions, host: LoopbackHost | undefined, requestTimeoutMs: number): Promise<{ endpoint: InspectorEndpoint; client: InspectorClient; info: TargetInfo }> {
  const { pid } = options;
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
  let info: TargetInfo;
  try {
    info = await targetInfo(client, requestTimeoutMs);
  } catch (error) {
    // Leaving before the capture starts: an inspector this attach opened is closed again.
    if (endpoint.openedByUs && client.isOpen) await closeTargetInspector(client, requestTimeoutMs);
    await client.close();
    throw new AttachInputError(`the inspector at ${endpoint.host}:${endpoint.port} does not answer: ${(error as Error).message}`);
  }
  if (info.pid !== pid) {
    await client.close();
    throw new AttachInputError(`the inspector at ${endpoint.host}:${endpoint.port} belongs to process ${info.pid}, not ${pid}`);
  }
  return { endpoint, client, info };
}

function attachManifest(outDir: string, options: AttachOptions, endpoint: InspectorEndpoint, info: TargetInfo): AttachManifest {
  const startedAt = new Date();
  return {
    schemaVersion: 1,
    tool: { name: 'napi-heapdiff', version: toolVersion() },
    mode: 'attach',
    status: 'running',
    outDir,
    attach: {
      pid: options.pid,
      host: endpoint.host,
      port: endpoint.port,
      inspector: endpoint.openedByUs ? 'opened' : 'already-open',
      inspectorClosed: false,
      agent: 'none',
      agentInjectedAt: null,
      agentRemoved: false,
      snapshots: options.snapshots,
      intervalMs: options.intervalMs,
    },
    node: { version: info.version, execPath: info.execPath },
    startedAt: startedAt.toISOString(),
    endedAt: null,
    durationMs: null,
    ended: { how: 'running', exitCode: null, signal: null },
    processes: [{
      pid: options.pid,
      argv: info.argv,
      node: info.version,
      startedAt: new Date(startedAt.getTime() - info.uptimeMs).toISOString(),
      endedAt: null,
      ended: { how: 'running', exitCode: null, signal: null },
    }],
    snapshots: [],
  };
}

/** The agent (found preloaded, or injected when asked), the heap profiler and the trace-event ledger. */
async function prepareTarget(session: Session, options: AttachOptions, agentPath: string | undefined, requestTimeoutMs: number): Promise<void> {
  const { client, manifest, note } = session;
  session.agent = await findPreloadedAgent(client, requestTimeoutMs);
  if (!session.agent && agentPath) {
    session.agent = await injectAgent(client, agentPath, requestTimeoutMs);
    manifest.attach.agentInjectedAt = new Date().toISOString();
  } else if (session.agent && options.injectAgent) {
    note(`process ${options.pid} already runs the agent (preloaded): not injected again; names cover its whole run`);
  }
  manifest.attach.agent = session.agent?.status ?? 'none';
  options.onProgress?.({ kind: 'agent', agent: manifest.attach.agent, requested: options.injectAgent === true });
  writeManifest(manifest);
  await client.send('HeapProfiler.enable', {}, { timeoutMs: requestTimeoutMs });
  try {
    session.tracing = await startTracing(client, requestTimeoutMs);
  } catch (error) {
    note(`no lifecycle ledger: the target's inspector refused NodeTracing.start (${(error as Error).message})`);
  }
}

/** k snapshots, --interval ms apart: each after letting pending destroys through and two GCs. */
async function takeSnapshots(session: Session, options: AttachOptions, requestTimeoutMs: number): Promise<void> {
  const { client, manifest, note } = session;
  const { pid, snapshots, intervalMs } = options;
  const settleTimeoutMs = options.settleTimeoutMs ?? DEFAULTS.settleTimeoutMs;
  const first = Date.now();
  let settleWarned = false;
  for (let index = 1; index <= snapshots; index++) {
    if (index > 1) await waitUntil(first + (index - 1) * intervalMs, client, options.signal);
    options.signal?.throwIfAborted();
    const t0 = performance.now();
    const settled = await settleTarget(client, session.agent, settleTimeoutMs);
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
    const name = `snapshot-${index}.heapsnapshot`;
    const { bytes, reading, exact, attempts } = await snapshotAtMoment(client, join(manifest.outDir, name), { signal: options.signal, requestTimeoutMs, holdTimeoutMs: settled ? settleTimeoutMs : 0 });
    if (!exact) {
      note(`snapshot ${index}: ${attempts > 1 ? `taken ${attempts} times, each in the middle of an async hook` : 'the target\'s clock could not be read at the moment its heap was taken'}; the ledger's counts there may be off by what the program did in between`);
    }
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
      takenAtUs: reading.us,
      memory: { rss: reading.memory.rss, heapUsed: reading.memory.heapUsed, external: reading.memory.external, arrayBuffers: reading.memory.arrayBuffers },
    };
    manifest.snapshots.push(snapshot);
    writeManifest(manifest);
    options.onProgress?.({ kind: 'snapshot', snapshot, expected: snapshots });
  }
}

/** The target keeps running as it did before: tracing stopped, an injected agent disabled, an inspector this attach opened closed. */
async function detach(session: Session, endpoint: InspectorEndpoint, ending: AttachEnding, requestTimeoutMs: number): Promise<void> {
  const { client, manifest, note, agent, tracing } = session;
  const pid = manifest.attach.pid;
  if (client.isOpen && ending.how !== 'exited') {
    if (tracing) {
      try {
        await tracing.stop(manifest.outDir, requestTimeoutMs);
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
}

/**
 * The same analysis as `diff` over an attach folder (undefined with fewer than
 * two snapshots), with notes on what an attach can and cannot see.
 */
export async function analyzeAttach(result: AttachResult, options: AnalyzeOptions = {}): Promise<AnalysisResult | undefined> {
  const { manifest } = result;
  if (manifest.snapshots.length < 2) return undefined;
  const noIterationCountsNote = `An attach knows no iteration counts: perIteration is null. The snapshots were taken ${formatSeconds(manifest.attach.intervalMs)} s apart (takenAt in manifest.json).`;
  const analysis = await analyzeSnapshots(captureInputs(manifest.outDir, manifest), { ...options, noIterationCountsNote });
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
