// async-work, ok twin: the work is deleted in its complete callback.
import { createRequire } from 'node:module';

const binding = createRequire(import.meta.url)('./build/Release/async_work.node');

export const meta = {
  scenario: 'async-work',
  twin: 'ok',
  asyncNames: ['fixture_async_work_ok'],
  leakedAsyncPerIteration: 0,
};

export function iteration(i) {
  return new Promise((resolve, reject) => {
    binding.ok((error, result) => (error ? reject(error) : resolve(result)));
  });
}
