// callback-scope, leak twin: each iteration asks the addon to start a 0 ms
// libuv timer; in the raw uv callback the addon opens a handle scope, an
// async context and a callback scope, calls `fixtureCallbackScopeTarget`,
// closes the handle scope, and never closes the callback scope nor destroys
// the context. Per iteration (once the timer fired): 1 context leaked,
// async_hooks before without after.
//
// WARNING: after the first leaked scope, process.nextTick callbacks and
// promise continuations stop draining for the rest of the process. This
// module therefore uses no promises/await, iteration() is synchronous, and a
// harness must wait with plain setImmediate/setTimeout callbacks between
// steps (the timer fires on a later loop turn).
import { createRequire } from 'node:module';

const binding = createRequire(import.meta.url)('./build/Release/callback_scope.node');

let fired = 0;

export const meta = {
  scenario: 'callback-scope',
  twin: 'leak',
  asyncNames: ['fixture_callback_scope_leak'],
  leakedAsyncPerIteration: 1,
  synchronousOnly: true,
  breaksMicrotaskDraining: true,
};

export function iteration(i) {
  binding.leak(function fixtureCallbackScopeTarget() {
    fired++;
  });
}

/** How many scheduled callbacks have run so far (timers fire later). */
export function callbacksRun() {
  return fired;
}
