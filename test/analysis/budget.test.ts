import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { evaluateGate, mergeBudgets, NO_BUDGETS, parseBudgetAssignment, type Budgets } from '../../src/analysis/budget.js';
import { ConfigError, parseConfig, readConfig } from '../../src/analysis/config.js';
import type { AnalysisResult } from '../../src/analysis/result.js';
import { runCli } from '../helpers/run-cli.js';

const scratch = mkdtempSync(join(tmpdir(), 'napi-heapdiff-budget-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

type Verdict = 'leak' | 'warm-up' | 'stable' | 'shrinking';

function asyncRow(name: string, live: number[], perIteration: number | null, verdict: Verdict) {
  return {
    name,
    live,
    growth: live.at(-1)! - live[0]!,
    perIteration,
    retainedSize: 0,
    verdict,
    identity: null,
    retainingPath: null,
    leakKind: null,
    named: true,
    creationSites: [],
    counters: { init: live.at(-1)!, destroy: 0, before: 0, after: 0 },
    unclosedCallbackScopes: 0,
    openAtWorkerTeardown: live.map(() => 0),
  };
}

/** A result as saved by --json, with the fields the gate and the reports read. */
function result(rows: ReturnType<typeof asyncRow>[], references: Array<ReturnType<typeof asyncRow> & { location: string | null }> = []): AnalysisResult {
  return {
    schemaVersion: 1,
    snapshots: [
      { file: 's1.heapsnapshot', label: 'baseline', iterations: 0 },
      { file: 's2.heapsnapshot', label: 'iteration-100', iterations: 100 },
      { file: 's3.heapsnapshot', label: 'iteration-200', iterations: 200 },
    ],
    comparison: 'identity',
    agent: { found: true, node: 'v20.20.2' },
    asyncContexts: rows,
    references,
    unchangedReferenceGroups: 0,
    notes: [],
    verdict: [...rows, ...references].some((r) => r.verdict === 'leak') ? 'leak' : 'clean',
  } as unknown as AnalysisResult;
}

const budgets = (max: Record<string, number>, ignore: string[] = []): Budgets => ({ maxPerIteration: new Map(Object.entries(max)), ignore: new Set(ignore) });

describe('evaluateGate', () => {
  const leak = asyncRow('work_leak', [10, 60, 110], 0.5, 'leak');
  const warm = asyncRow('warm_up', [0, 200, 200], 1, 'warm-up');
  const stable = asyncRow('steady', [5, 5, 5], 0, 'stable');

  it('without budgets: exactly the leak verdicts fail', () => {
    const gate = evaluateGate(result([leak, warm, stable]));
    expect(gate.failed).toBe(true);
    expect(gate.groups.map((g) => [g.name, g.status, g.reason])).toEqual([
      ['work_leak', 'fail', 'leak'],
      ['warm_up', 'pass', 'no-leak'],
      ['steady', 'pass', 'no-leak'],
    ]);
  });

  it('a leak within its budget passes; at the budget exactly passes; over it fails', () => {
    expect(evaluateGate(result([leak]), budgets({ work_leak: 1 })).groups[0]).toMatchObject({ status: 'pass', reason: 'within-budget', maxPerIteration: 1, perIteration: 0.5 });
    expect(evaluateGate(result([leak]), budgets({ work_leak: 0.5 })).groups[0]).toMatchObject({ status: 'pass', reason: 'within-budget' });
    const over = evaluateGate(result([leak]), budgets({ work_leak: 0.4999 }));
    expect(over.failed).toBe(true);
    expect(over.groups[0]).toMatchObject({ status: 'fail', reason: 'over-budget' });
  });

  it('a group over its budget fails even when its verdict is not leak', () => {
    const gate = evaluateGate(result([warm, stable]), budgets({ warm_up: 0.25 }));
    expect(gate.failed).toBe(true);
    expect(gate.groups[0]).toMatchObject({ name: 'warm_up', verdict: 'warm-up', status: 'fail', reason: 'over-budget', maxPerIteration: 0.25 });
    expect(gate.groups[1]).toMatchObject({ name: 'steady', status: 'pass', reason: 'no-leak' });
  });

  it('an ignored group never fails, even with a budget it exceeds', () => {
    const gate = evaluateGate(result([leak, warm]), budgets({ warm_up: 0 }, ['work_leak', 'warm_up']));
    expect(gate.failed).toBe(false);
    expect(gate.groups.map((g) => g.status)).toEqual(['ignored', 'ignored']);
  });

  it('without iteration counts a budget cannot be checked: the verdict decides, and says so', () => {
    const gate = evaluateGate(result([asyncRow('work_leak', [1, 2, 3], null, 'leak')]), budgets({ work_leak: 5 }));
    expect(gate.groups[0]).toMatchObject({ status: 'fail', reason: 'leak', budgetUnchecked: true });
  });

  it('applies to reference groups by name too, and lists budget and ignore names that matched nothing', () => {
    const ref = { ...asyncRow('Closure', [1, 3, 5], 0.02, 'leak'), location: 'file:///app/x.js:1:1' };
    const gate = evaluateGate(result([], [ref]), budgets({ Closure: 0.01, typo_name: 1 }, ['also_typo']));
    expect(gate.groups).toHaveLength(1);
    expect(gate.groups[0]).toMatchObject({ kind: 'reference', index: 0, status: 'fail', reason: 'over-budget' });
    expect(gate.unmatchedBudgets).toEqual(['typo_name']);
    expect(gate.unmatchedIgnores).toEqual(['also_typo']);
  });

  it('NO_BUDGETS is the default', () => {
    expect(evaluateGate(result([stable]))).toEqual(evaluateGate(result([stable]), NO_BUDGETS));
  });
});

describe('parseBudgetAssignment and mergeBudgets', () => {
  it('splits at the last "=" and takes a number ≥ 0', () => {
    expect(parseBudgetAssignment('my_work=0.5')).toEqual({ name: 'my_work', max: 0.5 });
    expect(parseBudgetAssignment('a=b=2')).toEqual({ name: 'a=b', max: 2 });
    expect(parseBudgetAssignment('<script>=0')).toEqual({ name: '<script>', max: 0 });
  });
  it('rejects a missing name or value, negatives, and non-numbers with one line', () => {
    expect(() => parseBudgetAssignment('my_work')).toThrow('expected <name>=<n> (got "my_work")');
    expect(() => parseBudgetAssignment('=1')).toThrow('expected <name>=<n> (got "=1")');
    expect(() => parseBudgetAssignment('x=-1')).toThrow('the allowance of "x" must be a number ≥ 0 (got "-1")');
    expect(() => parseBudgetAssignment('x=')).toThrow('the allowance of "x" must be a number ≥ 0 (got "")');
    expect(() => parseBudgetAssignment('x=1e3')).toThrow('must be a number ≥ 0 (got "1e3")');
  });
  it('command-line budgets override the config file', () => {
    const merged = mergeBudgets(budgets({ a: 1, b: 2 }, ['c']), [{ name: 'b', max: 5 }, { name: 'd', max: 0 }]);
    expect([...merged.maxPerIteration]).toEqual([['a', 1], ['b', 5], ['d', 0]]);
    expect([...merged.ignore]).toEqual(['c']);
  });
});

describe('config file validation', () => {
  const file = 'napi-heapdiff.config.json';
  const error = (text: string): string => {
    try {
      parseConfig(text, file);
    } catch (e) {
      expect(e).toBeInstanceOf(ConfigError);
      return (e as Error).message;
    }
    throw new Error('no error');
  };

  it('reads budgets and ignores', () => {
    const config = parseConfig('{"budgets":{"a":0.5,"b":0},"ignore":["c","d"]}', file);
    expect([...config.maxPerIteration]).toEqual([['a', 0.5], ['b', 0]]);
    expect([...config.ignore]).toEqual(['c', 'd']);
    expect([...parseConfig('{}', file).maxPerIteration]).toEqual([]);
    expect([...parseConfig('\ufeff{"ignore":[]}', file).ignore]).toEqual([]);
  });

  it('names the file and the bad key in one line', () => {
    expect(error('{"budget":{}}')).toBe('napi-heapdiff.config.json: "budget" is not a known key (known: budgets, ignore)');
    expect(error('{"budgets":{"x":"1"}}')).toBe('napi-heapdiff.config.json: budgets["x"] must be a number ≥ 0 (got "1")');
    expect(error('{"budgets":{"x":-2}}')).toBe('napi-heapdiff.config.json: budgets["x"] must be a number ≥ 0 (got -2)');
    expect(error('{"budgets":{"":1}}')).toBe('napi-heapdiff.config.json: budgets[""] has an empty name');
    expect(error('{"budgets":[1]}')).toBe('napi-heapdiff.config.json: budgets must be an object of "<name>": <max per iteration> (got [1])');
    expect(error('{"ignore":"x"}')).toBe('napi-heapdiff.config.json: ignore must be an array of names (got "x")');
    expect(error('{"ignore":["a",3]}')).toBe('napi-heapdiff.config.json: ignore[1] must be a non-empty string (got 3)');
    expect(error('[]')).toBe('napi-heapdiff.config.json: must hold a JSON object with "budgets" and/or "ignore" (got [])');
    expect(error('{"budgets":')).toMatch(/^napi-heapdiff\.config\.json: is not valid JSON \(.+\)$/);
  });

  it('a hostile key is quoted (control characters escaped) and the message stays one line', () => {
    const message = error('{"budgets":{"a\\nb\\u001b[31m":"x"}}');
    expect(message).toBe('napi-heapdiff.config.json: budgets["a\\nb\\u001b[31m"] must be a number ≥ 0 (got "x")');
    expect(message).not.toMatch(/[\n\u001b]/);
  });

  it('a missing file is a ConfigError naming it', () => {
    expect(() => readConfig(join(scratch, 'none.json'))).toThrow(`${join(scratch, 'none.json')}: no such file`);
  });
});

describe('budgets and config on the command line (real processes)', () => {
  // A saved result: `report` re-renders it under the budgets given.
  const saved = join(scratch, 'saved.json');
  writeFileSync(saved, JSON.stringify(result([asyncRow('work_leak', [10, 60, 110], 0.5, 'leak'), asyncRow('warm_up', [0, 200, 200], 1, 'warm-up')])));
  let n = 0;
  const out = () => join(scratch, `report-${++n}`);

  it('no budget: the leak fails (exit 1); within its budget: exit 0; over it: exit 1', () => {
    const none = runCli(['report', saved, '--report', out()]);
    expect(none.code, none.stderr).toBe(1);
    expect(none.stdout).toBe('gate: work_leak: leak: grew at every step, live 10 → 60 → 110 (+100, 0.50/iteration)\nFAIL: work_leak (leak)\n');

    const within = runCli(['report', saved, '--report', out(), '--max-per-iteration', 'work_leak=0.5']);
    expect(within.code, within.stderr).toBe(0);
    expect(within.stdout).toBe('gate: work_leak: within budget: 0.50/iteration ≤ 0.5/iteration allowed; live 10 → 60 → 110 (+100, 0.50/iteration), verdict leak\npass: no group leaks beyond its budget\n');

    const over = runCli(['report', saved, '--report', out(), '--max-per-iteration', 'work_leak=1', '--max-per-iteration', 'warm_up=0.5']);
    expect(over.code, over.stderr).toBe(1);
    expect(over.stdout).toContain('gate: warm_up: over budget: 1.00/iteration > 0.5/iteration allowed; live 0 → 200 → 200 (+200, 1.00/iteration), verdict warm-up\n');
    expect(over.stdout.trimEnd().split('\n').at(-1)).toBe('FAIL: warm_up (1.00/iteration over 0.5)');
  });

  it('napi-heapdiff.config.json in the working directory is used: ignores and budgets', () => {
    const cwd = join(scratch, 'cwd-ok');
    mkdirSync(cwd);
    writeFileSync(join(cwd, 'napi-heapdiff.config.json'), JSON.stringify({ budgets: { warm_up: 2 }, ignore: ['work_leak'] }));
    const r = runCli(['report', saved, '--report', join(cwd, 'report')], { cwd });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('gate: work_leak: ignored by configuration;');
    expect(r.stdout).toContain('gate: warm_up: within budget: 1.00/iteration ≤ 2/iteration allowed;');
    const junit = readFileSync(join(cwd, 'report', 'junit.xml'), 'utf8');
    expect(junit).toContain('<testsuite name="napi-heapdiff.async-contexts" tests="2" failures="0" errors="0" skipped="1" time="0">');
    // The command line overrides the file.
    const cli = runCli(['report', saved, '--report', join(cwd, 'report2'), '--max-per-iteration', 'warm_up=0.9'], { cwd });
    expect(cli.code, cli.stderr).toBe(1);
  });

  it('a bad config (found in the working directory, or given with --config) is exit 2 with one line naming the file and the key', () => {
    const cwd = join(scratch, 'cwd-bad');
    mkdirSync(cwd);
    writeFileSync(join(cwd, 'napi-heapdiff.config.json'), JSON.stringify({ budgets: { work_leak: 'lots' } }));
    const found = runCli(['report', saved, '--report', join(cwd, 'report')], { cwd });
    expect(found.code).toBe(2);
    expect(found.stdout).toBe('');
    expect(found.stderr).toBe('napi-heapdiff: napi-heapdiff.config.json: budgets["work_leak"] must be a number ≥ 0 (got "lots")\n');

    const other = join(scratch, 'other.json');
    writeFileSync(other, '{"ignore": ["ok"], "budgets": {}, "extra": true}');
    const given = runCli(['report', saved, '--report', out(), '--config', other]);
    expect(given.code).toBe(2);
    expect(given.stderr).toBe(`napi-heapdiff: ${other}: "extra" is not a known key (known: budgets, ignore)\n`);

    const missing = runCli(['diff', 'a.heapsnapshot', 'b.heapsnapshot', '--config', join(scratch, 'missing.json')]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toBe(`napi-heapdiff: ${join(scratch, 'missing.json')}: no such file\n`);
  });

  it('a bad --max-per-iteration is a usage error (exit 2), before any work', () => {
    const r = runCli(['capture', '--scenario', 'test/scenarios/js-leak.mjs', '--out', out(), '--max-per-iteration', 'test_js_leak']);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe('napi-heapdiff: --max-per-iteration: expected <name>=<n> (got "test_js_leak")\n');
  });
});
