import { setTimeout as sleep } from 'node:timers/promises';
import type { InspectorClient } from './inspector-client.js';
import { OBJECT_GROUP } from './remote-agent.js';
import { streamHeapSnapshot } from './snapshot-stream.js';

/** The target's trace clock (µs, the clock of its trace events) and memory. */
export interface TargetReading {
  us: number;
  memory: { rss: number; heapUsed: number; external: number; arrayBuffers: number };
}

export interface SnapshotAtMoment {
  bytes: number;
  /** Read at the heap's moment: nothing of the program ran in between. */
  reading: TargetReading;
  /** False when no attempt gave a reading at the heap's moment (then the closest one). */
  exact: boolean;
  attempts: number;
}

/** Attempts before a snapshot taken inside an async hook is kept. */
const MAX_ATTEMPTS = 3;

/**
 * One evaluation sent right behind HeapProfiler.takeHeapSnapshot reads the
 * clock twice, because targets take the heap at different moments:
 * - `now`, at once. Node 20 takes the snapshot while dispatching the request
 *   and dispatches the evaluation right after it: `now` is the heap's moment.
 * - `later`, from a task queued behind the snapshot. V8 in Node 22+ defers the
 *   snapshot to a task until the stack is empty, so the evaluation runs
 *   before the heap is taken (program timers can run in between). An
 *   Atomics.waitAsync notified at once resolves through the same task queue,
 *   right behind the snapshot task: `later` is then the heap's moment.
 * Which case it was, the order of replies says (the evaluation's reply before
 * the snapshot's first chunk: the heap came after `now`).
 *
 * The frames on the stack say whether an async hook was running: Node
 * dispatches inspector messages in an interrupt whenever JavaScript runs, and
 * one can land inside `napi_async_init`, after the strong handle to its
 * resource and before the init hook's trace event names it (or inside a
 * destroy hook, after the resource is gone and before its event). A heap
 * taken there disagrees with the ledger by that context. HOLD keeps this
 * from happening; when the target could not be held, such a snapshot is
 * taken again. Other program code on the stack does not matter here.
 */
const READ_AT_HEAP = `(() => {
  const read = () => ({ us: Number(process.hrtime.bigint() / 1000n), memory: process.memoryUsage() });
  const prepare = Error.prepareStackTrace, limit = Error.stackTraceLimit;
  const hooks = ['node:internal/async_hooks', 'node:internal/trace_events_async_hooks'];
  Error.prepareStackTrace = (_, sites) => sites.some((site) => hooks.includes(site.getFileName()));
  Error.stackTraceLimit = Infinity;
  const inAsyncHook = new Error().stack;
  Error.prepareStackTrace = prepare;
  Error.stackTraceLimit = limit;
  const moment = { now: read(), inAsyncHook, later: null };
  const cell = new Int32Array(new SharedArrayBuffer(4));
  Atomics.waitAsync(cell, 0, 0).value.then(() => { moment.later = read(); });
  Atomics.notify(cell, 0, 1);
  return moment;
})()`;

interface Moment {
  now: TargetReading;
  inAsyncHook: boolean;
}

const HOLD_LIMIT_MS = 5_000;

/**
 * Holds the target's main thread in a loop of ours, entered from an
 * Immediate: a clean stack, no program code half-way. Inspector messages
 * that arrive meanwhile are dispatched from the loop's interrupt checks, so
 * on Node 20 the heap is taken and the clock read there, with nothing of the
 * program in between however late the second message comes. The loop ends
 * when released, or by itself after HOLD_LIMIT_MS of spinning (this process
 * gone); time spent in a dispatched message (a snapshot of a big heap takes
 * many seconds) does not count towards it.
 */
const HOLD = `(() => {
  const hold = { holding: false, release: false };
  setImmediate(() => {
    hold.holding = true;
    let spun = 0;
    for (let last = Date.now(); !hold.release && spun < ${HOLD_LIMIT_MS};) {
      const now = Date.now();
      if (now - last < 50) spun += now - last;
      last = now;
    }
    hold.holding = false;
  });
  return hold;
})()`;

/**
 * Streams a heap snapshot of the target to `file` with the target's clock
 * and memory at the moment the heap was taken, to cut the lifecycle ledger
 * there. The target is held in a loop of ours meanwhile (see HOLD); one whose
 * event loop does not get there within `holdTimeoutMs` (blocked) is
 * snapshot where it is, and a snapshot whose reading is then not at the
 * heap's moment is taken again, up to three times; the last is kept with
 * `exact: false`.
 */
