// worker-teardown, leak twin: every iteration runs a Worker that opens 2
// async contexts and 1 strong napi_ref, then ends without closing them; the
// addon has no env cleanup hook, so they are never released.
// Per iteration: 2 contexts (inside the worker's env; no destroy ever) and
// 1 reference leaked; nativeOpenContexts() grows by 2.
import { createRequire } from 'node:module';
import { runWorker } from './run-worker.mjs';

const ADDON = 'worker_teardown_leak';
// Loaded on this thread only to read the process-wide native counters.
const binding = createRequire(import.meta.url)(`./build/Release/${ADDON}.node`);

export const meta = {
  scenario: 'worker-teardown',
  twin: 'leak',
  asyncNames: ['fixture_worker_teardown_leak'],
  leakedAsyncPerIteration: 2,
  leakedRefsPerIteration: 1,
  asyncEventsInWorkers: true,
};

export function iteration(i) {
  return runWorker({ addon: ADDON, close: false, index: i });
}

/** Process-wide count of contexts opened by this addon and not destroyed. */
export function nativeOpenContexts() {
  return binding.nativeOpenContexts();
}

/** Process-wide count of napi_refs created by this addon and not deleted. */
export function nativeOpenReferences() {
  return binding.nativeOpenReferences();
}
