// Dies of SIGSEGV in iteration 3, as a native addon dereferencing a bad
// pointer would (the signal is raised by the process itself: a real fault
// needs native code, and the parent sees the same thing either way).
// Leaks one "test_crash_leak" per iteration until then.
import { AsyncResource } from 'node:async_hooks';

export function iteration(i) {
  new AsyncResource('test_crash_leak', { requireManualDestroy: true });
  if (i === 3) process.kill(process.pid, 'SIGSEGV');
}