export async function snapshotAtMoment(client: InspectorClient, file: string, options: { signal?: AbortSignal; requestTimeoutMs: number; holdTimeoutMs: number }): Promise<SnapshotAtMoment> {
  for (let attempt = 1; ; attempt++) {
    const hold = await evaluateToObject(client, HOLD, options.requestTimeoutMs);
    // Sent, not awaited: on Node 22+ the snapshot task runs only once the hold is over.
    const release = () => client.post('Runtime.callFunctionOn', { objectId: hold, functionDeclaration: 'function () { this.release = true; }', silent: true });
    try {
      const held = (await waitForProperty(client, hold, 'this.holding', options.holdTimeoutMs, options.requestTimeoutMs)) === true;
      const taken = await snapshotWithReading(client, file, release, options);
      if (held || !taken.inAsyncHook || attempt === MAX_ATTEMPTS) {
        return { bytes: taken.bytes, reading: taken.reading, exact: taken.exact && (held || !taken.inAsyncHook), attempts: attempt };
      }
    } finally {
      release();
      await client.send('Runtime.releaseObject', { objectId: hold }).catch(() => undefined);
    }
  }
}

/** The snapshot and READ_AT_HEAP sent right behind it; `release` ends the hold as soon as the reading is in. */
async function snapshotWithReading(client: InspectorClient, file: string, release: () => void, options: { signal?: AbortSignal; requestTimeoutMs: number }): Promise<{ bytes: number; reading: TargetReading; exact: boolean; inAsyncHook: boolean }> {
  let chunks = 0;
  let chunksBeforeReading = -1;
  const stopCounting = client.on('HeapProfiler.addHeapSnapshotChunk', () => {
    chunks++;
  });
  try {
    const streamed = streamHeapSnapshot(client, file, { signal: options.signal });
    const evaluated = client.send<EvaluateReply>(
      'Runtime.evaluate',
      { expression: READ_AT_HEAP, returnByValue: false, objectGroup: OBJECT_GROUP, silent: true },
      { timeoutMs: options.requestTimeoutMs, onReply: () => { chunksBeforeReading = chunks; release(); } },
    );
    const [{ bytes }, reply] = await Promise.all([streamed, evaluated]);
    const holder = objectOf(reply);
    try {
      const moment = await property<Moment>(client, holder, '{ now: this.now, inAsyncHook: this.inAsyncHook }', options.requestTimeoutMs);
      if (chunksBeforeReading !== 0) return { bytes, reading: moment.now, exact: true, inAsyncHook: moment.inAsyncHook };
      // The heap was taken after `now`: `later` is its moment, once the task behind it has run.
      const later = await waitForProperty(client, holder, 'this.later', 300, options.requestTimeoutMs);
      return { bytes, reading: (later as TargetReading | undefined) ?? moment.now, exact: later !== undefined, inAsyncHook: false };
    } finally {
      await client.send('Runtime.releaseObject', { objectId: holder }).catch(() => undefined);
    }
  } finally {
    stopCounting();
  }
}

interface EvaluateReply {
  result: { objectId?: string };
  exceptionDetails?: unknown;
}

function objectOf(reply: EvaluateReply): string {
  if (reply.exceptionDetails || !reply.result.objectId) throw new Error('the target could not run the snapshot\'s clock reading');
  return reply.result.objectId;
}

async function evaluateToObject(client: InspectorClient, expression: string, timeoutMs: number): Promise<string> {
  return objectOf(await client.send<EvaluateReply>('Runtime.evaluate', { expression, returnByValue: false, objectGroup: OBJECT_GROUP, silent: true }, { timeoutMs }));
}

/**
 * Polls `expression` on an object of the target until it is truthy (its
 * value) or `waitMs` has passed (undefined). In a process whose promise jobs
 * no longer run (a leaked callback scope) `later` never comes; in one whose
 * event loop is blocked the hold never starts.
 */
async function waitForProperty(client: InspectorClient, objectId: string, expression: string, waitMs: number, timeoutMs: number): Promise<unknown> {
  const deadline = Date.now() + waitMs;
  for (let delay = 1; ; delay = Math.min(delay * 2, 50)) {
    const value = await property<unknown>(client, objectId, expression, timeoutMs);
    if (value) return value;
    if (Date.now() >= deadline) return undefined;
    await sleep(delay);
  }
}

async function property<T>(client: InspectorClient, objectId: string, expression: string, timeoutMs: number): Promise<T> {
  const reply = await client.send<{ result: { value?: unknown } }>(
    'Runtime.callFunctionOn',
    { objectId, functionDeclaration: `function () { return ${expression}; }`, returnByValue: true, objectGroup: OBJECT_GROUP, silent: true },
    { timeoutMs },
  );
  return reply.result.value as T;
}
