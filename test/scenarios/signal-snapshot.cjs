// Run with `--require <agent> --heapsnapshot-signal=SIGUSR2 --diagnostic-dir=<dir>`:
// the agent's records must be in a snapshot Node writes on its own. Also
// removes Error.prepareStackTrace first (the agent then reads Node's default
// stack format) and prints Error's own property names at the end, which the
// agent must not have changed.
'use strict';
delete Error.prepareStackTrace;
const { AsyncResource } = require('node:async_hooks');

const kept = [];
function makeThree() {
  for (let i = 0; i < 3; i++) kept.push(new AsyncResource('signal_leak', { requireManualDestroy: true }));
}
makeThree();
new AsyncResource('signal_ok', { requireManualDestroy: true }).emitDestroy();

setImmediate(() => {
  setImmediate(() => {
    process.kill(process.pid, 'SIGUSR2');
    setTimeout(() => console.log(Object.getOwnPropertyNames(Error).join(',')), 300);
  });
});
