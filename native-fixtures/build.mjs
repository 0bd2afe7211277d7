#!/usr/bin/env node
// Builds every native fixture (each sub-folder holding a binding.gyp) with
// node-gyp, offline, against local Node headers.
//
//   node native-fixtures/build.mjs [--force]
//
// - Headers: --nodedir=$npm_config_nodedir, else --nodedir=/usr (headers in
//   /usr/include/node). node-gyp never downloads anything this way.
// - A folder is skipped when every build/Release/<target>.node is newer than
//   its .c/.h/.gyp sources and ../common.h (so repeated test runs are fast);
//   --force rebuilds everything.
// - At most 2 builds run at once. One status line per folder goes to stderr;
//   on failure the full node-gyp output is kept in <folder>/build/node-gyp.log
//   and the script exits non-zero with a one-line reason.
import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const MAX_PARALLEL = 2;
const here = dirname(fileURLToPath(import.meta.url));
const repoRoot = dirname(here);
const args = process.argv.slice(2);
const force = args.includes('--force');
const unknown = args.filter((a) => a !== '--force');
if (unknown.length > 0) {
  fail(`unknown argument(s): ${unknown.join(' ')} (usage: node native-fixtures/build.mjs [--force])`);
}
const nodedir = process.env.npm_config_nodedir || '/usr';

function fail(reason) {
  process.stderr.write(`native-fixtures: ${reason}\n`);
  process.exit(1);
}

function findNodeGyp() {
  const local = join(repoRoot, 'node_modules', 'node-gyp', 'bin', 'node-gyp.js');
  try {
    statSync(local);
    return local;
  } catch {
    // Fall back to module resolution (e.g. a hoisted install).
  }
  try {
    return createRequire(import.meta.url).resolve('node-gyp/bin/node-gyp.js');
  } catch {
    return fail(`node-gyp not found (expected ${relative(process.cwd(), local)}); run npm install`);
  }
}

function mtimeMs(path) {
  try {
    return statSync(path).mtimeMs;
  } catch {
    return undefined;
  }
}

/** Target names declared in a binding.gyp ("target_name": "x"). */
function targetNames(gypPath) {
  const text = readFileSync(gypPath, 'utf8');
  return [...text.matchAll(/["']target_name["']\s*:\s*["']([^"']+)["']/g)].map((m) => m[1]);
}

/** Why `dir` needs a build, or undefined when it is up to date. */
function staleReason(dir) {
  const targets = targetNames(join(dir, 'binding.gyp'));
  if (targets.length === 0) return 'no target_name in binding.gyp';
  let oldestOutput = Infinity;
  for (const t of targets) {
    const m = mtimeMs(join(dir, 'build', 'Release', `${t}.node`));
    if (m === undefined) return `build/Release/${t}.node missing`;
    oldestOutput = Math.min(oldestOutput, m);
  }
  const inputs = readdirSync(dir)
    .filter((f) => /\.(c|cc|cpp|h|gyp|gypi)$/.test(f))
    .map((f) => join(dir, f));
  inputs.push(join(here, 'common.h'));
  for (const input of inputs) {
    const m = mtimeMs(input);
    if (m !== undefined && m >= oldestOutput) return `${relative(dir, input)} changed`;
  }
  return undefined;
}

function build(dir, nodeGyp) {
  return new Promise((resolve) => {
    const started = Date.now();
    const child = spawn(
      process.execPath,
      [nodeGyp, 'rebuild', `--nodedir=${nodedir}`, '--loglevel=warn'],
      { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'], env: process.env },
    );
    const chunks = [];
    child.stdout.on('data', (c) => chunks.push(c));
    child.stderr.on('data', (c) => chunks.push(c));
    const done = (code, error) => {
      const output = Buffer.concat(chunks).toString('utf8') + (error ? `\n${error.stack}\n` : '');
      resolve({ ok: code === 0 && !error, code, output, seconds: (Date.now() - started) / 1000 });
    };
    child.on('error', (error) => done(null, error));
    child.on('close', (code) => done(code));
  });
}

/** The most telling line of a failed node-gyp run. */
function firstErrorLine(output) {
  const lines = output.split('\n').map((l) => l.trim());
  const patterns = [
    /(^|\s)(fatal )?error:/, // compiler / linker
    /^gyp: /, // gyp itself (missing common.gypi, bad binding.gyp, ...)
    /^make: \*\*\*/, // e.g. a source file listed in binding.gyp is missing
    /^gyp ERR! stack Error:/,
    /^gyp ERR!/,
  ];
  for (const pattern of patterns) {
    const line = lines.find((l) => pattern.test(l));
    if (line) return line;
  }
  return lines.filter(Boolean).at(-1) ?? '(no output)';
}

async function main() {
  const folders = readdirSync(here, { withFileTypes: true })
    .filter((e) => e.isDirectory() && mtimeMs(join(here, e.name, 'binding.gyp')) !== undefined)
    .map((e) => e.name)
    .sort();
  if (folders.length === 0) fail('no fixture folders with a binding.gyp found');

  const queue = [];
  for (const name of folders) {
    const reason = force ? '--force' : staleReason(join(here, name));
    if (reason === undefined) process.stderr.write(`native-fixtures: ${name}: up to date\n`);
    else queue.push({ name, reason });
  }
  if (queue.length === 0) return;

  const headers = join(nodedir, 'include', 'node');
  if (mtimeMs(join(headers, 'node_api.h')) === undefined || mtimeMs(join(headers, 'common.gypi')) === undefined) {
    fail(`no Node headers in ${headers} (node_api.h, common.gypi); set npm_config_nodedir to a Node install/headers dir`);
  }
  const nodeGyp = findNodeGyp();
  const failures = [];
  const started = Date.now();
  const runNext = async () => {
    for (let job = queue.shift(); job; job = queue.shift()) {
      const dir = join(here, job.name);
      const result = await build(dir, nodeGyp);
      if (result.ok) {
        process.stderr.write(`native-fixtures: ${job.name}: built in ${result.seconds.toFixed(1)}s (${job.reason})\n`);
      } else {
        const log = join(dir, 'build', 'node-gyp.log');
        mkdirSync(dirname(log), { recursive: true });
        writeFileSync(log, result.output);
        process.stderr.write(`native-fixtures: ${job.name}: FAILED (node-gyp exit ${result.code}): ${firstErrorLine(result.output)}\n`);
        failures.push({ name: job.name, log: relative(process.cwd(), log) });
      }
    }
  };
  await Promise.all(Array.from({ length: MAX_PARALLEL }, runNext));

  if (failures.length > 0) {
    fail(`build failed for ${failures.map((f) => f.name).join(', ')} (nodedir=${nodedir}; logs: ${failures.map((f) => f.log).join(', ')})`);
  }
  process.stderr.write(`native-fixtures: done in ${((Date.now() - started) / 1000).toFixed(1)}s\n`);
}

main().catch((error) => fail(`unexpected error: ${error?.stack ?? error}`));
