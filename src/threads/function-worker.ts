import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';

const RUNNING = 1;
const DONE = 2;
const FAILED = 3;

/**
 * Whether a second thread can run beside this one: on one CPU (or a process
 * pinned to one) the threads only take turns, and that is slower than one.
 */
export function hasSpareCpu(): boolean {
  return availableParallelism() >= 2;
}

export interface FunctionWorker {
  worker: Worker;
  /**
   * Blocks until the body has returned (true), or threw, did not start within
   * `startMs` or did not finish within `runMs` (false: do the work yourself).
   */
  waitSync(startMs: number, runMs: number): boolean;
  stop(): Promise<void>;
}

/**
 * Starts a worker thread that runs `body(data, require)` from the function's
 * own source text. Loading a worker from a file would need the compiled .js
 * next to the caller, which the TypeScript sources under test do not have;
 * source text runs the same from both. So `body` must be self-contained: no
 * references outside itself, modules through `load`. Typed arrays over
 * SharedArrayBuffers in `data` are shared, not copied.
 *
 * The worker gets none of the process's Node flags (e.g. a 16 GB heap limit),
 * does not keep the process alive and prints nothing: the library never prints.
 */
export function startFunctionWorker<T>(body: (data: T, load: (id: string) => unknown) => void, data: T, heapLimitMb?: number): FunctionWorker {
  const status = new Int32Array(new SharedArrayBuffer(4));
  // __name: transforms that keep function names (esbuild's keepNames, tsx)
  // wrap nested functions in a helper that only the module defines.
  const source = `const __name = (f) => f;
const { workerData } = require('node:worker_threads');
const status = new Int32Array(workerData.status);
Atomics.store(status, 0, ${RUNNING});
let outcome = ${FAILED};
try {
  (${body.toString()})(workerData.data, require);
  outcome = ${DONE};
} finally {
  Atomics.store(status, 0, outcome);
  Atomics.notify(status, 0);
}`;
  const worker = new Worker(source, {
    eval: true,
    workerData: { data, status: status.buffer },
    stdout: true,
    stderr: true,
    execArgv: [],
    resourceLimits: heapLimitMb === undefined ? undefined : { maxOldGenerationSizeMb: heapLimitMb, maxYoungGenerationSizeMb: 16 },
  });
  worker.unref();
  // A failure is reported through `status`; an unhandled 'error' event would crash the process.
  worker.on('error', () => {});
  return {
    worker,
    waitSync(startMs, runMs) {
      if (Atomics.load(status, 0) === 0) Atomics.wait(status, 0, 0, startMs);
      if (Atomics.load(status, 0) === RUNNING) Atomics.wait(status, 0, RUNNING, runMs);
      return Atomics.load(status, 0) === DONE;
    },
    async stop() {
      await worker.terminate();
    },
  };
}
