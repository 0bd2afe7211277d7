// null-resource, ok twin: napi_async_init + napi_async_destroy. No growth.
import { createRequire } from 'node:module';

const binding = createRequire(import.meta.url)('./build/Release/null_resource.node');

export const meta = {
  scenario: 'null-resource',
  twin: 'ok',
  asyncNames: ['fixture_null_resource_ok'],
  leakedAsyncPerIteration: 0,
};

export function iteration(i) {
  binding.ok();
}
