// Prints what a program can see of its own environment, so a run with the
// agent preloaded can be compared with a run without it. `node invisible.cjs
// [throw]`: ends with exit code 3, or with an uncaught TypeError.
'use strict';
const { AsyncResource } = require('node:async_hooks');
const { Worker } = require('node:worker_threads');

const globalsAtStart = Reflect.ownKeys(globalThis).map(String).sort();

// A user prepareStackTrace: the agent must neither call it nor replace it.
let userPrepareCalls = 0;
function userPrepare(error, callSites) {
  userPrepareCalls++;
  return `custom:${callSites.length}`;
}
Error.prepareStackTrace = userPrepare;
Error.stackTraceLimit = 7;
const resources = [];
for (let i = 0; i < 5; i++) resources.push(new AsyncResource('invisible_test_type', { requireManualDestroy: true }));
const afterResources = { userPrepareCalls, samePrepare: Error.prepareStackTrace === userPrepare, limit: Error.stackTraceLimit };
delete Error.prepareStackTrace;
Error.stackTraceLimit = 10;

function nested() {
  return new Error('probe').stack.split('\n').slice(0, 3).join(' | ');
}

const worker = new Worker('require("node:worker_threads").parentPort.postMessage("worker ok " + typeof globalThis.gc)', { eval: true });
worker.once('message', (text) => {
  setTimeout(() => {
    const report = {
      globalsAtStart,
      globalsNow: Reflect.ownKeys(globalThis).map(String).sort(),
      gc: typeof globalThis.gc,
      afterResources,
      stack: nested(),
      worker: text,
      exitListeners: process.listenerCount('exit'),
      sigusr2Listeners: process.listenerCount('SIGUSR2'),
      warningListeners: process.listenerCount('warning'),
      env: Object.keys(process.env).filter((k) => k.startsWith('NAPI_HEAPDIFF')),
      prepareStackTrace: typeof Error.prepareStackTrace,
      stackTraceLimit: Error.stackTraceLimit,
    };
    process.stdout.write(`${JSON.stringify(report)}\n`);
    if (process.argv[2] === 'throw') null.boom;
    process.exitCode = 3;
  }, 20);
});
