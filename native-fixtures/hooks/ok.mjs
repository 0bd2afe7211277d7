// hooks, ok twin: per iteration one env cleanup hook and one async cleanup
// hook (removed at once), one escapable scope (balanced) and one
// uv-timer callback whose handle scope is closed.
// Synchronous only: a handle scope left open in a uv callback does not stop
// microtasks, but keep the driver's plain-callback style anyway.
import { createRequire } from 'node:module';
const binding = createRequire(import.meta.url)('./build/Release/hooks.node');
export const meta = { scenario: 'hooks', twin: 'ok' };
let fired = 0;
export function iteration(i) {
  binding.addHook(true);
  binding.addAsyncHook(true);
  binding.escapable();
  binding.scopeTimer(false, function fixtureScopeTimerTarget() { fired++; });
}
export function callbacksRun() { return fired; }
