// tsfn, leak twin: napi_create_threadsafe_function for a new JS function each
// call (max_queue 0, initial_thread_count 1), unref'ed so the process can
// still exit, never released.
// Per iteration: 1 TSFN leaked (its function `fixtureTsfnCallback`, its {}
// resource, an env cleanup hook; async init without destroy).
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

const binding = createRequire(import.meta.url)('./build/Release/tsfn.node');

export const meta = {
  scenario: 'tsfn',
  twin: 'leak',
  asyncNames: ['fixture_tsfn_leak'],
  leakedAsyncPerIteration: 1,
  retainedFunction: locate('fixtureTsfnCallback'),
};

export function iteration(i) {
  const fn = function fixtureTsfnCallback() {};
  binding.leak(fn);
}

/** File and 1-based line of `= function <name>(` in this module. */
function locate(name) {
  const file = fileURLToPath(import.meta.url);
  const lines = readFileSync(file, 'utf8').split('\n');
  return { name, file, line: lines.findIndex((l) => l.includes(`= function ${name}(`)) + 1 };
}
