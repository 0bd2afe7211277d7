/**
 * The child side of `napi-heapdiff capture --scenario`: a process entry point,
 * run as `node --require <agent> scenario-harness.js '<HarnessConfig JSON>'`.
 * It owns its process (exit code, exit), so it lives apart from the library.
 *
 * Once the scenario's setup has run, everything here is callback style:
 * setImmediate, and `.then` only on a thenable the scenario returned. An addon
 * that leaks a callback scope in a libuv callback stops process.nextTick and
 * promise jobs from ever running again in this process, so nothing may wait
 * on await or microtasks. Progress goes to the parent synchronously, as JSON
 * lines appended to the events file (see src/capture/protocol.ts).
 */
import { closeSync, openSync, renameSync, rmSync, statSync, writeSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { setFlagsFromString, writeHeapSnapshot } from 'node:v8';
import { runInNewContext } from 'node:vm';
import type { MemoryReadingEvent } from '../capture-folder/manifest.js';
import type { HarnessConfig } from '../capture/protocol.js';

interface Scenario {
  iteration: (i: number) => unknown;
  setup?: () => unknown;
  teardown?: () => unknown;
}

const config = JSON.parse(process.argv[2] ?? '{}') as HarnessConfig;
const eventsFd = openSync(config.eventsFile, 'a');
let phase = 'start';
let nextIteration = 0;
let exitCode = 0;
/**
 * Start of every measured iteration on the trace-event clock (µs, the
 * process.hrtime clock Node's trace events use): the ledger places each
 * context's init in the iteration that made it.
 */
const iterationStartsUs: number[] = [];
const hrtimeUs = (): number => Number(process.hrtime.bigint() / 1000n);

function emit(event: Record<string, unknown>): void {
  const line = `${JSON.stringify({ v: 1, pid: process.pid, at: new Date().toISOString(), ...event })}\n`;
  writeSync(eventsFd, line);
}

function message(error: unknown): string {
  if (error instanceof Error) return `${error.name === 'Error' ? '' : `${error.name}: `}${error.message}`.split('\n')[0]!;
  return String(error).split('\n')[0]!;
}

/** Reports a failure and ends the process with code 1; no stack trace on stderr. */
function fail(failedPhase: 'load' | 'setup' | 'iteration' | 'teardown' | 'snapshot', error: unknown, index?: number): void {
  emit({ event: 'error', phase: failedPhase, index, message: message(error) });
  exitCode = 1;
  process.exit(1);
}

process.on('exit', (code) => {
  try {
    emit({ event: 'harness-exit', exitCode: code, phase, nextIteration });
    closeSync(eventsFd);
  } catch {
    // nothing more to report
  }
});

// A full GC without giving the scenario a global gc().
setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;
setFlagsFromString('--no-expose-gc');

/**
 * The memory probe (a tiny Node-API addon the parent compiled, see
 * src/native/memory-probe.c), or undefined: readings then carry RSS only.
 */
const probe = ((): { read(): { inUse: number }; trim(): void } | undefined => {
  if (!config.memoryProbePath) return undefined;
  try {
    const module = { exports: {} as { read(): { inUse: number }; trim(): void } };
    process.dlopen(module, config.memoryProbePath);
    return module.exports;
  } catch {
    return undefined;
  }
})();

/** Memory just before a snapshot, after the GCs: with the probe, freed C memory is handed back first so RSS counts what is in use. */
function memoryReading(): MemoryReadingEvent {
  probe?.trim();
  const { rss, heapUsed, external, arrayBuffers } = process.memoryUsage();
  const inUse = probe?.read().inUse;
  return { rss, heapUsed, external, arrayBuffers, ...(inUse !== undefined && inUse >= 0 ? { mallocInUse: inUse } : {}) };
}

/** The preloaded agent: its settle() and its cut of the native ledger. */
const agent = ((): { settle?: (callback: () => void) => void; cutNativeLedger?: (label: string) => string | undefined } => {
  const require = createRequire(import.meta.url);
  return require.cache[config.agentPath] ? require(config.agentPath) : {};
})();

/** The agent's settle(), or plain immediates when it was not preloaded. */
const settle: (callback: () => void) => void = typeof agent.settle === 'function'
  ? agent.settle
  : (callback: () => void) => setImmediate(() => setImmediate(() => setImmediate(callback)));

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return (typeof value === 'object' || typeof value === 'function') && value !== null && typeof (value as { then?: unknown }).then === 'function';
}

/** Calls `fn`; when it returns a thenable waits for it, then `next` from a fresh immediate. */
function callThen(fn: () => unknown, onError: (error: unknown) => void, next: () => void): void {
  let result: unknown;
  try {
    result = fn();
  } catch (error) {
    onError(error);
    return;
  }
  if (!isThenable(result)) {
    setImmediate(next);
    return;
  }
  let settled = false;
  result.then(
    () => {
      if (settled) return;
      settled = true;
      setImmediate(next);
    },
    (error: unknown) => {
      if (settled) return;
      settled = true;
      onError(error);
    },
  );
}

