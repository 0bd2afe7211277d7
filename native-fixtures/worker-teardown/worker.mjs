// Body of one worker-teardown Worker. workerData: { addon, close, index }.
// Loads the addon in this worker's env, opens 2 async contexts + 1 strong
// napi_ref to an object, then either ends with them open (leak twin) or
// calls close() first (ok twin).
import { createRequire } from 'node:module';
import { workerData } from 'node:worker_threads';

const binding = createRequire(import.meta.url)(`./build/Release/${workerData.addon}.node`);

class FixtureWorkerState {
  constructor(index) {
    this.index = index;
  }
}

binding.open(new FixtureWorkerState(workerData.index));

if (workerData.close) {
  binding.close();
  // napi_async_destroy only queues the async_hooks destroy event; it is
  // emitted from an unref'ed immediate, so give the loop one more turn
  // before the worker's env goes away.
  await new Promise((resolve) => setImmediate(resolve));
}
