import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { formatBytes, formatLive, formatSignedBytes } from '../../src/report/format.js';
import { cliPath, repoRoot, runCli, type CliResult } from '../helpers/run-cli.js';

// Reports written by the real CLI (dist/), from real captures of the native
// fixtures and of a pure-JS scenario with hostile async type names.

const scratch = mkdtempSync(join(tmpdir(), 'napi heapdiff-report-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));
const LEAK = 'native-fixtures/null-resource/leak.mjs';
const OK = 'native-fixtures/null-resource/ok.mjs';
const HOSTILE = 'test/scenarios/hostile-names.mjs';
const REPORT_FILES = ['junit.xml', 'report.html', 'result.json', 'summary.md'];
/** Without GitHub's variables, whatever the environment running the tests has. */
const NOT_ON_GITHUB = { GITHUB_ACTIONS: undefined, GITHUB_STEP_SUMMARY: undefined };

function capture(scenario: string, label: string, extra: string[] = [], env: NodeJS.ProcessEnv = {}): { out: string; report: string; json: string; run: CliResult } {
  const out = join(scratch, `${label}-capture`);
  const report = join(scratch, `${label}-report`);
  const json = join(scratch, `${label}.json`);
  const run = runCli(['capture', '--scenario', scenario, '--iterations', '50', '--snapshots', '3', '--warmup', '10', '--out', out, '--json', json, '--report', report, ...extra], { env: { ...NOT_ON_GITHUB, ...env } });
  return { out, report, json, run };
}

const read = (path: string) => readFileSync(path, 'utf8');

/** summary.md of `capture --scenario native-fixtures/null-resource/leak.mjs --iterations 50 --snapshots 3 --warmup 10`, run in the repository. */
const EXPECTED_LEAK_SUMMARY = `## napi-heapdiff: ❌ 1 failing group

Snapshots: \`baseline\` (0 iterations) → \`iteration-50\` (50 iterations) → \`iteration-100\` (100 iterations); same process, compared by object id; trace-event ledger joined.

Failing: 1 leaking, 0 over budget.

### Async contexts

| result | name | live | ledger open | growth | per iteration | budget | retained | verdict |
| --- | --- | --- | --- | ---: | ---: | ---: | ---: | --- |
| ❌ FAIL (leak) | \`fixture_null_resource_leak\` | 10 → 60 → 110 | 10 → 60 → 110 | +100 | 1.00 | – | 6.2 kB | leak |

13 reference groups held by global handles did not change (Node's own handles): not listed.

### Native call sites

Every place an addon called a Node-API acquire function (native call-site ledger), with what is still open at each snapshot.

| result | site | acquires | open | per iteration | budget | verdict | shown by |
| --- | --- | --- | --- | ---: | ---: | --- | --- |
| ➖ detail | \`async_init_named (null_resource.c:20)\` | napi\\_async\\_init \`fixture_null_resource_leak\` | 10 → 60 → 110 | 1.00 | – | leak | the async-context row fixture\\_null\\_resource\\_leak |

### Native memory

| result | measure | per snapshot | growth | per iteration | budget | verdict |
| --- | --- | --- | ---: | ---: | ---: | --- |
| ✅ pass | C allocator, bytes in use (ArrayBuffers left out) | ‹native memory› | – | stable |

### Memory beside the heap

| snapshot | RSS | heap used | external | array buffers | global handles | cleanup hooks added |
| --- | ---: | ---: | ---: | ---: | ---: | ---: |
| \`baseline\` | ‹bytes› | ‹bytes› | ‹bytes› | ‹bytes› | 129 | 0 |
| \`iteration-50\` | ‹bytes› | ‹bytes› | ‹bytes› | ‹bytes› | 179 | 0 |
| \`iteration-100\` | ‹bytes› | ‹bytes› | ‹bytes› | ‹bytes› | 229 | 0 |

‹growth per iteration›

### Failing groups

#### ❌ \`fixture_null_resource_leak\` (async context)

- leak: grew at every step, live 10 → 60 → 110 (+100, 1.00/iteration)
- kind: missing destroy — fix: pair every napi\\_async\\_init with napi\\_async\\_destroy when the operation completes \\(for a JavaScript AsyncResource: call emitDestroy\\(\\)\\)
- evidence: native ledger: napi\\_async\\_init "fixture\\_null\\_resource\\_leak" at async\\_init\\_named \\(null\\_resource.c:20\\) left 100 more open \\(napi\\_async\\_init without napi\\_async\\_destroy\\)
- heap live 10 → 60 → 110; trace-event ledger (exact): created 10 → 60 → 110, destroyed 0 → 0 → 0, open 10 → 60 → 110
- created at: \`iteration native-fixtures/null-resource/leak.mjs:15:11\` ×110
- retaining path: \`(root) -element:1→ (GC roots) -element:13→ (Global handles) -internal:N→ Object\`
`;

/**
 * The parts of the summary that are not fixed by the fixture: the index of
 * the leaked handle among all global handles (how many Node and the agent
 * created before it), the process memory readings and native memory (bytes
 * vary from run to run) and the line on growth per iteration (measured or
 * not, by the analysis's rules); the tests below check they are the result's own.
 */
const maskHandleIndex = (text: string) => text.replace(/-internal:\d+→ Object`/g, '-internal:N→ Object`');
const BYTES = /[+-]?\d+(?:\.\d+)? (?:B|kB|MB|GB)(?= \||,|\.$)/gm;
const maskMemoryReadings = (text: string) =>
  text
    .replace(/(### Memory beside the heap\n)([\s\S]*?)(\n### )/, (_all, head: string, section: string, next: string) =>
      `${head}${section.replace(/^Growth per iteration.*$/m, '‹growth per iteration›').replace(BYTES, '‹bytes›')}${next}`,
    )
    .replace(/(\(ArrayBuffers left out\) \| ).*? \| .*? \| .*?( \| – \| stable \|)/, '$1‹native memory›$2');

/**
 * The kind and fix the analysis gives the null-resource leak: exact, from the
 * native call-site ledger (napi_async_init without napi_async_destroy at its
 * call site). The heap and the agent alone could not tell it from async work
 * never queued nor deleted (test/analysis/lifecycle.test.ts).
 */
const MISSING_DESTROY = 'missing destroy — fix: pair every napi_async_init with napi_async_destroy when the operation completes (for a JavaScript AsyncResource: call emitDestroy())';

// One capture of the leaky fixture, shared by the tests that re-render it.
let leak: ReturnType<typeof capture>;
beforeAll(() => {
  leak = capture(LEAK, 'leak');
});

describe('capture --report on the leaky fixture (null-resource/leak.mjs)', () => {

  it('exits 1 and writes exactly result.json, summary.md, report.html and junit.xml (no temporary files)', () => {
    expect(leak.run.code, leak.run.stderr).toBe(1);
    expect(readdirSync(leak.report).sort()).toEqual(REPORT_FILES);
    expect(leak.run.stderr).toMatch(/napi-heapdiff: report written to .*leak-report: result\.json, summary\.md, report\.html, junit\.xml\n/);
    // The terminal view is unchanged, and nothing of the report is on stdout.
    expect(leak.run.stdout).toContain('LEAK: fixture_null_resource_leak +100 (1.00/iteration)');
    expect(leak.run.stdout).not.toContain('::error');
    expect(leak.run.stdout).not.toContain('\u001b[');
  });

  it('summary.md is the expected text (only the global-handle index and the memory readings masked)', () => {
    const summary = read(join(leak.report, 'summary.md'));
    expect(summary).toMatch(/-internal:\d+→ Object`\n$/);
    expect(maskMemoryReadings(maskHandleIndex(summary))).toBe(EXPECTED_LEAK_SUMMARY);
  });

  it('summary.md: the masked memory readings are the result\'s own, per snapshot, with its growth per iteration', () => {
    const summary = read(join(leak.report, 'summary.md'));
    const { memory, snapshots } = JSON.parse(read(leak.json)) as {
      snapshots: Array<{ label: string }>;
      memory: { readings: Array<{ rss: number; heapUsed: number; external: number; arrayBuffers: number }>; globalHandles: number[]; perIteration: { rss: number; heapUsed: number; external: number } | null };
    };
    expect(memory.readings.every((r) => r !== null)).toBe(true);
    for (const [i, r] of memory.readings.entries()) {
      expect(summary).toContain(`| \`${snapshots[i]!.label}\` | ${[r.rss, r.heapUsed, r.external, r.arrayBuffers].map(formatBytes).join(' | ')} | ${memory.globalHandles[i]} | 0 |\n`);
    }
    const native = (JSON.parse(read(leak.json)) as { nativeMemory: { live: number[]; growth: number; perIteration: number } }).nativeMemory;
    expect(summary).toContain(`| ${native.live.map(formatBytes).join(' → ')} | ${formatSignedBytes(native.growth)} | ${formatSignedBytes(native.perIteration)} | – | stable |\n`);
    const rate = memory.perIteration;
    expect(summary).toContain(
      rate === null
        ? '\nGrowth per iteration not measured: it needs iteration counts and memory readings from enough snapshots.\n'
        : `\nGrowth per iteration (least squares): RSS ${formatSignedBytes(rate.rss)}, heap used ${formatSignedBytes(rate.heapUsed)}, external ${formatSignedBytes(rate.external)}.\n`,
    );
  });

  it('result.json is the --json result plus the gate', () => {
    const saved = JSON.parse(read(join(leak.report, 'result.json')));
    const { gate, ...rest } = saved;
    expect(rest).toEqual(JSON.parse(read(leak.json)));
    expect(gate).toEqual({
      failed: true,
      groups: [
        { kind: 'async-context', index: 0, name: 'fixture_null_resource_leak', verdict: 'leak', perIteration: 1, maxPerIteration: null, status: 'fail', reason: 'leak', budgetUnchecked: false },
        { kind: 'native-memory', index: 0, name: '(native memory)', verdict: 'stable', perIteration: saved.nativeMemory.perIteration, maxPerIteration: null, status: 'pass', reason: 'no-leak', budgetUnchecked: false },
      ],
      unmatchedBudgets: [],
      unmatchedIgnores: [],
    });
  });

  it('junit.xml has one failing test case for the leaking name', () => {
    const junit = read(join(leak.report, 'junit.xml'));
    expect(junit.split('\n').slice(0, 5)).toEqual([
      '<?xml version="1.0" encoding="UTF-8"?>',
      '<testsuites name="napi-heapdiff" tests="2" failures="1" errors="0" skipped="0" time="0">',
      '  <testsuite name="napi-heapdiff.async-contexts" tests="1" failures="1" errors="0" skipped="0" time="0">',
      '    <testcase classname="napi-heapdiff.async-contexts" name="fixture_null_resource_leak" time="0">',
      `      <failure type="leak" message="leak: grew at every step, live 10 → 60 → 110 (+100, 1.00/iteration); ${MISSING_DESTROY}">async context: fixture_null_resource_leak`,
    ]);
    expect(junit).toContain(`\nkind: ${MISSING_DESTROY}\nevidence: native ledger: napi_async_init &quot;fixture_null_resource_leak&quot; at async_init_named (null_resource.c:20) left 100 more open (napi_async_init without napi_async_destroy)\ntrace-event ledger (exact): created 10 → 60 → 110, destroyed 0 → 0 → 0, open 10 → 60 → 110\n`);
    expect(junit).toContain('<testsuite name="napi-heapdiff.native-memory" tests="1" failures="0" errors="0" skipped="0" time="0">');
  });

  it('`report <result.json>` re-renders the same four files, byte for byte', () => {
    const again = join(scratch, 'leak-again');
    const r = runCli(['report', join(leak.report, 'result.json'), '--report', again], { env: NOT_ON_GITHUB });
    expect(r.code, r.stderr).toBe(1);
    expect(r.stdout).toBe('gate: fixture_null_resource_leak: leak: grew at every step, live 10 → 60 → 110 (+100, 1.00/iteration)\nFAIL: fixture_null_resource_leak (leak)\n');
    for (const file of REPORT_FILES) expect(read(join(again, file)), file).toBe(read(join(leak.report, file)));
  });

  it('on GitHub Actions (diff of the capture folder): one ::error annotation at the creation site, and the summary appended to $GITHUB_STEP_SUMMARY', () => {
    const stepSummary = join(scratch, 'step-summary.md');
    writeFileSync(stepSummary, '# earlier step\n');
    const report = join(scratch, 'leak-gh');
    const r = runCli(['diff', leak.out, '--report', report], { env: { GITHUB_ACTIONS: 'true', GITHUB_STEP_SUMMARY: stepSummary } });
    expect(r.code, r.stderr).toBe(1);
    const commands = r.stdout.split('\n').filter((line) => line.startsWith('::'));
    expect(commands).toEqual([
      `::error title=napi-heapdiff%3A async context leak,file=native-fixtures/null-resource/leak.mjs,line=15,col=11::fixture_null_resource_leak (async context): leak: grew at every step, live 10 → 60 → 110 (+100, 1.00/iteration); ${MISSING_DESTROY}`,
    ]);
    expect(read(stepSummary)).toBe(`# earlier step\n${read(join(report, 'summary.md'))}\n`);
  });
});

describe('capture --report on the correct fixture (null-resource/ok.mjs)', () => {
  it('exits 0; the summary, junit and gate say nothing fails', () => {
    const ok = capture(OK, 'ok');
    expect(ok.run.code, ok.run.stderr).toBe(0);
    expect(readdirSync(ok.report).sort()).toEqual(REPORT_FILES);
    const summary = read(join(ok.report, 'summary.md'));
    expect(summary.split('\n').slice(0, 12)).toEqual([
      '## napi-heapdiff: ✅ no failing group',
      '',
      'Snapshots: `baseline` (0 iterations) → `iteration-50` (50 iterations) → `iteration-100` (100 iterations); same process, compared by object id; trace-event ledger joined.',
      '',
      '### Async contexts',
      '',
      '| result | name | live | ledger open | growth | per iteration | budget | retained | verdict |',
      '| --- | --- | --- | --- | ---: | ---: | ---: | ---: | --- |',
      '| ✅ pass | `fixture_null_resource_ok` | 0 → 0 → 0 | 0 → 0 → 0 | 0 | 0.00 | – | 0 B | stable |',
      '',
      '13 reference groups held by global handles did not change (Node\'s own handles): not listed.',
      '',
    ]);
    // Memory beside the heap is there, global handles flat (every context destroyed); no native leak suspected, no group detailed.
    expect(summary).toMatch(/\n### Memory beside the heap\n\n(?:.*\n){2}\| `baseline` \|.*\| (\d+) \| 0 \|\n\| `iteration-50` \|.*\| \1 \| 0 \|\n\| `iteration-100` \|.*\| \1 \| 0 \|\n/);
    expect(summary).not.toContain('valgrind');
    expect(summary).not.toContain('### Failing groups');
    expect(read(join(ok.report, 'junit.xml'))).toContain('<testsuites name="napi-heapdiff" tests="2" failures="0" errors="0" skipped="0" time="0">');
    expect(JSON.parse(read(join(ok.report, 'result.json'))).gate.failed).toBe(false);
  });
});

describe('hostile async type names (test/scenarios/hostile-names.mjs), outside the browser', () => {
  let hostile: ReturnType<typeof capture>;
  let names: string[];
  beforeAll(async () => {
    hostile = capture(HOSTILE, 'hostile', [], { GITHUB_ACTIONS: 'true', GITHUB_STEP_SUMMARY: join(scratch, 'hostile-step-summary.md') });
    names = (JSON.parse(read(hostile.json)) as { asyncContexts: Array<{ name: string }> }).asyncContexts.map((row) => row.name);
  });

  it('captures every payload as an async context name that leaks', () => {
    expect(hostile.run.code, hostile.run.stderr).toBe(1);
    expect(names).toHaveLength(6);
    for (const payload of ['<script>alert(1)</script>', '<img src=x onerror=alert(2)>', 'cdata]]><![CDATA[ & "q" \'a\' &amp;', '| md **bold** [x](javascript:alert(3)) @here `tick`']) {
      expect(names).toContain(payload);
    }
    expect(names).toContain('ctl\u0001\u001b[31mred\u007f nl\nrow\r::error::injected %0A');
  });

  it('annotations: exactly one ::error line per leaking name; no payload starts a command or breaks a line', () => {
    const lines = hostile.run.stdout.split('\n');
    const commands = lines.filter((line) => line.startsWith('::'));
    expect(commands).toHaveLength(6);
    for (const line of commands) expect(line).toMatch(/^::error title=napi-heapdiff%3A async context leak,file=test\/scenarios\/hostile-names\.mjs,line=\d+,col=\d+::/);
    expect(commands).toContain(
      `::error title=napi-heapdiff%3A async context leak,file=test/scenarios/hostile-names.mjs,line=19,col=37::ctl␁␛[31mred␡ nl␊row␍::error::injected %250A (async context): leak: grew at every step, live 10 → 60 → 110 (+100, 1.00/iteration); missing destroy — fix: pair every napi_async_init with napi_async_destroy when the operation completes (for a JavaScript AsyncResource: call emitDestroy())`,
    );
    expect(hostile.run.stdout.split('\n').filter((line) => line.startsWith('::error::injected'))).toEqual([]);
  });

  it('summary.md: every name in a code span on one line of the table; markup stays literal', () => {
    const summary = read(join(hostile.report, 'summary.md'));
    const rows = summary.split('\n').filter((line) => line.startsWith('| ❌'));
    expect(rows).toHaveLength(6);
    // The ledger's open count is a column of its own when the capture's trace events could be read.
    const saved = JSON.parse(read(hostile.json)) as { asyncContexts: Array<{ name: string; ledger: { open: number[] } | null }> };
    const ledgerColumn = saved.asyncContexts.some((row) => row.ledger !== null);
    const open = (name: string) => (ledgerColumn ? ` ${formatLive(saved.asyncContexts.find((row) => row.name === name)?.ledger?.open ?? []) || '–'} |` : '');
    expect(rows).toContain(`| ❌ FAIL (leak) | \`<script>alert(1)</script>\` | 10 → 60 → 110 |${open('<script>alert(1)</script>')} +100 | 1.00 | – | 0 B | leak |`);
    expect(rows).toContain(`| ❌ FAIL (leak) | \`\` \\| md **bold** [x](javascript:alert(3)) @here \`tick\` \`\` | 10 → 60 → 110 |${open('| md **bold** [x](javascript:alert(3)) @here `tick`')} +100 | 1.00 | – | 0 B | leak |`);
    expect(rows).toContain(`| ❌ FAIL (leak) | \`ctl␁␛[31mred␡ nl␊row␍::error::injected %0A\` | 10 → 60 → 110 |${open('ctl\u0001\u001b[31mred\u007f nl\nrow\r::error::injected %0A')} +100 | 1.00 | – | 0 B | leak |`);
    // Each failing group with its kind and fix (escaped prose: `_` would start emphasis).
    // The records' resources (the AsyncResource objects themselves) were collected: that is certain.
    expect(summary.split('\n').filter((line) => line === '- kind: missing destroy — fix: pair every napi\\_async\\_init with napi\\_async\\_destroy when the operation completes \\(for a JavaScript AsyncResource: call emitDestroy\\(\\)\\)')).toHaveLength(6);
    expect(summary).not.toMatch(/[\u0000-\u0009\u000b-\u001f\u007f]/);
    expect(read(join(scratch, 'hostile-step-summary.md'))).toBe(`${summary}\n`);
  });

  it('junit.xml: names and bodies escaped; no raw "]]>", "<script" or control character', () => {
    const junit = read(join(hostile.report, 'junit.xml'));
    expect(junit).toContain('name="&lt;script&gt;alert(1)&lt;/script&gt;"');
    expect(junit).toContain('name="cdata]]&gt;&lt;![CDATA[ &amp; &quot;q&quot; &apos;a&apos; &amp;amp;"');
    expect(junit).toContain('name="ctl␁␛[31mred␡ nl␊row␍::error::injected %0A"');
    expect(junit).not.toContain(']]>');
    expect(junit).not.toContain('<script');
    expect(junit).not.toMatch(/[\u0000-\u0008\u000b-\u001f\u007f]/);
  });
});

describe('a saved result with a lone surrogate and control characters (report command)', () => {
  it('renders them visibly in every file; the files stay valid UTF-8 and XML 1.0 characters', () => {
    const crafted = join(scratch, 'crafted.json');
    const saved = JSON.parse(read(leak.json));
    saved.asyncContexts[0].name = 'lone\ud800 high, lone\udc00 low, nul\u0000 bell\u0007 bidi\u202e';
    writeFileSync(crafted, JSON.stringify(saved));
    const report = join(scratch, 'crafted-report');
    const r = runCli(['report', crafted, '--report', report], { env: { GITHUB_ACTIONS: 'true', GITHUB_STEP_SUMMARY: undefined } });
    expect(r.code, r.stderr).toBe(1);
    const shown = 'lone\ufffd high, lone\ufffd low, nul␀ bell␇ bidi\ufffd';
    expect(read(join(report, 'summary.md'))).toContain(`| ❌ FAIL (leak) | \`${shown}\` |`);
    expect(read(join(report, 'junit.xml'))).toContain(`name="${shown}"`);
    expect(read(join(report, 'report.html'))).toContain(`<code>${shown}</code>`);
    expect(r.stdout).toContain(`::${shown} (async context): leak`);
    for (const file of ['summary.md', 'junit.xml', 'report.html']) {
      const bytes = readFileSync(join(report, file));
      expect(new TextDecoder('utf-8', { fatal: true }).decode(bytes), file).not.toMatch(/[\u0000-\u0008\u000b-\u001f\ud800-\udfff]/);
    }
  });
});

describe('report folders are written as a unit', () => {
  const saved = () => leak.json;

  it('something in the way of one file: exit 2, one line, no file under a final name, no temporary file left', () => {
    const report = join(scratch, 'blocked');
    mkdirSync(join(report, 'report.html'), { recursive: true });
    const r = runCli(['report', saved(), '--report', report], { env: NOT_ON_GITHUB });
    expect(r.code).toBe(2);
    expect(r.stderr).toBe(`napi-heapdiff: cannot write ${join(report, 'report.html')}: something other than a file is in the way\n`);
    expect(readdirSync(report)).toEqual(['report.html']);
  });

  it('an earlier report in the folder stays whole when a new one fails', () => {
    const report = join(scratch, 'earlier');
    expect(runCli(['report', saved(), '--report', report], { env: NOT_ON_GITHUB }).code).toBe(1);
    const before = Object.fromEntries(REPORT_FILES.map((f) => [f, read(join(report, f))]));
    rmSync(join(report, 'junit.xml'));
    mkdirSync(join(report, 'junit.xml'));
    const r = runCli(['report', saved(), '--report', report, '--max-per-iteration', 'fixture_null_resource_leak=5'], { env: NOT_ON_GITHUB });
    expect(r.code).toBe(2);
    for (const f of ['result.json', 'summary.md', 'report.html']) expect(read(join(report, f)), f).toBe(before[f]);
    expect(readdirSync(report).sort()).toEqual(['junit.xml', 'report.html', 'result.json', 'summary.md']);
  });

  it('an unusable result file: exit 2 with one line, and no report folder is created', () => {
    const bad = join(scratch, 'bad.json');
    writeFileSync(bad, JSON.stringify({ ...JSON.parse(read(saved())), asyncContexts: [{ name: 'x', live: [1, 'two', 3] }] }));
    const report = join(scratch, 'never');
    const r = runCli(['report', bad, '--report', report]);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe(`napi-heapdiff: ${bad}: not an analysis result: asyncContexts[0].live[1] must be a whole number\n`);
    expect(existsSync(report)).toBe(false);

    writeFileSync(bad, JSON.stringify({ schemaVersion: 1, verdict: null, capture: { ok: true } }));
    const noAnalysis = runCli(['report', bad, '--report', report]);
    expect(noAnalysis.code).toBe(2);
    expect(noAnalysis.stderr).toBe(`napi-heapdiff: ${bad}: holds a capture without an analysis (fewer than 2 snapshots): nothing to report\n`);
    expect(existsSync(report)).toBe(false);
  });
});

describe('terminal colour: only on a TTY, never with NO_COLOR, as FORCE_COLOR says', () => {
  const saved = () => leak.json;

  /** Runs the CLI under a pseudo-terminal (util-linux script), stdout a TTY. */
  function underPty(env: NodeJS.ProcessEnv): string {
    const command = [process.execPath, cliPath, 'report', saved(), '--report', join(scratch, 'tty-report')].map((a) => `'${a.replace(/'/g, `'\\''`)}'`).join(' ');
    const r = spawnSync('script', ['-qec', command, '/dev/null'], { cwd: repoRoot, encoding: 'utf8', env: { ...process.env, NO_COLOR: undefined, FORCE_COLOR: undefined, TERM: 'xterm', ...env } });
    expect(r.status, r.stderr).toBe(1);
    return r.stdout;
  }

  it('a TTY gets the red FAIL line', () => {
    expect(underPty({})).toContain('\u001b[1;31mFAIL: fixture_null_resource_leak (leak)\u001b[0m');
  });
  it('NO_COLOR=1 on a TTY: no escape sequence at all', () => {
    const out = underPty({ NO_COLOR: '1' });
    expect(out).toContain('FAIL: fixture_null_resource_leak (leak)');
    expect(out).not.toContain('\u001b[');
  });
  it('FORCE_COLOR=0 on a TTY: no escape sequence; FORCE_COLOR=1 in a pipe: the red FAIL line', () => {
    const out = underPty({ FORCE_COLOR: '0' });
    expect(out).toContain('FAIL: fixture_null_resource_leak (leak)');
    expect(out).not.toContain('\u001b[');
    const piped = runCli(['report', saved(), '--report', join(scratch, 'tty-report')], { env: { NO_COLOR: undefined, FORCE_COLOR: '1' } });
    expect(piped.stdout).toContain('\u001b[1;31mFAIL: fixture_null_resource_leak (leak)\u001b[0m');
  });
  it('a pipe (not a TTY): no escape sequence, even without NO_COLOR', () => {
    const r = runCli(['report', saved(), '--report', join(scratch, 'tty-report')], { env: { NO_COLOR: undefined, FORCE_COLOR: undefined } });
    expect(r.code).toBe(1);
    expect(r.stdout).toContain('FAIL: fixture_null_resource_leak (leak)');
    expect(r.stdout + r.stderr).not.toContain('\u001b[');
  });
});
