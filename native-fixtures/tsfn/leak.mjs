// tsfn, leak twin: napi_create_threadsafe_function for a new JS function each
// call (max_queue 0, initial_thread_count 1), unref'ed so the process can
// still exit, never released.
// Per iteration: 1 TSFN leaked (its function `fixtureTsfnCallback`, its {}
// resource, an env cleanup hook; async init without destroy).
import { createRequire } from 'node:module';

const binding = createRequire(import.meta.url)('./build/Release/tsfn.node');

export const meta = {
  scenario: 'tsfn',
  twin: 'leak',
  asyncNames: ['fixture_tsfn_leak'],
  leakedAsyncPerIteration: 1,
  retainedFunction: { name: 'fixtureTsfnCallback' },
};

export function iteration(i) {
  const fn = function fixtureTsfnCallback() {};
  binding.leak(fn);
}
