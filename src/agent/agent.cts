/**
 * napi-heapdiff agent: a preload (`node --require napi-heapdiff/agent app.js`,
 * or through NODE_OPTIONS) that records every async context whose type is not
 * one of Node's own, i.e. the names native addons pass to `napi_async_init`,
 * `napi_create_async_work` and thread-safe functions, node-addon-api workers
 * and user `AsyncResource`s, in a form that any heap snapshot of the process
 * carries (DevTools, `--heapsnapshot-signal`, `v8.writeHeapSnapshot`).
 *
 * Rules this file keeps (the observed program must not notice it):
 * - `node:` modules only; no globals; nothing printed; exit code, signal
 *   handling and stack traces untouched (one exception: in command capture
 *   mode, which the user asked for, SIGUSR2 takes a snapshot);
 * - a creation stack is captured with this file's own formatter swapped into
 *   Error.prepareStackTrace for the duration of one synchronous call, and
 *   Error.stackTraceLimit set and put back the same way (assignments only, so
 *   Error keeps its shape); the program's formatter is never called;
 * - hooks never throw (an exception in an async hook ends the process) and
 *   call no user-patchable built-in after start-up (methods are captured here);
 * - everything it opens is unref'ed: it never keeps the event loop alive.
 *
 * Costs and limits: async_hooks with a destroy hook slow promise-heavy code
 * (about 12x on a bare `await` loop, the same as an empty hook); each
 * non-built-in init costs a stack capture (about 8-10 µs). A worker stopped
 * with worker.terminate() runs no 'exit' handler and reports nothing; a
 * destroy still queued when a worker ends counts as open at teardown.
 *
 * Snapshot schema (version 1), as seen in a heap snapshot:
 *
 *   NapiHeapdiffRegistry                      one per thread, held by the hook closures
 *     .marker   "napi-heapdiff agent registry"  (REGISTRY_MARKER; tells it from look-alikes)
 *     .schema   "1"
 *     .pid, .thread ("main" | "worker <threadId>"), .node (process.version), .startedAt (ISO)
 *     .workersReported  "<n>"                 worker teardown reports received (main thread)
 *     .names    Array of NapiHeapdiffName     one per async type seen, first-seen order
 *     .live     Map asyncId -> record         every open record (so records stay reachable)
 *   NapiHeapdiffName
 *     .name     the async type, e.g. "my_addon_async_work"
 *     .counts   "init=5 destroy=3 before=0 after=0"            this thread's hook events
 *     .workerTeardown  "open=4 workers=2"      records still open when a worker's
 *                                             environment went away, summed over workers
 *     .workerCounts    "init=.. destroy=.. before=.. after=.."  those workers' events
 *     .teardownStacks  Array of NapiHeapdiffStack {stack, count: "<n>"}
 *     .recordPrototype the prototype object of this name's records (see below)
 *   record (one per open async context), named "napi:<name>" in DevTools
 *     .type, .asyncId, .triggerAsyncId (strings), .stack (creation stack, frames
 *     joined by "\n"), .resource (WeakRef to the async resource)
 *     __proto__ = the name's recordPrototype: a function object (so it is not
 *     itself counted as a "napi:<name>" object) with an own
 *     Symbol.toStringTag "napi:<name>". A record is an object whose __proto__
 *     edge leads to a registry's recordPrototype: user objects that merely
 *     carry the same tag do not.
 *
 * Every value the analyzer reads is a flat string: V8 names concatenated
 * strings "(concatenated string)" in snapshots and numbers are not shown.
 */
