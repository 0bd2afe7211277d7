// js-resource, ok twin: same resource shape, context destroyed. No growth.
import { createRequire } from 'node:module';

const binding = createRequire(import.meta.url)('./build/Release/js_resource.node');

export class FixtureResource {
  constructor(index) {
    this.index = index;
  }
}

export const meta = {
  scenario: 'js-resource',
  twin: 'ok',
  asyncNames: ['fixture_js_resource_ok'],
  leakedAsyncPerIteration: 0,
  resourceClass: 'FixtureResource',
};

export function iteration(i) {
  binding.ok(new FixtureResource(i));
}
