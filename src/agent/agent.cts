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
 * (about 12x on a bare `await` loop, the same as an empty hook: that is the
 * floor of any async_hooks agent). On top of that floor each non-built-in
 * init costs a record (~0.5 µs with its WeakRef and id strings, plus ~0.07 µs
 * per hook event for `counts`) and, when its creation stack is taken, a V8
 * stack capture and formatting (~10-30 µs: V8 walks and summarises the frames,
 * then each CallSite is formatted; neither can be made cheaper from JS).
 * Hence creation stacks are sampled.
 *
 * What is exact and what is sampled (the policy is in registry.stackSampling):
 * - exact in every snapshot, ours or any other (DevTools, signal, the
 *   program's own writeHeapSnapshot): the hook counts per name (`counts` is
 *   rebuilt on every event, as a concatenated string that the reader joins;
 *   refreshCounts() makes it flat before our own snapshots), the set of open
 *   records (one per open async context), and what workers reported so far;
 * - creation stacks: each of the first STACKS_FIRST (1000) records of a name
 *   (in creation order, on this thread) gets its own creation stack, so the
 *   per-site counts of those are exact; after that, one record in
 *   STACKS_EVERY (64) on average, at random gaps of 1..127 (own xorshift PRNG,
 *   so the program's Math.random sequence is untouched; random so that no
 *   periodic creation pattern aliases with the sampling), gets its stack, and
 *   the others carry STACK_NOT_SAMPLED. A record never carries a stack that is
 *   not its own. Each record says which case it is in `stackCapture` ("all" |
 *   "sampled" | "skipped"), so per name, over the live records, a site's
 *   count can be estimated as all(site) + sampled(site) × (sampled + skipped)
 *   / sampled; a reader that does not scale shows the skipped records as one
 *   pseudo-site "(creation stack not sampled)". Identical stacks share one
 *   string. Formatting is not cached by call-site position: a frame's text
 *   also depends on the receiver (type and method names), so a position key
 *   would merge different stacks; Node's own formatted text (used only when
 *   the program deleted Error.prepareStackTrace) is parsed once per distinct
 *   text. NAPI_HEAPDIFF_STACK_SAMPLING="first=<n> every=<m>", read at
 *   start-up, changes the policy ("every=1": every record gets its stack).
 *
 * A worker stopped with worker.terminate() runs no 'exit' handler and
 * reports nothing; a destroy still queued when a worker ends counts as open
 * at teardown.
 *
 * Snapshot schema (version 1), as seen in a heap snapshot:
 *
 *   NapiHeapdiffRegistry                      one per thread, held by the hook closures
 *     .marker   "napi-heapdiff agent registry"  (REGISTRY_MARKER; tells it from look-alikes)
 *     .schema   "1"
 *     .pid, .thread ("main" | "worker <threadId>"), .node (process.version), .startedAt (ISO)
 *     .workersReported  "<n>"                 worker teardown reports received (main thread)
 *     .stackSampling    "first=1000 every=64"  creation-stack policy (see above; every=1: all)
 *     .stackSamplingNote  the same in words, for people reading the snapshot
 *     .names    Array of NapiHeapdiffName     one per async type seen, first-seen order
 *     .live     Map asyncId -> record         every open record (so records stay reachable)
 *   NapiHeapdiffName
 *     .name     the async type, e.g. "my_addon_async_work"
 *     .counts   "init=5 destroy=3 before=0 after=0"            this thread's hook events
 *     .stackCaptures "all=1000 sampled=140"   records created with a stack, by kind
 *                                             (the rest of init were skipped)
 *     .workerTeardown  "open=4 workers=2"      records still open when a worker's
 *                                             environment went away, summed over workers
 *     .workerCounts    "init=.. destroy=.. before=.. after=.."  those workers' events
 *     .teardownStacks  Array of NapiHeapdiffStack {stack, count: "<n>"}
 *     .recordPrototype the prototype object of this name's records (see below)
 *   record (one per open async context), named "napi:<name>" in DevTools
 *     .type, .asyncId, .triggerAsyncId (strings), .stack (creation stack, frames
 *     joined by "\n"; "" when V8 gave none, STACK_NOT_SAMPLED when skipped),
 *     .stackCapture ("all" | "sampled" | "skipped"), .resource (WeakRef to the
 *     async resource)
 *     __proto__ = the name's recordPrototype: a function object (so it is not
 *     itself counted as a "napi:<name>" object) with an own
 *     Symbol.toStringTag "napi:<name>". A record is an object whose __proto__
 *     edge leads to a registry's recordPrototype: user objects that merely
 *     carry the same tag do not.
 *
 * Every value the analyzer reads is a string (numbers are not shown in
 * snapshots), flat except `counts` between refreshes: V8 names concatenated
 * strings "(concatenated string)", so settle() and the command-capture
 * snapshots flatten them first (refreshCounts()).
 */
