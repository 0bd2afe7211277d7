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
  // napi_async_destroy only queues the async_hooks destroy event (emitted
  // from an unref'ed immediate). On Node 20 the queue was still flushed when
  // the worker ended without this wait; the extra loop turn is a cheap
  // precaution so the ok twin's destroys are never lost.
  await new Promise((resolve) => setImmediate(resolve));
}
