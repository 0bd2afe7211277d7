// tsfn, ok twin: the TSFN is released right after creation; its finalizer
// calls back so the iteration can wait for the teardown. No growth.
import { createRequire } from 'node:module';

const binding = createRequire(import.meta.url)('./build/Release/tsfn.node');

export const meta = {
  scenario: 'tsfn',
  twin: 'ok',
  asyncNames: ['fixture_tsfn_ok'],
  leakedAsyncPerIteration: 0,
  retainedFunction: { name: 'fixtureTsfnOkCallback' },
};

export function iteration(i) {
  return new Promise((resolve) => {
    const fn = function fixtureTsfnOkCallback() {};
    binding.ok(fn, resolve);
  });
}
