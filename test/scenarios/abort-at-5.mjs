// Crashes its process: leaks one "test_abort_leak" per iteration and calls
// process.abort() (SIGABRT) in iteration 5.
import { AsyncResource } from 'node:async_hooks';

export function iteration(i) {
  new AsyncResource('test_abort_leak', { requireManualDestroy: true });
  if (i === 5) process.abort();
}
