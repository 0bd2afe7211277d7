import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';

// The status word: 0 before the worker starts, 1 + k once k steps are done;
// negative, -(1 + k), when a step threw after k were done.

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
   * Blocks until the first `steps` steps (all by default) have returned
   * (true), or one threw, the worker did not start within `startMs` or the
   * steps did not finish within `runMs` (false: do the work yourself).
   */
  waitSync(startMs: number, runMs: number, steps?: number): boolean;
  stop(): Promise<void>;
}

/** One function for a worker to run, and its data. */
export interface WorkerStep {
  body: (data: never, load: (id: string) => unknown) => void;
  data: unknown;
}

/** Pairs a step's function with data of the type it takes. */
export function workerStep<T>(body: (data: T, load: (id: string) => unknown) => void, data: T): WorkerStep {
  return { body: body as WorkerStep['body'], data };
}

/**
 * Starts a worker thread that runs `body(data, require)` from the function's
 * own source text. Loading a worker from a file would need the compiled .js
 * next to the caller, which the TypeScript sources under test do not have;
 * source text runs the same from both. So `body` must be self-contained: no
 * references outside itself, modules through `load`. Typed arrays over
 * SharedArrayBuffers in `data` are shared, not copied.
 *
 * Several steps run one after the other on the same thread (one thread's
 * memory, not one per pass), and each can be waited for on its own.
 *
 * The worker gets none of the process's Node flags (e.g. a 16 GB heap limit),
 * does not keep the process alive and prints nothing: the library never prints.
 */
export function startFunctionWorker<T>(body: (data: T, load: (id: string) => unknown) => void, data: T, heapLimitMb?: number): FunctionWorker {
  return startStepsWorker([workerStep(body, data)], heapLimitMb);
}

export function startStepsWorker(steps: WorkerStep[], heapLimitMb?: number): FunctionWorker {
  const status = new Int32Array(new SharedArrayBuffer(4));
  // __name: transforms that keep function names (esbuild's keepNames, tsx)
  // wrap nested functions in a helper that only the module defines.
  const source = `const __name = (f) => f;
const { workerData } = require('node:worker_threads');
const status = new Int32Array(workerData.status);
const steps = [${steps.map((step) => `(${step.body.toString()})`).join(',\n')}];
Atomics.store(status, 0, 1);
Atomics.notify(status, 0);
try {
  for (let k = 0; k < steps.length; k++) {
    steps[k](workerData.data[k], require);
    Atomics.store(status, 0, k + 2);
    Atomics.notify(status, 0);
  }
} catch {
  Atomics.store(status, 0, -Atomics.load(status, 0));
  Atomics.notify(status, 0);
}`;
  const worker = new Worker(source, {
    eval: true,
    workerData: { data: steps.map((step) => step.data), status: status.buffer },
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
    waitSync(startMs, runMs, stepCount = steps.length) {
      if (Atomics.load(status, 0) === 0) Atomics.wait(status, 0, 0, startMs);
      const deadline = Date.now() + runMs;
      for (;;) {
        const value = Atomics.load(status, 0);
        if (Math.abs(value) >= 1 + stepCount) return true;
        const left = deadline - Date.now();
        if (value <= 0 || left <= 0) return false;
        Atomics.wait(status, 0, value, left);
      }
    },
    async stop() {
      await worker.terminate();
    },
  };
}
