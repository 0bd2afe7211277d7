// async-work, leak twin: napi_create_async_work (resource NULL) queued and
// completed, but never napi_delete_async_work'ed.
// Per iteration: 1 async resource leaked (init, before, after; no destroy).
import { createRequire } from 'node:module';

const binding = createRequire(import.meta.url)('./build/Release/async_work.node');

export const meta = {
  scenario: 'async-work',
  twin: 'leak',
  asyncNames: ['fixture_async_work_leak'],
  leakedAsyncPerIteration: 1,
};

export function iteration(i) {
  return new Promise((resolve, reject) => {
    binding.leak((error, result) => (error ? reject(error) : resolve(result)));
  });
}
