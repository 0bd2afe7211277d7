// CommonJS scenario with asynchronous setup, iterations and teardown (each
// returns a promise); leaks one "test_async_leak" per iteration. setup() and
// teardown() append to the file named by SCENARIO_TRACE (when set).
const { AsyncResource } = require('node:async_hooks');
const { appendFileSync } = require('node:fs');

const trace = (what) => process.env.SCENARIO_TRACE && appendFileSync(process.env.SCENARIO_TRACE, `${what}\n`);
const later = () => new Promise((resolve) => setTimeout(resolve, 1));

exports.setup = async () => {
  await later();
  trace('setup');
};

exports.iteration = async (i) => {
  await later();
  new AsyncResource('test_async_leak', { requireManualDestroy: true });
};

exports.teardown = async () => {
  await later();
  trace('teardown');
};
