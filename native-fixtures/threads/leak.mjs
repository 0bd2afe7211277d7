// threads, leak twin: per iteration one TSFN driven from a libuv pool thread and
// one driven from a native pthread; both keep one slot forever (thread count 1, never released).
import { createRequire } from 'node:module';
const binding = createRequire(import.meta.url)('./build/Release/threads.node');
export const meta = { scenario: 'threads', twin: 'leak' };
export function iteration(i) {
  const pool = new Promise((resolve) => {
    let calls = 0, done = false;
    const check = () => { if (calls === 1 && done) resolve(); };
    binding.tsfnPool(() => { calls++; check(); }, () => { done = true; check(); }, true);
  });
  const native = new Promise((resolve) => binding.tsfnNative(() => resolve(), true));
  // the leak twin unrefs its TSFNs: keep the loop alive until both callbacks ran
  const keepAlive = setInterval(() => {}, 1000);
  return Promise.all([pool, native]).then(() => clearInterval(keepAlive));
}
