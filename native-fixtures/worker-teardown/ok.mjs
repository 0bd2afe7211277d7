// worker-teardown, ok twin: the worker calls close() before it ends, and the
// addon's env cleanup hook would release anything still open at env teardown
// anyway (the safety net for worker.terminate()). No growth; the native
// counters end at 0.
import { createRequire } from 'node:module';
import { runWorker } from './run-worker.mjs';

const ADDON = 'worker_teardown_ok';
// Loaded on this thread only to read the process-wide native counters.
const binding = createRequire(import.meta.url)(`./build/Release/${ADDON}.node`);

export const meta = {
  scenario: 'worker-teardown',
  twin: 'ok',
  asyncNames: ['fixture_worker_teardown_ok'],
  leakedAsyncPerIteration: 0,
  leakedRefsPerIteration: 0,
  asyncEventsInWorkers: true,
};

export function iteration(i) {
  return runWorker({ addon: ADDON, close: true, index: i });
}

/** Process-wide count of contexts opened by this addon and not destroyed. */
export function nativeOpenContexts() {
  return binding.nativeOpenContexts();
}

/** Process-wide count of napi_refs created by this addon and not deleted. */
export function nativeOpenReferences() {
  return binding.nativeOpenReferences();
}