import { createHook } from 'node:async_hooks';
import { closeSync, mkdirSync, openSync, renameSync, rmSync, statSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { writeHeapSnapshot } from 'node:v8';
import { BroadcastChannel, isMainThread, threadId } from 'node:worker_threads';

export const SCHEMA_VERSION = '1';
export const REGISTRY_MARKER = 'napi-heapdiff agent registry';
/** Record objects are named `${RECORD_TAG_PREFIX}<name>` in snapshots. */
export const RECORD_TAG_PREFIX = 'napi:';
const CHANNEL_NAME = 'napi-heapdiff:agent:v1';
const TEARDOWN_MESSAGE = 'napi-heapdiff:worker-teardown';
/** Frames kept per creation stack. */
const STACK_FRAMES = 6;
/** Frames asked of V8: room for the async_hooks plumbing that is filtered out. */
const STACK_CAPTURE_LIMIT = STACK_FRAMES + 6;
/** Distinct creation stacks interned per name (identical stacks share one string). */
const STACK_INTERN_LIMIT = 512;
/** Distinct teardown stacks kept per name. */
const TEARDOWN_STACK_LIMIT = 20;
/** Distinct stacks a worker reports per name at teardown. */
const TEARDOWN_STACKS_SENT = 5;

/**
 * Async types of Node itself: NODE_ASYNC_PROVIDER_TYPES of src/async_wrap.h
 * (union over Node 20-26, with and without crypto and the inspector) and the
 * types of lib/ (timers, nextTick, queueMicrotask, promises). For these the
 * hooks return at once.
 */
const BUILTIN_TYPES = new Set([
  'NONE', 'DIRHANDLE', 'DNSCHANNEL', 'ELDHISTOGRAM', 'FILEHANDLE', 'FILEHANDLECLOSEREQ', 'BLOBREADER',
  'FSEVENTWRAP', 'FSREQCALLBACK', 'FSREQPROMISE', 'GETADDRINFOREQWRAP', 'GETNAMEINFOREQWRAP', 'HEAPSNAPSHOT',
  'HTTP2SESSION', 'HTTP2STREAM', 'HTTP2PING', 'HTTP2SETTINGS', 'HTTPINCOMINGMESSAGE', 'HTTPCLIENTREQUEST',
  'HTTPPARSER', 'JSSTREAM', 'JSUDPWRAP', 'LOCKS', 'MESSAGEPORT', 'PIPECONNECTWRAP', 'PIPESERVERWRAP', 'PIPEWRAP',
  'PROCESSWRAP', 'PROMISE', 'QUERYWRAP', 'QUIC_ENDPOINT', 'QUIC_LOGSTREAM', 'QUIC_PACKET', 'QUIC_SESSION',
  'QUIC_STREAM', 'QUIC_UDP', 'SHUTDOWNWRAP', 'SIGNALWRAP', 'STATWATCHER', 'STREAMPIPE', 'TCPCONNECTWRAP',
  'TCPSERVERWRAP', 'TCPWRAP', 'TTYWRAP', 'UDPSENDWRAP', 'UDPWRAP', 'SIGINTWATCHDOG', 'WORKER',
  'WORKERCPUPROFILE', 'WORKERCPUUSAGE', 'WORKERHEAPPROFILE', 'WORKERHEAPSNAPSHOT', 'WORKERHEAPSTATISTICS',
  'WRITEWRAP', 'ZLIB',
  // crypto
  'CHECKPRIMEREQUEST', 'PBKDF2REQUEST', 'KEYPAIRGENREQUEST', 'KEYGENREQUEST', 'KEYEXPORTREQUEST',
  'ARGON2REQUEST', 'CIPHERREQUEST', 'DERIVEBITSREQUEST', 'HASHREQUEST', 'RANDOMBYTESREQUEST',
  'RANDOMPRIMEREQUEST', 'SCRYPTREQUEST', 'SIGNREQUEST', 'TLSWRAP', 'VERIFYREQUEST',
  // inspector
  'INSPECTORJSBINDING',
  // lib/
  'Timeout', 'Immediate', 'TickObject', 'Microtask',
]);

// Built-ins captured before any user code runs, so hooks cannot be made to
// call patched methods.
const uncurry = (fn: Function): unknown => Function.prototype.call.bind(fn);
const mapGet = uncurry(Map.prototype.get) as (map: Map<unknown, unknown>, key: unknown) => unknown;
const mapSet = uncurry(Map.prototype.set) as (map: Map<unknown, unknown>, key: unknown, value: unknown) => unknown;
const mapDelete = uncurry(Map.prototype.delete) as (map: Map<unknown, unknown>, key: unknown) => boolean;
const mapForEach = uncurry(Map.prototype.forEach) as (map: Map<unknown, unknown>, fn: (value: never, key: never) => void) => void;
const setHas = uncurry(Set.prototype.has) as (set: Set<unknown>, key: unknown) => boolean;
const arrayJoin = uncurry(Array.prototype.join) as (array: unknown[], separator: string) => string;
const arrayPush = uncurry(Array.prototype.push) as (array: unknown[], ...items: unknown[]) => number;
const arraySort = uncurry(Array.prototype.sort) as <T>(array: T[], compare: (a: T, b: T) => number) => T[];
const stringSplit = uncurry(String.prototype.split) as (s: string, separator: string) => string[];
const stringIndexOf = uncurry(String.prototype.indexOf) as (s: string, search: string) => number;
const stringIncludes = uncurry(String.prototype.includes) as (s: string, search: string) => boolean;
const stringSlice = uncurry(String.prototype.slice) as (s: string, start: number) => string;
const ArrayIsArray = Array.isArray;
const NumberCtor = Number;
const ObjectCreate = Object.create;
const ObjectDefineProperty = Object.defineProperty;
const ObjectGetOwnPropertyDescriptor = Object.getOwnPropertyDescriptor;
const JSONStringify = JSON.stringify;
const JSONParse = JSON.parse;
const DateNow = Date.now;
const ErrorCtor = Error;
const captureStackTrace = Error.captureStackTrace;
const WeakRefCtor = WeakRef;
const toStringTag = Symbol.toStringTag;
const processVersion = process.version;
const processPid = process.pid;

/** A copy of `s` that is a flat (sequential) string, readable in snapshots. */
function flat(s: string): string {
  return s.length < 13 ? s : (JSONParse(JSONStringify(s)) as string);
}

const counterText = (init: number, destroy: number, before: number, after: number): string =>
  arrayJoin(['init=', init, ' destroy=', destroy, ' before=', before, ' after=', after], '');

class NapiHeapdiffStack {
  count: string;
  constructor(
    readonly stack: string,
    public n: number,
  ) {
    this.count = `${n}`;
  }
}

interface RecordPrototype {
  stats: NapiHeapdiffName;
}

class NapiHeapdiffName {
  counts = 'init=0 destroy=0 before=0 after=0';
  workerTeardown = 'open=0 workers=0';
  workerCounts = 'init=0 destroy=0 before=0 after=0';
  teardownStacks: NapiHeapdiffStack[] = [];
  readonly recordPrototype: RecordPrototype;
  // Numbers behind the strings (snapshots do not show numbers).
  init = 0;
  destroy = 0;
  before = 0;
  after = 0;
  open = 0;
  workerOpen = 0;
  workersWithOpen = 0;
  workerInit = 0;
  workerDestroy = 0;
  workerBefore = 0;
  workerAfter = 0;
  readonly stacks = new Map<string, string>();
  readonly teardownStackIndex = new Map<string, NapiHeapdiffStack>();

  constructor(readonly name: string) {
    // A function, not a plain object: V8 names objects after an own or
    // inherited Symbol.toStringTag, so a plain prototype would itself show up
    // as one more "napi:<name>" object; a function shows up as a closure.
    const prototype = function NapiHeapdiffRecord() {} as unknown as RecordPrototype;
    ObjectDefineProperty(prototype, toStringTag, { value: flat(RECORD_TAG_PREFIX + name) });
    ObjectDefineProperty(prototype, 'stats', { value: this });
    this.recordPrototype = prototype;
  }

  refreshCounts(): void {
    this.counts = counterText(this.init, this.destroy, this.before, this.after);
  }
}

interface AsyncRecord {
  type: string;
  asyncId: string;
  triggerAsyncId: string;
  stack: string;
  resource: WeakRef<object> | undefined;
  /** Inherited from the record prototype. */
  readonly stats: NapiHeapdiffName;
}

class NapiHeapdiffRegistry {
  readonly marker = REGISTRY_MARKER;
  readonly schema = SCHEMA_VERSION;
  readonly pid = `${processPid}`;
  readonly thread = isMainThread ? 'main' : `worker ${threadId}`;
  readonly node = processVersion;
  readonly startedAt = new Date(DateNow()).toISOString();
  workersReported = '0';
  workersReportedCount = 0;
  readonly names: NapiHeapdiffName[] = [];
  readonly live = new Map<number, AsyncRecord>();
  readonly byName = new Map<string, NapiHeapdiffName>();
}

const registry = new NapiHeapdiffRegistry();
let mainChannel: BroadcastChannel | undefined;

function statsFor(type: string): NapiHeapdiffName {
  let stats = mapGet(registry.byName, type) as NapiHeapdiffName | undefined;
  if (stats === undefined) {
    stats = new NapiHeapdiffName(flat(type));
    mapSet(registry.byName, type, stats);
    arrayPush(registry.names, stats);
  }
  return stats;
}

// ---------------------------------------------------------------------------
// Creation stacks

/** Where this file's own frames come from (filtered out of stacks). */
const ownFile = __filename;

/** Frames of the async_hooks plumbing between the code that made a resource and the init hook. */
function isPlumbing(location: string): boolean {
  return (
    stringIncludes(location, 'node:internal/async_hooks:') ||
    stringIncludes(location, 'node:async_hooks:') ||
    stringIncludes(location, ownFile)
  );
}

function joinFrames(frames: string[]): string {
  // join() of two or more parts makes a flat string; a single part would come back as is.
  return frames.length === 0 ? '' : frames.length === 1 ? flat(frames[0]!) : arrayJoin(frames, '\n');
}

/** Used only while the program has its own Error.prepareStackTrace, which must not see our captures. */
function formatCallSites(_holder: unknown, callSites: NodeJS.CallSite[]): string {
  const frames: string[] = [];
  for (let i = 0; i < callSites.length && frames.length < STACK_FRAMES; i++) {
    const text = `${callSites[i]!}`;
    if (!isPlumbing(text)) arrayPush(frames, text);
  }
  return joinFrames(frames);
}

/** Frames out of Node's default formatting ("Error\n    at f (file:1:2)\n..."). */
function framesOfDefaultFormat(text: string): string {
  const lines = stringSplit(text, '\n');
  const frames: string[] = [];
  for (let i = 1; i < lines.length && frames.length < STACK_FRAMES; i++) {
    const line = lines[i]!;
    const at = stringIndexOf(line, 'at ');
    const frame = at < 0 ? line : stringSlice(line, at + 3);
    if (!isPlumbing(frame)) arrayPush(frames, frame);
  }
  return joinFrames(frames);
}

/**
 * The JS stack that created an async resource, never formatted by the
 * program's own Error.prepareStackTrace and with Error.stackTraceLimit put
 * back. Without a program-defined prepareStackTrace, Node's default
 * formatting is used (source maps included when enabled) and nothing but
 * stackTraceLimit is touched; properties are only ever assigned, never added
 * or deleted, so Error keeps its shape.
 */
function creationStack(stats: NapiHeapdiffName, below: Function): string {
  const limit = ObjectGetOwnPropertyDescriptor(ErrorCtor, 'stackTraceLimit');
  // No (or no writable) limit: V8 captures nothing, or the program froze it. Leave it.
  if (limit === undefined || !('value' in limit) || limit.writable !== true) return '';
  const prepare = ObjectGetOwnPropertyDescriptor(ErrorCtor, 'prepareStackTrace');
  const borrow = prepare !== undefined;
  if (borrow && (!('value' in prepare) || prepare.writable !== true)) return '';
  const mutableError = ErrorCtor as unknown as { prepareStackTrace: unknown; stackTraceLimit: unknown };
  const holder: { stack?: unknown } = {};
  let text: unknown;
  try {
    if (borrow) mutableError.prepareStackTrace = formatCallSites;
    mutableError.stackTraceLimit = STACK_CAPTURE_LIMIT;
    captureStackTrace(holder, below);
    text = holder.stack;
  } finally {
    if (borrow) mutableError.prepareStackTrace = prepare.value;
    mutableError.stackTraceLimit = limit.value;
  }
  if (typeof text !== 'string') return '';
  const stack = borrow ? text : framesOfDefaultFormat(text);
  // Identical stacks share one string.
  const interned = mapGet(stats.stacks, stack) as string | undefined;
  if (interned !== undefined) return interned;
  if (stats.stacks.size < STACK_INTERN_LIMIT) mapSet(stats.stacks, stack, stack);
  return stack;
}

// ---------------------------------------------------------------------------
// Hooks

function init(asyncId: number, type: string, triggerAsyncId: number, resource: object): void {
  if (setHas(BUILTIN_TYPES, type)) {
    // The main thread listens for worker teardown reports once a Worker exists.
    if (type === 'WORKER' && isMainThread && mainChannel === undefined) listenForWorkers();
    return;
  }
  try {
    const stats = statsFor(type);
    const record = ObjectCreate(stats.recordPrototype) as AsyncRecord;
    record.type = stats.name;
    record.asyncId = `${asyncId}`;
    record.triggerAsyncId = `${triggerAsyncId}`;
    record.stack = creationStack(stats, init);
    record.resource = (typeof resource === 'object' && resource !== null) || typeof resource === 'function' ? new WeakRefCtor(resource) : undefined;
    mapSet(registry.live, asyncId, record);
    stats.init++;
    stats.open++;
    stats.refreshCounts();
  } catch {
    // Never let an exception escape an async hook.
  }
}

function before(asyncId: number): void {
  try {
    const record = mapGet(registry.live, asyncId) as AsyncRecord | undefined;
    if (record === undefined) return;
    const stats = record.stats;
    stats.before++;
    stats.refreshCounts();
  } catch {
    // ignore
  }
}

function after(asyncId: number): void {
  try {
    const record = mapGet(registry.live, asyncId) as AsyncRecord | undefined;
    if (record === undefined) return;
    const stats = record.stats;
    stats.after++;
    stats.refreshCounts();
  } catch {
    // ignore
  }
}

function destroy(asyncId: number): void {
  try {
    const record = mapGet(registry.live, asyncId) as AsyncRecord | undefined;
    if (record === undefined) return;
    mapDelete(registry.live, asyncId);
    const stats = record.stats;
    stats.destroy++;
    stats.open--;
    stats.refreshCounts();
  } catch {
    // ignore
  }
}

createHook({ init, before, after, destroy }).enable();

// ---------------------------------------------------------------------------
// Worker teardown: a worker cannot observe its environment going away, but its
// process 'exit' event is the last JS it runs. Whatever is still open then is
// never destroyed; the worker reports it to the main thread's registry.

interface TeardownName {
  name: string;
  open: number;
  init: number;
  destroy: number;
  before: number;
  after: number;
  stacks: [string, number][];
}

interface TeardownMessage {
  kind: typeof TEARDOWN_MESSAGE;
  thread: number;
  names: TeardownName[];
}

function teardownReport(): TeardownMessage {
  const names: TeardownName[] = [];
  const stacksByName = new Map<NapiHeapdiffName, Map<string, number>>();
  mapForEach(registry.live as Map<unknown, unknown>, (record: AsyncRecord) => {
    let counts = mapGet(stacksByName, record.stats) as Map<string, number> | undefined;
    if (counts === undefined) mapSet(stacksByName, record.stats, (counts = new Map()));
    mapSet(counts, record.stack, ((mapGet(counts, record.stack) as number | undefined) ?? 0) + 1);
  });
  for (let i = 0; i < registry.names.length; i++) {
    const stats = registry.names[i]!;
    const stacks: [string, number][] = [];
    const counts = mapGet(stacksByName, stats) as Map<string, number> | undefined;
    if (counts !== undefined) mapForEach(counts as Map<unknown, unknown>, (count: number, stack: string) => arrayPush(stacks, [stack, count]));
    arraySort(stacks, (a, b) => b[1] - a[1]);
    stacks.length = Math.min(stacks.length, TEARDOWN_STACKS_SENT);
    arrayPush(names, { name: stats.name, open: stats.open, init: stats.init, destroy: stats.destroy, before: stats.before, after: stats.after, stacks });
  }
  return { kind: TEARDOWN_MESSAGE, thread: threadId, names };
}

function receiveTeardown(message: unknown): void {
  const report = message as TeardownMessage;
  if (report === null || typeof report !== 'object' || report.kind !== TEARDOWN_MESSAGE || !ArrayIsArray(report.names)) return;
  registry.workersReportedCount++;
  registry.workersReported = `${registry.workersReportedCount}`;
  for (let i = 0; i < report.names.length; i++) {
    const entry = report.names[i]!;
    if (typeof entry?.name !== 'string') continue;
    const stats = statsFor(entry.name);
    const open = NumberCtor(entry.open) || 0;
    stats.workerOpen += open;
    if (open > 0) stats.workersWithOpen++;
    stats.workerTeardown = arrayJoin(['open=', stats.workerOpen, ' workers=', stats.workersWithOpen], '');
    stats.workerInit += NumberCtor(entry.init) || 0;
    stats.workerDestroy += NumberCtor(entry.destroy) || 0;
    stats.workerBefore += NumberCtor(entry.before) || 0;
    stats.workerAfter += NumberCtor(entry.after) || 0;
    stats.workerCounts = counterText(stats.workerInit, stats.workerDestroy, stats.workerBefore, stats.workerAfter);
    const stacks = ArrayIsArray(entry.stacks) ? entry.stacks : [];
    for (let k = 0; k < stacks.length; k++) {
      const pair = stacks[k];
      if (!ArrayIsArray(pair)) continue;
      const stack = pair[0];
      const count = pair[1];
      if (typeof stack !== 'string') continue;
      let slot = mapGet(stats.teardownStackIndex, stack) as NapiHeapdiffStack | undefined;
      if (slot === undefined) {
        if (stats.teardownStacks.length >= TEARDOWN_STACK_LIMIT) continue;
        slot = new NapiHeapdiffStack(flat(stack), 0);
        mapSet(stats.teardownStackIndex, stack, slot);
        arrayPush(stats.teardownStacks, slot);
      }
      slot.n += NumberCtor(count) || 0;
      slot.count = `${slot.n}`;
    }
  }
}

/** The main thread listens only once a Worker exists (its WORKER init is the cue). */
function listenForWorkers(): void {
  if (mainChannel !== undefined) return;
  try {
    mainChannel = new BroadcastChannel(CHANNEL_NAME);
    mainChannel.onmessage = (event: unknown) => {
      try {
        receiveTeardown((event as { data: unknown }).data);
      } catch {
        // ignore
      }
    };
    mainChannel.unref();
  } catch {
    mainChannel = undefined;
  }
}

if (!isMainThread) {
  process.on('exit', () => {
    try {
      const channel = new BroadcastChannel(CHANNEL_NAME);
      channel.unref();
      channel.postMessage(teardownReport());
      channel.close();
    } catch {
      // ignore
    }
  });
}

// ---------------------------------------------------------------------------
// For our own harness (not the observed program): let batched destroys run.

const SETTLE_TURNS = 3;

function turns(count: number, ref: boolean, callback: () => void): void {
  const step = (left: number) => {
    if (left === 0) {
      callback();
      return;
    }
    const immediate = setImmediate(step, left - 1);
    if (!ref) immediate.unref();
  };
  step(count);
}

/**
 * Calls `callback` after a few event-loop turns, so destroys queued by
 * `napi_async_destroy` (delivered from an immediate) and worker teardown
 * reports reach the registry. Callback style: promise continuations may not
 * run in a process where an addon leaked a callback scope.
 */
export function settle(callback: () => void): void {
  turns(SETTLE_TURNS, true, callback);
}

// ---------------------------------------------------------------------------
// Command capture mode (`napi-heapdiff capture --out dir -- command`): the CLI
// sets these variables; every node process that loads the agent writes
// snapshots into <dir>/<pid>/ and appends one JSON line per event to the
// capture's event log, which the CLI turns into manifest.json.

export const ENV_CAPTURE_DIR = 'NAPI_HEAPDIFF_CAPTURE_DIR';
export const ENV_CAPTURE_INTERVAL = 'NAPI_HEAPDIFF_CAPTURE_INTERVAL_MS';
export const EVENTS_FILE = '.napi-heapdiff-events.jsonl';

function appendEvent(dir: string, event: Record<string, unknown>): void {
  let fd: number | undefined;
  try {
    fd = openSync(join(dir, EVENTS_FILE), 'a');
    writeSync(fd, `${JSONStringify({ v: 1, pid: processPid, at: new Date(DateNow()).toISOString(), ...event })}\n`);
  } catch {
    // ignore: the capture must never break the program
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

function startCommandCapture(dir: string, intervalMs: number): void {
  let folder = `${processPid}`;
  for (let n = 2; ; n++) {
    try {
      mkdirSync(join(dir, folder));
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST' || n > 100) return;
      folder = `${processPid}-${n}`;
    }
  }
  let sequence = 0;
  let writing = false;
  const startedAt = DateNow();
  appendEvent(dir, {
    event: 'process-start',
    ppid: process.ppid,
    argv: process.argv,
    execArgv: process.execArgv,
    node: processVersion,
    folder,
    startedAt: new Date(startedAt).toISOString(),
  });

  const snapshot = (label: string, settleMs: number) => {
    if (writing) return;
    writing = true;
    const seq = ++sequence;
    const name = `${String(seq).padStart(3, '0')}-${label}.heapsnapshot`;
    const final = join(dir, folder, name);
    const temporary = join(dir, folder, `.${name}.${processPid}.tmp`);
    const t0 = DateNow();
    try {
      writeHeapSnapshot(temporary);
      renameSync(temporary, final);
      appendEvent(dir, {
        event: 'snapshot',
        file: `${folder}/${name}`,
        label,
        seq,
        takenAt: new Date(t0).toISOString(),
        settleMs,
        writeMs: DateNow() - t0,
        bytes: statSync(final).size,
        uptimeMs: t0 - startedAt,
      });
    } catch (error) {
      try {
        rmSync(temporary, { force: true });
      } catch {
        // ignore
      }
      appendEvent(dir, { event: 'snapshot-failed', label, seq, message: String((error as Error)?.message ?? error) });
    } finally {
      writing = false;
    }
  };
  // Start-up and interval snapshots wait on unref'ed immediates: if the
  // program ends first, its exit snapshot stands in. A signal snapshot was
  // asked for explicitly, so its few turns keep the loop going.
  const settledSnapshot = (label: string, ref: boolean) => {
    const t0 = DateNow();
    turns(SETTLE_TURNS, ref, () => snapshot(label, DateNow() - t0));
  };

  settledSnapshot('start', false);
  if (intervalMs > 0) setInterval(settledSnapshot, intervalMs, 'interval', false).unref();
  process.on('SIGUSR2', () => settledSnapshot('signal', true));
  process.on('exit', (code) => {
    snapshot('exit', 0);
    appendEvent(dir, { event: 'process-exit', exitCode: typeof code === 'number' ? code : (process.exitCode ?? 0) });
  });
}

if (isMainThread) {
  const dir = process.env[ENV_CAPTURE_DIR];
  if (dir) {
    try {
      startCommandCapture(dir, Number(process.env[ENV_CAPTURE_INTERVAL] ?? 0) || 0);
    } catch {
      // ignore
    }
  }
}
