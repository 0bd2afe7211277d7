// coincident-rates, ok twin: the same three operations per iteration, each
// released before the call returns.
import { createRequire } from 'node:module';

const binding = createRequire(import.meta.url)('./build/Release/coincident_rates.node');

export const meta = {
  scenario: 'coincident-rates',
  twin: 'ok',
  asyncNames: ['fixture_coincident_null_ok', 'fixture_coincident_object_ok'],
  leakedAsyncPerIteration: 0,
  leakedRefsPerIteration: 0,
};

export function iteration(i) {
  binding.ok({ iteration: i }, function fixtureCoincidentOkCallback() {
    return i;
  });
}
