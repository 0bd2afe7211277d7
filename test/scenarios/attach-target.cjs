// attach-target.mjs with a CommonJS entry point (process.mainModule is set,
// unlike under ESM): the same loop over a scenario module's iteration(i)
// every 5 ms, forever. Prints "ready <pid>".
//   node attach-target.cjs [module]
'use strict';
const { resolve } = require('node:path');
const { pathToFileURL } = require('node:url');

const module_ = process.argv[2] ? resolve(process.argv[2]) : resolve(__dirname, '../../native-fixtures/null-resource/leak.mjs');

import(pathToFileURL(module_).href).then((scenario) => {
  let i = 0;
  setInterval(() => {
    scenario.iteration(i++);
  }, 5);
  process.stdout.write(`ready ${process.pid}\n`);
});
