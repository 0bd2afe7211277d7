// reference, leak twin: napi_create_reference(env, fn, 1, &ref) never deleted.
// Each iteration makes a NEW closure (named function expression below, on its
// own line) and the addon pins it forever through a strong global.
// Per iteration: 1 closure `fixtureLeakedCallback` (+ its context) leaked.
// No async_hooks events.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

const binding = createRequire(import.meta.url)('./build/Release/reference.node');

const CALLBACK_NAME = 'fixtureLeakedCallback';

export function iteration(i) {
  const cb = function fixtureLeakedCallback() { return i; };
  binding.leak(cb);
}

export const meta = {
  scenario: 'reference',
  twin: 'leak',
  asyncNames: [],
  leakedAsyncPerIteration: 0,
  leakedRefsPerIteration: 1,
  retainedFunction: locate(CALLBACK_NAME),
};

/** File and 1-based line of `= function <name>(` in this module. */
function locate(name) {
  const file = fileURLToPath(import.meta.url);
  const lines = readFileSync(file, 'utf8').split('\n');
  return { name, file, line: lines.findIndex((l) => l.includes(`= function ${name}(`)) + 1 };
}
