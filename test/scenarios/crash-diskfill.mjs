// Fills the file system of CRASH_FILL_FILE in iteration CRASH_FILL_AT (default 1):
// writes that file until ENOSPC, then gives back CRASH_FILL_SLACK bytes (default
// 0). With the capture's --out on the same (small) file system, the next
// snapshot cannot be written. The test removes the file afterwards.
import { closeSync, ftruncateSync, openSync, writeSync } from 'node:fs';
import { AsyncResource } from 'node:async_hooks';

const file = process.env.CRASH_FILL_FILE;
const fillAt = Number(process.env.CRASH_FILL_AT ?? 1);
const slack = Number(process.env.CRASH_FILL_SLACK ?? 0);

export function iteration(i) {
  new AsyncResource('test_crash_leak', { requireManualDestroy: true });
  if (i !== fillAt || !file) return;
  const fd = openSync(file, 'w');
  const block = Buffer.alloc(64 * 1024, 0x61);
  let written = 0;
  try {
    for (;;) written += writeSync(fd, block);
  } catch (error) {
    if (error.code !== 'ENOSPC') throw error;
  }
  if (slack > 0) ftruncateSync(fd, Math.max(0, written - slack));
  closeSync(fd);
}
