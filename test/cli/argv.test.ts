import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { repoRoot } from '../helpers/run-cli.js';

// Every option of every command, given a value it cannot take (or a command
// line it cannot run): exit 2, one line on stderr, no stack trace, within
// 5 s, and nothing written. The cases are drawn from the full list by a
// seeded generator (a different seed draws another sample; SEED=n to replay).

const SEED = Number(process.env.SEED ?? 20261204);
const scratch = mkdtempSync(join(tmpdir(), 'napi-heapdiff-argv-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

const snapshot = join(repoRoot, 'snapshots', 'node20-fixtures.heapsnapshot.gz');
const scenario = join(repoRoot, 'native-fixtures', 'null-resource', 'ok.mjs');
const aFolder = join(scratch, 'a-folder');
const aFile = join(scratch, 'a-file.txt');
mkdirSync(aFolder);
writeFileSync(aFile, 'x');
const existing = join(scratch, 'existing.mjs');
writeFileSync(existing, '// mine\n');

const NUMBERS = ['abc', '-3', '1.5', '', '0x10', '1e3', ' '];
const OUTPUT_FILES = ['/nonexistent/dir/x.json', '/proc/x.json', aFolder, join(aFile, 'x.json')];
const OUTPUT_FOLDERS = ['/proc/x', aFile, join(aFile, 'below'), '/proc/self/x'];
const BUDGETS = ['x', 'x=-1', 'x=abc', '=1', 'x='];

/** Every invalid command line, by option. */
function allCases(): string[][] {
  const cases: string[][] = [];
  const each = (values: string[], make: (v: string) => string[]) => values.forEach((v) => cases.push(make(v)));
  // inspect
  each([...NUMBERS, '0'], (v) => ['inspect', snapshot, '--top', v]);
  each(OUTPUT_FILES, (v) => ['inspect', snapshot, '--json', v]);
  cases.push(['inspect'], ['inspect', snapshot, '--bogus'], ['inspect', join(scratch, 'missing.heapsnapshot')], ['inspect', aFolder], ['inspect', snapshot, '--top']);
  // diff
  each(NUMBERS, (v) => ['diff', snapshot, snapshot, '--iterations', v]);
  each(OUTPUT_FILES, (v) => ['diff', snapshot, snapshot, '--json', v]);
  each(OUTPUT_FOLDERS, (v) => ['diff', snapshot, snapshot, '--report', v]);
  each(BUDGETS, (v) => ['diff', snapshot, snapshot, '--max-per-iteration', v]);
  cases.push(['diff', snapshot], ['diff', snapshot, snapshot, '--config', join(scratch, 'missing.json')], ['diff', snapshot, snapshot, '--config', aFile]);
  // capture
  const capture = (...more: string[]) => ['capture', '--scenario', scenario, '--out', join(scratch, 'capture'), ...more];
  each([...NUMBERS, '0'], (v) => capture('--iterations', v));
  each([...NUMBERS, '0', '1'], (v) => capture('--snapshots', v));
  each(NUMBERS, (v) => capture('--warmup', v));
  each(NUMBERS, (v) => capture('--timeout', v));
  each(OUTPUT_FOLDERS, (v) => ['capture', '--scenario', scenario, '--out', v]);
  each(OUTPUT_FILES, (v) => capture('--json', v));
  each(OUTPUT_FOLDERS, (v) => capture('--report', v));
  each(BUDGETS, (v) => capture('--max-per-iteration', v));
  each(NUMBERS, (v) => ['capture', '--out', join(scratch, 'capture'), '--interval', v, '--', process.execPath, '-e', '0']);
  cases.push(
    ['capture', '--scenario', join(scratch, 'missing.mjs'), '--out', join(scratch, 'capture')],
    ['capture', '--out', join(scratch, 'capture')],
    ['capture', '--scenario', scenario],
    capture('--', process.execPath, '-e', '0'),
    capture('--interval', '100'),
    ['capture', '--out', join(scratch, 'capture'), '--iterations', '5', '--', process.execPath, '-e', '0'],
  );
  // attach
  const attach = (...more: string[]) => ['attach', String(process.pid), '--out', join(scratch, 'attach'), ...more];
  each(['abc', '-3', '1.5', '', '0x10'], (v) => ['attach', v, '--out', join(scratch, 'attach')]);
  each([...NUMBERS, '0', '1'], (v) => attach('--snapshots', v));
  each(NUMBERS, (v) => attach('--interval', v));
  each([...NUMBERS, '0', '70000'], (v) => attach('--port', v));
  each(['8.8.8.8', 'example.com', ''], (v) => attach('--host', v));
  each(OUTPUT_FOLDERS, (v) => ['attach', String(process.pid), '--out', v]);
  each(OUTPUT_FILES, (v) => attach('--json', v));
  each(OUTPUT_FOLDERS, (v) => attach('--report', v));
  cases.push(['attach'], ['attach', String(process.pid)], attach('--no-analysis', '--report', join(scratch, 'r')));
  // report
  each(OUTPUT_FOLDERS, (v) => ['report', join(scratch, 'missing.json'), '--report', v]);
  cases.push(['report', join(scratch, 'missing.json')], ['report', join(scratch, 'missing.json'), '--report', join(scratch, 'r')], ['report', aFile, '--report', join(scratch, 'r')]);
  // init
  cases.push(['init', join(scratch, 'scenario.js')], ['init', existing], ['init', join(scratch, 'x.mjs'), '--addon'], ['init', '/nonexistent/dir/x.mjs'], ['init', '/proc/x.mjs'], ['init', aFolder]);
  // the program itself
  cases.push(['bogus'], ['--bogus'], ['inspect', snapshot, '--top', '5', 'extra']);
  return cases;
}

/** mulberry32: a small seeded generator, so a failing draw can be replayed. */
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const all = allCases();
const next = random(SEED);
const drawn = all.map((c) => [next(), c] as const).sort((a, b) => a[0] - b[0]).slice(0, 80).map(([, c]) => c);

describe(`argv: invalid options and command lines (seed ${SEED}: ${drawn.length} of ${all.length} cases)`, () => {
  it('each: exit 2, one line on stderr without a stack trace, within 5 s, nothing written', () => {
    const bad: string[] = [];
    for (const argv of drawn) {
      const started = Date.now();
      const r = spawnSync(process.execPath, [join(repoRoot, 'dist', 'cli', 'main.js'), ...argv], { encoding: 'utf8', timeout: 10_000, env: { ...process.env, NO_COLOR: '1' } });
      const ms = Date.now() - started;
      const lines = r.stderr.trimEnd().split('\n');
      const problem = r.status !== 2 ? `exit ${r.status}${r.signal ? ` (${r.signal})` : ''}` : lines.length !== 1 ? `${lines.length} lines` : /^\s+at /m.test(r.stderr) ? 'a stack trace' : ms > 5000 ? `${ms} ms` : r.stderr.trim() === '' ? 'no message' : '';
      if (problem) bad.push(`${problem}: napi-heapdiff ${argv.join(' ')}\n  ${r.stderr.trimEnd().split('\n').join('\n  ')}`);
    }
    expect(bad).toEqual([]);
    // Nothing written anywhere: no capture, report or JSON folder appeared, no file changed.
    expect(readdirSync(scratch).sort()).toEqual(['a-file.txt', 'a-folder', 'existing.mjs']);
    expect(readdirSync(aFolder)).toEqual([]);
    expect(existsSync('/nonexistent')).toBe(false);
  });
});
