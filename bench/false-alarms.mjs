#!/usr/bin/env node
// How often the analysis fails a program that does not leak, and how often
// it catches one that does: every native fixture's correct twin captured
// --runs times (default 5), every leaking twin once, each with 3 snapshots
// (the smallest series the verdicts accept), as a user would run them.
//
//   node bench/false-alarms.mjs [--runs 5] [--iterations 100] [--node <path>]
//
// Prints one line per capture on stderr and a table on stdout: for each
// correct twin, the runs in which any group failed (and which); for each
// leaking twin, whether the run failed and on which groups. Needs dist/ and
// the built fixtures (npm run build && npm run build:fixtures).
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const args = process.argv.slice(2);
const option = (name, fallback) => {
  const at = args.indexOf(`--${name}`);
  return at >= 0 ? args[at + 1] : fallback;
};
const runs = Number(option('runs', '5'));
const iterations = option('iterations', '100');
const node = option('node', process.execPath);
const cli = join(root, 'dist', 'cli', 'main.js');
if (!existsSync(cli)) {
  process.stderr.write('false-alarms: dist/ is missing: run npm run build\n');
  process.exit(2);
}

const fixtures = join(root, 'native-fixtures');
const folders = readdirSync(fixtures, { withFileTypes: true }).filter((d) => d.isDirectory() && existsSync(join(fixtures, d.name, 'ok.mjs'))).map((d) => d.name).sort();
const scratch = mkdtempSync(join(tmpdir(), 'napi-heapdiff-false-alarms-'));

/** One capture: exit code and the groups that failed the gate. */
function capture(folder, twin, run) {
  const out = join(scratch, `${folder}-${twin}-${run}`);
  const json = `${out}.json`;
  const warmup = folder === 'worker-teardown' ? '2' : '10';
  const count = folder === 'worker-teardown' ? '10' : iterations;
  const r = spawnSync(node, [cli, 'capture', '--scenario', join(fixtures, folder, `${twin}.mjs`), '--iterations', count, '--snapshots', '3', '--warmup', warmup, '--out', out, '--json', json], { encoding: 'utf8', env: { ...process.env, NO_COLOR: '1' } });
  const result = existsSync(json) ? JSON.parse(readFileSync(json, 'utf8')) : null;
  const failing = result
    ? [...result.asyncContexts, ...result.references, ...(result.nativeMemory ? [result.nativeMemory] : [])].filter((row) => row.verdict === 'leak').map((row) => row.name)
    : [`(no result: ${r.stderr.trim().split('\n').at(-1)})`];
  rmSync(out, { recursive: true, force: true });
  process.stderr.write(`false-alarms: ${folder}/${twin}.mjs run ${run}: exit ${r.status}${failing.length > 0 ? `, failing: ${failing.join(', ')}` : ''}\n`);
  return { code: r.status, failing };
}

const rows = [];
let alarms = 0;
let total = 0;
for (const folder of folders) {
  const ok = Array.from({ length: runs }, (_, run) => capture(folder, 'ok', run + 1));
  const falseAlarms = ok.filter((r) => r.code !== 0);
  alarms += falseAlarms.length;
  total += ok.length;
  const leak = capture(folder, 'leak', 1);
  rows.push([folder, `${falseAlarms.length} of ${runs}`, falseAlarms.map((r) => r.failing.join(', ')).join('; ') || '–', `exit ${leak.code}`, leak.failing.join(', ') || '–']);
}
rmSync(scratch, { recursive: true, force: true });

const head = ['fixture', 'correct twin: false alarms', 'what failed', 'leaking twin', 'failing groups'];
const widths = head.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i].length)));
const line = (cells) => `| ${cells.map((c, i) => c.padEnd(widths[i])).join(' | ')} |`;
process.stdout.write(`${[line(head), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...rows.map(line)].join('\n')}\n`);
process.stdout.write(`\nfalse alarms: ${alarms} of ${total} captures of correct twins (${folders.length} fixtures × ${runs} runs, 3 snapshots, ${iterations} iterations per step; node ${spawnSync(node, ['--version'], { encoding: 'utf8' }).stdout.trim()})\n`);
