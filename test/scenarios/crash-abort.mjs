// Aborts (SIGABRT, like a failed CHECK in Node or an addon) in iteration 3.
import { AsyncResource } from 'node:async_hooks';

export function iteration(i) {
  new AsyncResource('test_crash_leak', { requireManualDestroy: true });
  if (i === 3) process.abort();
}