import { createHook } from 'node:async_hooks';
import { closeSync, fstatSync, ftruncateSync, mkdirSync, openSync, readSync, renameSync, rmSync, statSync, writeSync } from 'node:fs';
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
/** Default policy: every record among the first STACKS_FIRST of a name gets its creation stack... */
export const STACKS_FIRST = 1000;
/** ...then one in STACKS_EVERY on average. */
export const STACKS_EVERY = 64;
/** The `stack` of a record whose stack was not sampled. */
export const STACK_NOT_SAMPLED = '(creation stack not sampled)';
/** Overrides the policy: "first=<n> every=<m>" (every=1: every stack). */
export const ENV_STACK_SAMPLING = 'NAPI_HEAPDIFF_STACK_SAMPLING';
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
export const BUILTIN_TYPES = new Set<string>([
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

/** A flat "init=.. destroy=.. before=.. after=..". */
const counterText = (init: number, destroy: number, before: number, after: number): string =>
  arrayJoin(['init=', init, ' destroy=', destroy, ' before=', before, ' after=', after], '');

// ---------------------------------------------------------------------------
// Creation-stack sampling policy

function parsePolicy(text: string | undefined): { first: number; every: number } {
  let first = STACKS_FIRST;
  let every = STACKS_EVERY;
  if (typeof text === 'string') {
    const f = /(?:^|\s)first=(\d+)(?:\s|$)/.exec(text);
    const e = /(?:^|\s)every=(\d+)(?:\s|$)/.exec(text);
    if (f) first = NumberCtor(f[1]);
    if (e && NumberCtor(e[1]) >= 1) every = NumberCtor(e[1]);
  }
  return { first: first > 0x3fffffff ? 0x3fffffff : first, every: every > 0x3fffffff ? 0x3fffffff : every };
}

const policy = parsePolicy(process.env[ENV_STACK_SAMPLING]);
const STACK_POLICY_TEXT = `first=${policy.first} every=${policy.every}`;
const STACK_POLICY_NOTE =
  policy.every === 1
    ? 'creation stacks: every record'
    : `creation stacks: every record among the first ${policy.first} of each name, then 1 in ${policy.every} on average (random gaps); the others carry "${STACK_NOT_SAMPLED}"`;

/** xorshift32: our own state, so the program's Math.random sequence is untouched. */
let rngState = 0x2545f491;
/** The number of records until the next sampled one: uniform in 1..2*every-1 (mean `every`). */
function nextSampleGap(): number {
  if (policy.every === 1) return 1;
  let x = rngState;
  x ^= x << 13;
  x ^= x >>> 17;
  x ^= x << 5;
  rngState = x;
  return 1 + ((x >>> 0) % (2 * policy.every - 1));
}

const CAPTURE_ALL = 'all';
const CAPTURE_SAMPLED = 'sampled';
const CAPTURE_SKIPPED = 'skipped';

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
  stackCaptures = 'all=0 sampled=0';
  workerTeardown = 'open=0 workers=0';
  workerCounts = 'init=0 destroy=0 before=0 after=0';
  teardownStacks: NapiHeapdiffStack[] = [];
  readonly recordPrototype: RecordPrototype;
  /** Makes this name's records: `new RecordConstructor(...)` has recordPrototype as __proto__. */
  readonly RecordConstructor: RecordConstructor;
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
  stacksAll = 0;
  stacksSampled = 0;
  /** Records to go until the next sampled stack (once `init` has reached policy.first). */
  untilSample = nextSampleGap();
  /** Interned creation stacks (identical stacks share one string). */
  readonly internedStacks = new Map<string, string>();
  /** Node's default formatted text -> our stack, so each distinct text is parsed once. */
  readonly parsedStacks = new Map<string, string>();
  readonly teardownStackIndex = new Map<string, NapiHeapdiffStack>();

  constructor(readonly name: string) {
    // A function, not a plain object: V8 names objects after an own or
    // inherited Symbol.toStringTag, so a plain prototype would itself show up
    // as one more "napi:<name>" object; a function shows up as a closure.
    const prototype = function NapiHeapdiffRecord() {} as unknown as RecordPrototype;
    ObjectDefineProperty(prototype, toStringTag, { value: flat(RECORD_TAG_PREFIX + name) });
    ObjectDefineProperty(prototype, 'stats', { value: this });
    this.recordPrototype = prototype;
    const constructor = recordConstructor();
    constructor.prototype = prototype;
    this.RecordConstructor = constructor;
  }

  /** Flat, for snapshots we prepare: see refreshCounts(). */
  flattenCounts(): void {
    this.counts = counterText(this.init, this.destroy, this.before, this.after);
  }
}

/**
 * The per-event update of `counts`: exact after every event, built as a
 * template (a concatenated string, ~0.07 µs) rather than flat (~0.2 µs);
 * refreshCounts() flattens it before our own snapshots.
 */
function countsChanged(stats: NapiHeapdiffName): void {
  stats.counts = `init=${stats.init} destroy=${stats.destroy} before=${stats.before} after=${stats.after}`;
}

type RecordConstructor = {
  new (type: string, asyncId: string, triggerAsyncId: string, stack: string, stackCapture: string, resource: WeakRef<object> | undefined): AsyncRecord;
  prototype: unknown;
};

/**
 * A fresh constructor for one name's records: all six fields in-object from
 * the start (Object.create() + stores needed a separate property array),
 * about half the cost per record. It must stay anonymous, with no name V8
 * could infer (hence returned from here, not assigned to a variable): V8 names
 * an object after its constructor when that has a name, and only otherwise
 * after the inherited Symbol.toStringTag, which makes it "napi:<name>".
 */
function recordConstructor(): RecordConstructor {
  return function (this: AsyncRecord, type: string, asyncId: string, triggerAsyncId: string, stack: string, stackCapture: string, resource: WeakRef<object> | undefined) {
    this.type = type;
    this.asyncId = asyncId;
    this.triggerAsyncId = triggerAsyncId;
    this.stack = stack;
    this.stackCapture = stackCapture;
    this.resource = resource;
  } as unknown as RecordConstructor;
}

interface AsyncRecord {
  type: string;
  asyncId: string;
  triggerAsyncId: string;
  stack: string;
  stackCapture: string;
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
  readonly stackSampling = flat(STACK_POLICY_TEXT);
  readonly stackSamplingNote = flat(STACK_POLICY_NOTE);
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
  if (!borrow) {
    const parsed = mapGet(stats.parsedStacks, text) as string | undefined;
    if (parsed !== undefined) return parsed;
  }
  const stack = borrow ? text : framesOfDefaultFormat(text);
  // Identical stacks share one string.
  let interned = mapGet(stats.internedStacks, stack) as string | undefined;
  if (interned === undefined) {
    interned = stack;
    if (stats.internedStacks.size < STACK_INTERN_LIMIT) mapSet(stats.internedStacks, stack, stack);
  }
  if (!borrow && stats.parsedStacks.size < STACK_INTERN_LIMIT) mapSet(stats.parsedStacks, text, interned);
  return interned;
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
    let stack: string;
    let capture: string;
    if (stats.init < policy.first) {
      stack = creationStack(stats, init);
      capture = CAPTURE_ALL;
      stats.stacksAll++;
      stats.stackCaptures = `all=${stats.stacksAll} sampled=${stats.stacksSampled}`;
    } else if (--stats.untilSample <= 0) {
      stats.untilSample = nextSampleGap();
      stack = creationStack(stats, init);
      capture = CAPTURE_SAMPLED;
      stats.stacksSampled++;
      stats.stackCaptures = `all=${stats.stacksAll} sampled=${stats.stacksSampled}`;
    } else {
      stack = STACK_NOT_SAMPLED;
      capture = CAPTURE_SKIPPED;
    }
    const weak = (typeof resource === 'object' && resource !== null) || typeof resource === 'function' ? new WeakRefCtor(resource) : undefined;
    const record = new stats.RecordConstructor(stats.name, `${asyncId}`, `${triggerAsyncId}`, stack, capture, weak);
    mapSet(registry.live, asyncId, record);
    stats.init++;
    stats.open++;
    countsChanged(stats);
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
    countsChanged(stats);
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
    countsChanged(stats);
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
    countsChanged(stats);
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
 * Makes every name's `counts` (and `stackCaptures`) a flat string again. They are
 * exact at all times; this only spares readers (DevTools) the
 * "(concatenated string)" the per-event update leaves. Cheap: one string per
 * name. For whoever writes a snapshot: call it just before.
 */
export function refreshCounts(): void {
  try {
    for (let i = 0; i < registry.names.length; i++) {
      const stats = registry.names[i]!;
      stats.flattenCounts();
      stats.stackCaptures = arrayJoin(['all=', stats.stacksAll, ' sampled=', stats.stacksSampled], '');
    }
  } catch {
    // ignore
  }
}

/**
 * Calls `callback` after a few event-loop turns, so destroys queued by
 * `napi_async_destroy` (delivered from an immediate) and worker teardown
 * reports reach the registry; the counts are flattened first. Callback
 * style: promise continuations may not run in a process where an addon
 * leaked a callback scope.
 */
export function settle(callback: () => void): void {
  turns(SETTLE_TURNS, true, () => {
    refreshCounts();
    callback();
  });
}

// ---------------------------------------------------------------------------
// The native call-site ledger (src/native/napi-ledger-audit.c, loaded with
// LD_AUDIT by the capture) keeps its counters in <dir>/native-<pid>.bin, a
// file it maps shared. A heap snapshot's cut of it is a copy taken right
// after the snapshot: native-<pid>-<label>.bin.

export const ENV_NATIVE_DIR = 'NAPI_HEAPDIFF_NATIVE_DIR';
const NATIVE_CHUNK = 1 << 16;

/**
 * Copies this process's native ledger to native-<pid>-<label>.bin (in the
 * ledger's own folder) and returns the copy's name, or undefined when there
 * is none (no LD_AUDIT, or no addon has called a tracked function yet).
 * Sparse: most of the file is unused table space (zero pages), and only
 * chunks holding data are written. Written under a temporary name and
 * renamed, so a reader never sees half a copy. Never throws.
 */
export function cutNativeLedger(label: string): string | undefined {
  const dir = process.env[ENV_NATIVE_DIR];
  if (!dir) return undefined;
  const name = `native-${processPid}-${label}.bin`;
  const final = join(dir, name);
  const temporary = join(dir, `.${name}.${processPid}.tmp`);
  let source: number | undefined;
  let target: number | undefined;
  try {
    source = openSync(join(dir, `native-${processPid}.bin`), 'r');
    target = openSync(temporary, 'w');
    const size = fstatSync(source).size;
    ftruncateSync(target, size);
    const chunk = new Uint8Array(NATIVE_CHUNK);
    const words = new Uint32Array(chunk.buffer);
    for (let at = 0; at < size; at += NATIVE_CHUNK) {
      const n = readSync(source, chunk, 0, Math.min(NATIVE_CHUNK, size - at), at);
      if (n <= 0) break;
      let used = false;
      for (let i = 0, end = n >>> 2; i < end && !used; i++) used = words[i] !== 0;
      for (let i = n & ~3; i < n && !used; i++) used = chunk[i] !== 0;
      if (used) writeSync(target, chunk, 0, n, at);
    }
    closeSync(target);
    target = undefined;
    renameSync(temporary, final);
    return name;
  } catch {
    if (target !== undefined) closeSync(target);
    try {
      rmSync(temporary, { force: true });
    } catch {
      // ignore
    }
    return undefined;
  } finally {
    if (source !== undefined) closeSync(source);
  }
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
      refreshCounts();
      writeHeapSnapshot(temporary);
      renameSync(temporary, final);
      const nativeLedger = cutNativeLedger(`${seq}`);
      appendEvent(dir, {
        event: 'snapshot',
        file: `${folder}/${name}`,
        ...(nativeLedger ? { nativeLedger } : {}),
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
