// callback-scope, ok twin: same uv timer flow, but the addon closes the
// callback scope (before/after balanced, microtasks drained) and destroys the
// context. iteration() is synchronous like the leak twin's; the timer fires
// on a later loop turn.
import { createRequire } from 'node:module';

const binding = createRequire(import.meta.url)('./build/Release/callback_scope.node');

let fired = 0;

export const meta = {
  scenario: 'callback-scope',
  twin: 'ok',
  asyncNames: ['fixture_callback_scope_ok'],
  leakedAsyncPerIteration: 0,
  synchronousOnly: true,
  breaksMicrotaskDraining: false,
};

export function iteration(i) {
  binding.ok(function fixtureCallbackScopeOkTarget() {
    fired++;
  });
}

/** How many scheduled callbacks have run so far (timers fire later). */
export function callbacksRun() {
  return fired;
}
