// shared-context, ok twin: one context per operation; 3 opens, 3 closes.
import { createRequire } from 'node:module';

const binding = createRequire(import.meta.url)('./build/Release/shared_context.node');

const OPERATIONS = 3;

export const meta = {
  scenario: 'shared-context',
  twin: 'ok',
  asyncNames: ['fixture_shared_context_ok'],
  leakedAsyncPerIteration: 0,
  initsPerIteration: 3,
};

export function iteration(i) {
  const operations = [];
  for (let k = 0; k < OPERATIONS; k++) operations.push(binding.okStart());
  for (const id of operations) binding.okComplete(id);
}
