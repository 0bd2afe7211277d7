// helper-sites inside a Worker: each iteration runs a new Worker that loads the
// addon on its own thread and calls startA() once and startB() once. The sites
// must be the same as on the main thread; the counts land in the worker
// threads' segments.
import { Worker, isMainThread } from 'node:worker_threads';
import { createRequire } from 'node:module';
export const meta = { scenario: 'helper-sites', twin: 'worker' };
if (!isMainThread) {
  const binding = createRequire(import.meta.url)('./build/Release/helper_sites.node');
  binding.startA();
  binding.startB();
}
// keep the addon loaded on the main thread too (a Worker's exit dlcloses what it alone loaded)
if (isMainThread) createRequire(import.meta.url)('./build/Release/helper_sites.node');
export function iteration(i) {
  return new Promise((resolve, reject) => {
    const w = new Worker(new URL(import.meta.url));
    w.once('error', reject);
    w.once('exit', (code) => (code === 0 ? resolve() : reject(new Error(`worker exit ${code}`))));
  });
}
