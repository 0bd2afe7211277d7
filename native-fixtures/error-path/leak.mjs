// error-path, leak twin: the native call opens a context and, when asked to
// fail (every 4th call, i % 4 === 3), throws and returns without destroying
// it. The exception is expected and swallowed here so the loop goes on.
// Per iteration: 0.25 async contexts leaked (1 per 4 iterations).
import { createRequire } from 'node:module';

const binding = createRequire(import.meta.url)('./build/Release/error_path.node');

export const meta = {
  scenario: 'error-path',
  twin: 'leak',
  asyncNames: ['fixture_error_path_leak'],
  leakedAsyncPerIteration: 0.25,
};

export function iteration(i) {
  try {
    binding.leak(i % 4 === 3);
  } catch (error) {
    if (error?.code !== 'ERR_FIXTURE_STEP_FAILED') throw error;
  }
}
