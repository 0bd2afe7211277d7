// CommonJS scenario whose iteration 2 throws; setup() and teardown() record
// that they ran in the file named by SCENARIO_TRACE (when set).
const { appendFileSync } = require('node:fs');

const trace = (what) => process.env.SCENARIO_TRACE && appendFileSync(process.env.SCENARIO_TRACE, `${what}\n`);

module.exports = {
  setup() {
    trace('setup');
  },
  iteration(i) {
    trace(`iteration ${i}`);
    if (i === 2) throw new TypeError('fixture failure in iteration 2');
  },
  teardown() {
    trace('teardown');
  },
};
