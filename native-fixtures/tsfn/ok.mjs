// tsfn, ok twin: the TSFN is released right after creation; its finalizer
// calls back so the iteration can wait for the teardown. No growth.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

const binding = createRequire(import.meta.url)('./build/Release/tsfn.node');

export const meta = {
  scenario: 'tsfn',
  twin: 'ok',
  asyncNames: ['fixture_tsfn_ok'],
  leakedAsyncPerIteration: 0,
  retainedFunction: locate('fixtureTsfnOkCallback'),
};

export function iteration(i) {
  return new Promise((resolve) => {
    const fn = function fixtureTsfnOkCallback() {};
    binding.ok(fn, resolve);
  });
}

/** File and 1-based line of `= function <name>(` in this module. */
function locate(name) {
  const file = fileURLToPath(import.meta.url);
  const lines = readFileSync(file, 'utf8').split('\n');
  return { name, file, line: lines.findIndex((l) => l.includes(`= function ${name}(`)) + 1 };
}
