// coincident-rates, leak twin: per iteration one plain context (NULL
// resource), one context with a JS resource (dropped at once, so collected on
// Node <= 24) and one strong napi_ref to a new function are leaked: three
// groups growing at exactly 1 per iteration, none of them a threadsafe
// function or async work.
import { createRequire } from 'node:module';

const binding = createRequire(import.meta.url)('./build/Release/coincident_rates.node');

export const meta = {
  scenario: 'coincident-rates',
  twin: 'leak',
  asyncNames: ['fixture_coincident_null', 'fixture_coincident_object'],
  leakedAsyncPerIteration: 2,
  leakedRefsPerIteration: 1,
  retainedFunction: { name: 'fixtureCoincidentCallback', file: new URL(import.meta.url).pathname, line: 20 },
};

export function iteration(i) {
  binding.leak({ iteration: i }, function fixtureCoincidentCallback() {
    return i;
  });
}
