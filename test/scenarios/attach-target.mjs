// A long-running program for `attach` tests: loads a scenario module (by
// default the null-resource leak fixture) and calls its iteration(i) every
// 5 ms, forever. Prints "ready <pid>" once it runs.
//   node attach-target.mjs [module] [--ballast-mb <n>]
// --ballast-mb keeps n MB of small objects alive, so snapshots take a while.
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

const args = process.argv.slice(2);
const ballastAt = args.indexOf('--ballast-mb');
const ballastMb = ballastAt >= 0 ? Number(args.splice(ballastAt, 2)[1]) : 0;
const module = args[0] ? pathToFileURL(resolve(args[0])).href : new URL('../../native-fixtures/null-resource/leak.mjs', import.meta.url).href;

// About 100 bytes per entry: an object, a string, an array slot.
const ballast = [];
for (let i = 0; i < ballastMb * 10_000; i++) ballast.push({ index: i, text: `ballast-${i}` });
globalThis.attachTargetBallast = ballast;

const scenario = await import(module);
let i = 0;
setInterval(() => {
  scenario.iteration(i++);
}, 5);
process.stdout.write(`ready ${process.pid}\n`);
