// Shared by leak.mjs and ok.mjs: run worker.mjs once and wait for its exit.
import { Worker } from 'node:worker_threads';

const workerUrl = new URL('./worker.mjs', import.meta.url);

export function runWorker(workerData) {
  return new Promise((resolve, reject) => {
    // execArgv is inherited, so --require preloads (e.g. an async_hooks
    // recorder) also run inside the worker.
    const worker = new Worker(workerUrl, { workerData });
    let failure;
    worker.once('error', (error) => {
      failure = error;
    });
    worker.once('exit', (code) => {
      if (failure) reject(failure);
      else if (code !== 0) reject(new Error(`fixture worker exited with code ${code}`));
      else resolve();
    });
  });
}
