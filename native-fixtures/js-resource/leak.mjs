// js-resource, leak twin: napi_async_init(env, resource, name) with a fresh
// FixtureResource per call that JS drops at once; never destroyed.
// Per iteration: 1 async context leaked. On Node <= 24 the resource is held
// weakly and gets collected (Node 20: no heap trace at all); on Node 26 it is
// held strongly and leaks with the context.
import { createRequire } from 'node:module';

const binding = createRequire(import.meta.url)('./build/Release/js_resource.node');

export class FixtureResource {
  constructor(index) {
    this.index = index;
  }
}

export const meta = {
  scenario: 'js-resource',
  twin: 'leak',
  asyncNames: ['fixture_js_resource_leak'],
  leakedAsyncPerIteration: 1,
  resourceClass: 'FixtureResource',
};

export function iteration(i) {
  binding.leak(new FixtureResource(i));
}
