import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { cliPath, repoRoot } from '../helpers/run-cli.js';

// README's "Reports and CI" example, run as written: the `run:` line of its
// GitHub Actions job, with `npx napi-heapdiff` being the built CLI, in a
// checkout-like folder holding the fixture, with GitHub's variables set.

const scratch = mkdtempSync(join(tmpdir(), 'napi-heapdiff-readme-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

function readmeCommand(): string {
  const readme = readFileSync(join(repoRoot, 'README.md'), 'utf8');
  const start = readme.indexOf('\n## Reports and CI\n');
  expect(start, 'README has a "Reports and CI" section').toBeGreaterThan(0);
  const section = readme.slice(start + 1, readme.indexOf('\n## ', start + 1));
  const yaml = /```yaml\n([\s\S]*?)```/.exec(section);
  expect(yaml, 'the section has a yaml block').not.toBeNull();
  const runs = yaml![1]!.split('\n').filter((line) => /^\s*- run: npx napi-heapdiff /.test(line));
  expect(runs).toHaveLength(1);
  return runs[0]!.replace(/^\s*- run: /, '');
}

/** A folder like a checkout: the fixture scenarios and their built addon, nothing else. */
function checkout(label: string): string {
  const root = join(scratch, label);
  const fixture = join(root, 'native-fixtures', 'null-resource');
  mkdirSync(join(fixture, 'build', 'Release'), { recursive: true });
  const source = join(repoRoot, 'native-fixtures', 'null-resource');
  for (const file of ['leak.mjs', 'ok.mjs', 'build/Release/null_resource.node']) copyFileSync(join(source, file), join(fixture, file));
  return root;
}

function runAsWritten(command: string, cwd: string) {
  // No quoting or shell syntax in the example: splitting at spaces is what the shell does.
  expect(command).toMatch(/^[\w\-./= ]+$/);
  const argv = command.split(/ +/);
  expect(argv.slice(0, 2)).toEqual(['npx', 'napi-heapdiff']);
  const stepSummary = join(cwd, 'step-summary.md');
  writeFileSync(stepSummary, '');
  const env = { ...process.env, GITHUB_ACTIONS: 'true', GITHUB_STEP_SUMMARY: stepSummary, NO_COLOR: undefined };
  const r = spawnSync(process.execPath, [cliPath, ...argv.slice(2)], { cwd, env, encoding: 'utf8', timeout: 120_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr, stepSummary: readFileSync(stepSummary, 'utf8') };
}

describe('README "Reports and CI" example', () => {
  const command = readmeCommand();

  it('is a capture of the leaky fixture with a report folder', () => {
    expect(command).toBe('npx napi-heapdiff capture --scenario native-fixtures/null-resource/leak.mjs --iterations 100 --snapshots 3 --out .napi-heapdiff/capture --report .napi-heapdiff/report');
  });

  it('exits 1 on the leaky fixture: report folder, one annotation at the creation site, the job summary', () => {
    const cwd = checkout('leak');
    const r = runAsWritten(command, cwd);
    expect(r.code, r.stderr).toBe(1);
    expect(readdirSync(join(cwd, '.napi-heapdiff', 'report')).sort()).toEqual(['junit.xml', 'report.html', 'result.json', 'summary.md']);
    expect(r.stdout.split('\n').filter((line) => line.startsWith('::'))).toEqual([
      '::error title=napi-heapdiff%3A async context leak,file=native-fixtures/null-resource/leak.mjs,line=15,col=11::fixture_null_resource_leak (async context): leak: grew at every step, live 10 → 110 → 210 (+200, 1.00/iteration); missing destroy — fix: pair every napi_async_init with napi_async_destroy when the operation completes (for a JavaScript AsyncResource: call emitDestroy())',
    ]);
    expect(r.stepSummary.split('\n')[0]).toBe('## napi-heapdiff: ❌ 1 failing group');
    expect(r.stepSummary).toBe(`${readFileSync(join(cwd, '.napi-heapdiff', 'report', 'summary.md'), 'utf8')}\n`);
  });

  it('exits 0 on the correct fixture (the same line with ok.mjs): no annotation', () => {
    const cwd = checkout('ok');
    const r = runAsWritten(command.replace('null-resource/leak.mjs', 'null-resource/ok.mjs'), cwd);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).not.toContain('::');
    expect(r.stepSummary.split('\n')[0]).toBe('## napi-heapdiff: ✅ no failing group');
    const saved = JSON.parse(readFileSync(join(cwd, '.napi-heapdiff', 'report', 'result.json'), 'utf8'));
    expect(saved.gate.failed).toBe(false);
    expect(saved.asyncContexts.map((row: { name: string; live: number[] }) => [row.name, row.live])).toEqual([['fixture_null_resource_ok', [0, 0, 0]]]);
  });
});