function runIterations(scenario: Scenario, count: number, measured: boolean, done: () => void): void {
  // Called as a plain function (this = undefined), so stacks read "iteration (file:line:col)".
  const iteration = scenario.iteration;
  let remaining = count;
  const step = (): void => {
    if (remaining === 0) {
      done();
      return;
    }
    remaining--;
    const i = nextIteration++;
    if (measured) iterationStartsUs.push(hrtimeUs());
    callThen(
      () => iteration(i),
      (error) => fail('iteration', error, i),
      step,
    );
  };
  // Every iteration starts from its own immediate: the same JS stack below
  // iteration() each time, so identical creation stacks group together.
  setImmediate(step);
}

let snapshotCount = 0;

function takeSnapshot(measured: number, done: () => void): void {
  const index = ++snapshotCount;
  const label = index === 1 ? 'baseline' : `iteration-${measured}`;
  const t0 = performance.now();
  settle(() => {
    const t1 = performance.now();
    gc();
    // Second-pass weak callbacks and finalizers run from the loop: one more turn, one more GC.
    setImmediate(() => {
      try {
        gc();
        const t2 = performance.now();
        const name = `snapshot-${index}.heapsnapshot`;
        const final = join(config.outDir, name);
        const temporary = join(config.outDir, `.${name}.${process.pid}.tmp`);
        const takenAt = new Date().toISOString();
        const takenAtUs = hrtimeUs();
        try {
          writeHeapSnapshot(temporary);
          renameSync(temporary, final);
        } catch (error) {
          rmSync(temporary, { force: true });
          throw error;
        }
        // Read after the write, when no JS has run since the GCs: the first
        // snapshot leaves V8's object-id map behind (MBs of C memory on
        // every later reading), so readings taken before writing would put
        // that into the first step.
        const memory = memoryReading();
        // The native call-site ledger's counters at this snapshot (no JS ran since it was written).
        const nativeLedger = agent.cutNativeLedger?.(String(index));
        const t3 = performance.now();
        emit({
          event: 'snapshot',
          file: name,
          label,
          seq: index,
          takenAt,
          settleMs: round(t1 - t0),
          gcMs: round(t2 - t1),
          writeMs: round(t3 - t2),
          bytes: statSync(final).size,
          iterations: measured,
          totalIterations: nextIteration,
          takenAtUs,
          memory,
          ...(nativeLedger ? { nativeLedger } : {}),
        });
      } catch (error) {
        fail('snapshot', error);
        return;
      }
      setImmediate(done);
    });
  });
}

const round = (ms: number): number => Math.round(ms * 10) / 10;

function runPhases(scenario: Scenario): void {
  const measure = (phaseIndex: number): void => {
    if (phaseIndex >= config.snapshots) {
      finish(scenario);
      return;
    }
    enterPhase(`phase ${phaseIndex}`);
    runIterations(scenario, config.iterations, true, () => {
      phase = 'snapshot';
      takeSnapshot(phaseIndex * config.iterations, () => measure(phaseIndex + 1));
    });
  };
  enterPhase('warmup');
  runIterations(scenario, config.warmup, false, () => {
    phase = 'snapshot';
    takeSnapshot(0, () => measure(1));
  });
}

/** Phases are reported as they start, so a crash can be placed (a fatal signal runs no exit handler). */
function enterPhase(name: string): void {
  phase = name;
  emit({ event: 'phase', phase, nextIteration });
}

function finish(scenario: Scenario): void {
  enterPhase('teardown');
  const end = (): void => {
    phase = 'done';
    emit({ event: 'done', totalIterations: nextIteration, iterationStartsUs });
    // Leaked handles (e.g. a referenced thread-safe function) may keep the loop alive.
    process.exit(exitCode);
  };
  if (typeof scenario.teardown !== 'function') {
    end();
    return;
  }
  const teardown = scenario.teardown;
  callThen(
    () => teardown(),
    (error) => fail('teardown', error),
    end,
  );
}

emit({ event: 'harness-start', node: process.version, argv: process.execArgv });

// Loading and setup happen before any iteration: promises still work here.
phase = 'load';
import(config.moduleUrl).then(
  (namespace: Record<string, unknown>) => {
    const fallback = namespace.default as Record<string, unknown> | undefined;
    const pick = (key: string): unknown => (typeof namespace[key] === 'function' ? namespace[key] : fallback?.[key]);
    const iteration = pick('iteration');
    if (typeof iteration !== 'function') {
      fail('load', new Error('the scenario module exports no iteration(i) function'));
      return;
    }
    const scenario: Scenario = {
      iteration: iteration as Scenario['iteration'],
      setup: typeof pick('setup') === 'function' ? (pick('setup') as Scenario['setup']) : undefined,
      teardown: typeof pick('teardown') === 'function' ? (pick('teardown') as Scenario['teardown']) : undefined,
    };
    emit({ event: 'scenario-loaded', exports: Object.keys(namespace) });
    phase = 'setup';
    const setup = scenario.setup;
    if (setup) callThen(() => setup(), (error) => fail('setup', error), () => runPhases(scenario));
    else runPhases(scenario);
  },
  (error: unknown) => fail('load', error),
);
