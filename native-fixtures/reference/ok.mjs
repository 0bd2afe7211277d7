// reference, ok twin: the reference is created and deleted; the closure
// `fixtureReleasedCallback` is collectable right after the call. No growth.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

const binding = createRequire(import.meta.url)('./build/Release/reference.node');

const CALLBACK_NAME = 'fixtureReleasedCallback';

export function iteration(i) {
  const cb = function fixtureReleasedCallback() { return i; };
  binding.ok(cb);
}

export const meta = {
  scenario: 'reference',
  twin: 'ok',
  asyncNames: [],
  leakedAsyncPerIteration: 0,
  leakedRefsPerIteration: 0,
  retainedFunction: locate(CALLBACK_NAME),
};

/** File and 1-based line of `= function <name>(` in this module. */
function locate(name) {
  const file = fileURLToPath(import.meta.url);
  const lines = readFileSync(file, 'utf8').split('\n');
  return { name, file, line: lines.findIndex((l) => l.includes(`= function ${name}(`)) + 1 };
}
