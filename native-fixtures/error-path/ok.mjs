// error-path, ok twin: same failure pattern, but the native code destroys the
// context on the error path too. No growth.
import { createRequire } from 'node:module';

const binding = createRequire(import.meta.url)('./build/Release/error_path.node');

export const meta = {
  scenario: 'error-path',
  twin: 'ok',
  asyncNames: ['fixture_error_path_ok'],
  leakedAsyncPerIteration: 0,
};

export function iteration(i) {
  try {
    binding.ok(i % 4 === 3);
  } catch (error) {
    if (error?.code !== 'ERR_FIXTURE_STEP_FAILED') throw error;
  }
}
