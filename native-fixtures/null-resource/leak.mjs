// null-resource, leak twin: napi_async_init(env, NULL, name) never destroyed.
// Per iteration: 1 async context (a strong global to an empty {}) leaked.
import { createRequire } from 'node:module';

const binding = createRequire(import.meta.url)('./build/Release/null_resource.node');

export const meta = {
  scenario: 'null-resource',
  twin: 'leak',
  asyncNames: ['fixture_null_resource_leak'],
  leakedAsyncPerIteration: 1,
};

export function iteration(i) {
  binding.leak();
}
