// shared-context, leak twin: 3 overlapping operations share one static
// napi_async_context slot. Each start overwrites the slot; the completions
// destroy it once. Per iteration: 3 inits, 1 destroy, 2 contexts leaked.
import { createRequire } from 'node:module';

const binding = createRequire(import.meta.url)('./build/Release/shared_context.node');

const OPERATIONS = 3;

export const meta = {
  scenario: 'shared-context',
  twin: 'leak',
  asyncNames: ['fixture_shared_context_leak'],
  leakedAsyncPerIteration: 2,
  initsPerIteration: 3,
};

export function iteration(i) {
  for (let k = 0; k < OPERATIONS; k++) binding.leakStart();
  for (let k = 0; k < OPERATIONS; k++) binding.leakComplete();
}
