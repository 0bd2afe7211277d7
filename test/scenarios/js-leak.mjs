// Pure-JS scenario: per iteration one AsyncResource "test_js_leak" that is
// never destroyed (requireManualDestroy, no emitDestroy: garbage collection
// does not destroy it either) and one "test_js_ok" that is destroyed at once.
// Per iteration: 1 leaked record of test_js_leak, 0 of test_js_ok.
import { AsyncResource } from 'node:async_hooks';

export function iteration(i) {
  new AsyncResource('test_js_leak', { requireManualDestroy: true });
  new AsyncResource('test_js_ok', { requireManualDestroy: true }).emitDestroy();
}
