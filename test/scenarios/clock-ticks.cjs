// For the snapshot-moment test: every millisecond one Tick object joins the
// heap and its creation time (process.hrtime, the clock attach reads) joins
// a list, so a heap and a clock reading can be checked against each other:
// the ticks in the heap are exactly those created at or before the reading.
// With "block" as argument, the event loop is blocked by a 3 s busy loop
// 300 ms after start (no Immediate runs meanwhile).
const inspector = require('node:inspector');

inspector.open(0, '127.0.0.1');
class Tick {}
globalThis.clockTicks = [];
globalThis.clockTickTimes = [];
setInterval(() => {
  globalThis.clockTicks.push(new Tick());
  globalThis.clockTickTimes.push(Number(process.hrtime.bigint() / 1000n));
}, 1);
if (process.argv[2] === 'block') {
  setTimeout(() => {
    const until = Date.now() + 3_000;
    while (Date.now() < until);
  }, 300);
}
process.stdout.write(`${inspector.url()}\n`);
