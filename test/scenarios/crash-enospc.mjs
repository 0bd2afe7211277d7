// A full disk without a small file system: from iteration CRASH_ENOSPC_AT
// (default 1) on, node:v8 writeHeapSnapshot throws the error Node gives on a
// full disk (ENOSPC), for this process's harness too (syncBuiltinESMExports
// updates the named import it holds).
import { syncBuiltinESMExports } from 'node:module';
import { createRequire } from 'node:module';
import { AsyncResource } from 'node:async_hooks';

const v8 = createRequire(import.meta.url)('node:v8');
const failAt = Number(process.env.CRASH_ENOSPC_AT ?? 1);

export function iteration(i) {
  new AsyncResource('test_crash_leak', { requireManualDestroy: true });
  if (i !== failAt) return;
  v8.writeHeapSnapshot = (file) => {
    const error = new Error(`ENOSPC: no space left on device, write '${file}'`);
    Object.assign(error, { errno: -28, code: 'ENOSPC', syscall: 'write', path: file });
    throw error;
  };
  syncBuiltinESMExports();
}
