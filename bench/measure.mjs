// What every measurement process (case.mjs, diff-case.mjs) records besides its own result:
// GC pauses, phase timings, and memory after the run.
import { performance, PerformanceObserver } from 'node:perf_hooks';

/** GC time while the case runs (the observer's entries arrive asynchronously; read them at the end). */
export const gc = { ms: 0, count: 0 };
const gcObserver = new PerformanceObserver((list) => {
  for (const e of list.getEntries()) { gc.ms += e.duration; gc.count++; }
});
gcObserver.observe({ entryTypes: ['gc'] });

/** Stops counting (after the pending entries were delivered). */
export function stopGcObserver() {
  gcObserver.disconnect();
}

/** Phase timer: mark(name) adds the time since the previous mark to that phase. */
export function timer() {
  const t0 = performance.now();
  let last = t0;
  const phases = {};
  return {
    t0,
    phases,
    mark(name, at = performance.now()) { phases[name] = (phases[name] ?? 0) + (at - last); last = at; },
    total: () => performance.now() - t0,
  };
}

const mb = (x) => Math.round(x / 1e6);

/** process.memoryUsage() in MB. */
export function mem() {
  const m = process.memoryUsage();
  return { rssMB: mb(m.rss), heapUsedMB: mb(m.heapUsed), externalMB: mb(m.external), arrayBuffersMB: mb(m.arrayBuffers) };
}
