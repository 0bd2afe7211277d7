// Never finishes iteration 3. CRASH_HANG_MODE picks how:
//   "wait" (default): returns a promise that never settles, a timer keeps the
//          loop alive; SIGTERM ends it.
//   "busy": ignores SIGTERM and spins in a loop; only SIGKILL ends it.
//   "linger": like "wait", and first starts a process that inherits the
//          output pipes and outlives it (sleeps 60 s), so the pipes never close;
//          its pid goes to CRASH_LINGER_PID_FILE.
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { AsyncResource } from 'node:async_hooks';

const mode = process.env.CRASH_HANG_MODE ?? 'wait';

export function setup() {
  if (mode === 'busy') process.on('SIGTERM', () => {});
}

export function iteration(i) {
  new AsyncResource('test_crash_leak', { requireManualDestroy: true });
  if (i !== 3) return undefined;
  if (mode === 'busy') for (;;);
  if (mode === 'linger') {
    const lingering = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60_000)'], { stdio: 'inherit', detached: true });
    lingering.unref();
    if (process.env.CRASH_LINGER_PID_FILE) writeFileSync(process.env.CRASH_LINGER_PID_FILE, String(lingering.pid));
  }
  setInterval(() => {}, 1000);
  return new Promise(() => {});
}
