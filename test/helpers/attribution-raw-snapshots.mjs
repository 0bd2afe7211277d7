// Child process for test/raw-snapshots.test.ts: heap snapshots written by V8
// itself, WITHOUT the napi-heapdiff agent (so nothing in them carries an async
// context name).
//
//   node --expose-gc attribution-raw-snapshots.mjs <scenario module> <out dir> <iterations> <snapshots> [warmup] [--v8-names]
//
// Imports the scenario module, runs `warmup` iterations, then writes
// `raw-1.heapsnapshot`, and after every further `iterations` iterations the
// next one, up to `snapshots` files. With --v8-names the files get V8's
// default names instead (Heap.<date>.<time>.<pid>.<thread>.<seq>.heapsnapshot,
// written by writeHeapSnapshot() into the out dir), which carry the pid.
// Before each snapshot: 4 × (gc() + setImmediate), so pending async_hooks
// destroys and weak callbacks have run. Prints
// `{ "files": [...], "iterationsRun": n, "pid": p }` on stdout.
import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { writeHeapSnapshot } from 'node:v8';

const args = process.argv.slice(2);
const v8Names = args.includes('--v8-names');
const [modulePath, outDirArg, iterationsText, snapshotsText, warmupText = '0'] = args.filter((a) => a !== '--v8-names');
if (!modulePath || !outDirArg || !iterationsText || !snapshotsText) {
  process.stderr.write('usage: node --expose-gc attribution-raw-snapshots.mjs <module> <out dir> <iterations> <snapshots> [warmup] [--v8-names]\n');
  process.exit(2);
}
if (typeof globalThis.gc !== 'function') {
  process.stderr.write('run with --expose-gc\n');
  process.exit(2);
}
const outDir = resolve(outDirArg);
const iterations = Number(iterationsText);
const snapshots = Number(snapshotsText);
const warmup = Number(warmupText);

const scenario = await import(pathToFileURL(resolve(modulePath)).href);
mkdirSync(outDir, { recursive: true });

const immediate = () => new Promise((done) => setImmediate(done));

let next = 0;
async function run(count) {
  for (let k = 0; k < count; k++) await scenario.iteration(next++);
}

async function settleAndSnapshot(index) {
  for (let turn = 0; turn < 4; turn++) {
    globalThis.gc();
    await immediate();
  }
  if (!v8Names) return writeHeapSnapshot(join(outDir, `raw-${index}.heapsnapshot`));
  // V8 picks the name and writes into the working directory.
  const cwd = process.cwd();
  process.chdir(outDir);
  try {
    return join(outDir, writeHeapSnapshot());
  } finally {
    process.chdir(cwd);
  }
}

const files = [];
await run(warmup);
files.push(await settleAndSnapshot(1));
for (let index = 2; index <= snapshots; index++) {
  await run(iterations);
  files.push(await settleAndSnapshot(index));
}
process.stdout.write(`${JSON.stringify({ files, iterationsRun: next, pid: process.pid })}\n`);
