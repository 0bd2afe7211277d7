// hooks, leak twin: per iteration one env cleanup hook and one async cleanup
// hook (left registered), one escapable scope (balanced) and one
// uv-timer callback whose handle scope is left open.
// Synchronous only: a handle scope left open in a uv callback does not stop
// microtasks, but keep the driver's plain-callback style anyway.
import { createRequire } from 'node:module';
const binding = createRequire(import.meta.url)('./build/Release/hooks.node');
export const meta = { scenario: 'hooks', twin: 'leak' };
let fired = 0;
export function iteration(i) {
  binding.addHook(false);
  binding.addAsyncHook(false);
  binding.escapable();
  binding.scopeTimer(true, function fixtureScopeTimerTarget() { fired++; });
}
export function callbacksRun() { return fired; }
