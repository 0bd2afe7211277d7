import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { chromium, type Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { visible } from '../../src/report/escape.js';
import { formatBytes } from '../../src/report/format.js';
import { runCli } from '../helpers/run-cli.js';

// report.html opened in real headless Chromium (Debian's /usr/bin/chromium,
// driven by playwright-core), and junit.xml parsed by Chromium's XML parser.
// Every report comes from a real capture by the built CLI.

const CHROMIUM = '/usr/bin/chromium';
const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

const scratch = mkdtempSync(join(tmpdir(), 'napi-heapdiff-browser-'));
let browser: Browser;

/** The captured runs every test reads, by label (captured once, before the browser starts). */
const runs: Record<'leak' | 'js' | 'ok' | 'hostile', Run> = {} as never;

beforeAll(async () => {
  runs.leak = captureWithReport('native-fixtures/null-resource/leak.mjs', 'leak');
  runs.js = captureWithReport('test/scenarios/js-leak.mjs', 'js');
  runs.ok = captureWithReport('native-fixtures/null-resource/ok.mjs', 'ok');
  runs.hostile = captureWithReport('test/scenarios/hostile-names.mjs', 'hostile');
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: install Debian's chromium (apt-get install -y chromium), as .ci/run does`);
  browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS, headless: true });
});
afterAll(async () => {
  await browser?.close();
  rmSync(scratch, { recursive: true, force: true });
});

interface Row {
  name: string;
  verdict: string;
  live: number[];
}

interface Run {
  report: string;
  code: number | null;
  rows: Row[];
  memory: { readings: Array<{ rss: number; heapUsed: number; external: number; arrayBuffers: number } | null>; globalHandles: number[] };
}

/** The null-resource leak's kind: exact, from the native call-site ledger (napi_async_init never destroyed at its call site). */
const NULL_RESOURCE_KIND = 'missing destroy';
const NULL_RESOURCE_FIX = 'pair every napi_async_init with napi_async_destroy when the operation completes (for a JavaScript AsyncResource: call emitDestroy())';
const NULL_RESOURCE = `${NULL_RESOURCE_KIND} — fix: ${NULL_RESOURCE_FIX}`;
/** The hostile names' records lost their resources (the AsyncResource objects were collected): certain. */
const MISSING_DESTROY = 'missing destroy — fix: pair every napi_async_init with napi_async_destroy when the operation completes (for a JavaScript AsyncResource: call emitDestroy())';

function captureWithReport(scenario: string, label: string): Run {
  const out = join(scratch, `${label}-capture`);
  const report = join(scratch, `${label}-report`);
  const r = runCli(['capture', '--scenario', scenario, '--iterations', '50', '--snapshots', '3', '--warmup', '10', '--out', out, '--report', report], {
    env: { GITHUB_ACTIONS: undefined, GITHUB_STEP_SUMMARY: undefined },
  });
  if (!existsSync(join(report, 'result.json'))) throw new Error(`no report: ${r.stderr}`);
  const saved = JSON.parse(readFileSync(join(report, 'result.json'), 'utf8')) as { asyncContexts: Row[]; memory: Run['memory'] };
  return { report, code: r.code, rows: saved.asyncContexts, memory: saved.memory };
}

interface PageVisit {
  console: string[];
  pageErrors: string[];
  dialogs: string[];
  requests: string[];
  page: import('playwright-core').Page;
}

/** Opens a report and records everything the page did: console, errors, dialogs, requests. */
async function open(file: string): Promise<PageVisit> {
  const page = await browser.newPage();
  const visit: PageVisit = { console: [], pageErrors: [], dialogs: [], requests: [], page };
  page.on('console', (m) => visit.console.push(`${m.type()}: ${m.text()}`));
  page.on('pageerror', (e) => visit.pageErrors.push(e.message));
  page.on('dialog', (d) => {
    visit.dialogs.push(`${d.type()}: ${d.message()}`);
    void d.dismiss();
  });
  page.on('request', (r) => visit.requests.push(r.url()));
  await page.goto(pathToFileURL(file).href, { waitUntil: 'load' });
  // Give anything that could run (it must not) a moment.
  await page.waitForTimeout(300);
  return visit;
}

/** What the page holds, read through the DOM. */
async function pageFacts(visit: PageVisit) {
  return visit.page.evaluate(() => ({
    title: document.title,
    outcome: document.querySelector('#outcome')?.textContent ?? null,
    active: document.querySelectorAll('script, img, iframe, object, embed, link[rel=stylesheet], [onerror], [onload], [onclick], [onmouseover], [src]').length,
    charts: [...document.querySelectorAll('figure.chart-figure')].map((figure) => ({
      kind: figure.getAttribute('data-kind'),
      series: [...figure.querySelectorAll('svg g.series')].map((g) => ({
        name: g.getAttribute('data-name'),
        points: g.querySelector('polyline')?.getAttribute('points')?.split(' ').length ?? 0,
        values: [...g.querySelectorAll('circle > title')].map((t) => t.textContent!.split(': ').at(-1)),
      })),
      legend: [...figure.querySelectorAll('ul.legend li code')].map((c) => c.textContent),
    })),
    asyncNames: [...document.querySelectorAll('#async-contexts tbody tr td:nth-child(2) code')].map((c) => c.textContent),
    articleNames: [...document.querySelectorAll('article.group h3 code')].map((c) => c.textContent),
    bodyText: document.body.innerText,
    svgCount: document.querySelectorAll('svg.chart').length,
    pathSteps: [...document.querySelectorAll('ol.path li')].map((li) => li.textContent),
    sites: [...document.querySelectorAll('article.group table tbody tr td:first-child code')].map((c) => c.textContent),
    header: document.querySelector('header')?.textContent ?? '',
    kinds: [...document.querySelectorAll('article.group p.kind')].map((p) => p.textContent),
    kindCells: [...document.querySelectorAll('#async-contexts tbody td.kind')].map((td) => td.textContent),
    ledgerOpenCells: [...document.querySelectorAll('#async-contexts tbody td.ledger')].map((td) => td.textContent),
    ledgerRows: [...document.querySelectorAll('article.group table.ledger tbody tr')].map((tr) => [...tr.children].map((td) => td.textContent)),
    memoryHead: [...document.querySelectorAll('#memory table.memory thead th')].map((th) => th.textContent),
    memoryRows: [...document.querySelectorAll('#memory table.memory tbody tr')].map((tr) => [...tr.children].map((td) => td.textContent)),
    memoryGrowth: document.querySelector('#memory p.memory-growth')?.textContent ?? null,
    nativeLeak: document.querySelector('#native-leak')?.textContent ?? null,
  }));
}

function expectQuietPage(visit: PageVisit, file: string): void {
  expect(visit.console, 'console messages').toEqual([]);
  expect(visit.pageErrors, 'page errors').toEqual([]);
  expect(visit.dialogs, 'dialogs (alert/confirm/prompt)').toEqual([]);
  expect(visit.requests, 'requests: only the file itself').toEqual([pathToFileURL(file).href]);
}

describe('report.html in headless Chromium', () => {
  it('leaky native fixture: no console output, one chart series (the leaking name) with its three counts, path and creation site', async () => {
    const run = runs.leak;
    expect(run.code).toBe(1);
    const file = join(run.report, 'report.html');
    const visit = await open(file);
    const facts = await pageFacts(visit);
    expectQuietPage(visit, file);
    expect(facts.title).toBe('napi-heapdiff: ✗ 1 failing group');
    expect(facts.active).toBe(0);
    expect(facts.charts).toEqual([
      { kind: 'async-context', series: [{ name: 'fixture_null_resource_leak', points: 3, values: ['10', '60', '110'] }], legend: ['fixture_null_resource_leak'] },
    ]);
    expect(facts.asyncNames).toEqual(['fixture_null_resource_leak']);
    expect(facts.pathSteps.map((s) => s!.replace(/@\d+/g, '@ID').replace(/internal:\d+/, 'internal:N'))).toEqual([
      '(synthetic) synthetic @ID',
      '—element:1→ (GC roots) synthetic @ID',
      '—element:13→ (Global handles) synthetic @ID',
      '—internal:N→ Object object @ID',
    ]);
    expect(facts.sites).toEqual(['iteration native-fixtures/null-resource/leak.mjs:15:11']);
    // The kind of leak and its fix, in the table and in the group's article.
    expect(facts.kindCells).toEqual([NULL_RESOURCE_KIND]);
    expect(facts.kinds).toEqual([`Kind: ${NULL_RESOURCE}`]);
    // The trace-event ledger's exact counts beside the heap's live counts.
    expect(facts.header).toContain('Trace-event ledger: joined.');
    expect(facts.ledgerOpenCells).toEqual(['10 → 60 → 110']);
    expect(facts.ledgerRows).toEqual([
      ['baseline', '10', '10', '0', '10'],
      ['iteration-50', '60', '60', '0', '60'],
      ['iteration-100', '110', '110', '0', '110'],
    ]);
    // Memory beside the heap: the result's readings and global handles per snapshot, and the growth per iteration.
    expect(facts.memoryHead).toEqual(['snapshot', 'RSS', 'heap used', 'external', 'array buffers', 'global handles', 'cleanup hooks added']);
    expect(facts.memoryRows).toEqual(
      ['baseline', 'iteration-50', 'iteration-100'].map((label, i) => {
        const r = run.memory.readings[i]!;
        return [label, ...[r.rss, r.heapUsed, r.external, r.arrayBuffers].map(formatBytes), String(run.memory.globalHandles[i]), '0'];
      }),
    );
    expect(run.memory.globalHandles).toEqual([129, 179, 229]);
    // Measured or not by the analysis's rules (enough snapshots); either way one line.
    expect(facts.memoryGrowth).toMatch(
      /^(?:Growth per iteration \(least squares\): RSS [+-]?\d+(\.\d)? [kMG]?B, heap used [+-]?\d+(\.\d)? [kMG]?B, external [+-]?\d+(\.\d)? [kMG]?B\.|Growth per iteration not measured: it needs iteration counts and memory readings from enough snapshots\.)$/,
    );
    expect(facts.nativeLeak).toBeNull();
    await visit.page.close();
  });

  it('pure-JS scenario with a leaking and a correct name: one series per leaking name only', async () => {
    const run = runs.js;
    expect(run.code).toBe(1);
    const leaking = run.rows.filter((r) => r.verdict === 'leak').map((r) => r.name);
    expect(leaking).toEqual(['test_js_leak']);
    expect(run.rows.map((r) => r.name).sort()).toEqual(['test_js_leak', 'test_js_ok']);
    const file = join(run.report, 'report.html');
    const visit = await open(file);
    const facts = await pageFacts(visit);
    expectQuietPage(visit, file);
    expect(facts.charts.map((c) => c.series.map((s) => s.name))).toEqual([leaking]);
    expect(facts.asyncNames.sort()).toEqual(['test_js_leak', 'test_js_ok']);
    await visit.page.close();
  });

  it('clean run: no chart series, the page says nothing fails', async () => {
    const run = runs.ok;
    expect(run.code).toBe(0);
    const file = join(run.report, 'report.html');
    const visit = await open(file);
    const facts = await pageFacts(visit);
    expectQuietPage(visit, file);
    expect(facts.outcome).toBe('✓ no failing group');
    expect(facts.svgCount).toBe(0);
    expect(facts.bodyText).toContain('No group leaks or fails: nothing to chart.');
    await visit.page.close();
  });

  it('hostile async type names (<script>, <img onerror>, ]]>, Markdown, workflow commands, control characters): nothing runs, every name shows as text', async () => {
    const run = runs.hostile;
    expect(run.code).toBe(1);
    const names = run.rows.map((r) => r.name);
    expect(names).toHaveLength(6);
    expect(names).toEqual(expect.arrayContaining(['<script>alert(1)</script>', '<img src=x onerror=alert(2)>', 'cdata]]><![CDATA[ & "q" \'a\' &amp;']));
    const shown = names.map((name) => visible(name));

    const file = join(run.report, 'report.html');
    const visit = await open(file);
    const facts = await pageFacts(visit);
    expectQuietPage(visit, file);
    expect(facts.active).toBe(0);
    expect(facts.title).toBe('napi-heapdiff: ✗ 6 failing groups');
    // One series per leaking name, named exactly (attribute values come back unescaped).
    expect(facts.charts).toHaveLength(1);
    expect(facts.charts[0]!.series.map((s) => s.name).sort()).toEqual([...shown].sort());
    expect(facts.charts[0]!.legend.sort()).toEqual([...shown].sort());
    // The table and the detail sections show each name as text, exactly.
    expect(facts.asyncNames.sort()).toEqual([...shown].sort());
    expect(facts.articleNames.sort()).toEqual([...shown].sort());
    expect(facts.bodyText).toContain('<script>alert(1)</script>');
    expect(facts.bodyText).toContain('<img src=x onerror=alert(2)>');
    expect(facts.bodyText).toContain('cdata]]><![CDATA[ & "q" \'a\' &amp;');
    expect(facts.bodyText).toContain('ctl␁␛[31mred␡ nl␊row␍::error::injected %0A');
    expect(facts.kinds).toEqual(names.map(() => `Kind: ${MISSING_DESTROY}`));
    await visit.page.close();
  });
});

describe('junit.xml parsed by Chromium\'s XML parser (DOMParser, application/xml)', () => {
  interface ParsedCase {
    classname: string | null;
    name: string | null;
    failure: { type: string | null; message: string | null; text: string } | null;
    skipped: boolean;
  }
  interface Parsed {
    error: string | null;
    root: string | null;
    attributes: Record<string, string>;
    suites: Array<{ name: string | null; tests: string | null; failures: string | null; cases: ParsedCase[] }>;
  }

  async function parseXml(xml: string): Promise<Parsed> {
    const page = await browser.newPage();
    try {
      return await page.evaluate((text) => {
        const doc = new DOMParser().parseFromString(text, 'application/xml');
        const error = doc.querySelector('parsererror');
        const root = doc.documentElement;
        return {
          error: error ? error.textContent : null,
          root: root.nodeName,
          attributes: Object.fromEntries([...root.attributes].map((a) => [a.name, a.value])),
          suites: [...doc.querySelectorAll('testsuite')].map((suite) => ({
            name: suite.getAttribute('name'),
            tests: suite.getAttribute('tests'),
            failures: suite.getAttribute('failures'),
            cases: [...suite.querySelectorAll('testcase')].map((c) => {
              const failure = c.querySelector('failure');
              return {
                classname: c.getAttribute('classname'),
                name: c.getAttribute('name'),
                failure: failure ? { type: failure.getAttribute('type'), message: failure.getAttribute('message'), text: failure.textContent ?? '' } : null,
                skipped: c.querySelector('skipped') !== null,
              };
            }),
          })),
        };
      }, xml);
    } finally {
      await page.close();
    }
  }

  it('the parser is strict: a raw control character in an attribute, or "]]>" in content, is not well-formed', async () => {
    expect((await parseXml('<a b="x\u0001y"/>')).error).not.toBeNull();
    expect((await parseXml('<a>]]></a>')).error).not.toBeNull();
  });

  it('leaky fixture: one suite per kind, one failing case for the leaking name with its numbers, creation site and path', async () => {
    const report = runs.leak.report;
    const parsed = await parseXml(readFileSync(join(report, 'junit.xml'), 'utf8'));
    expect(parsed.error).toBeNull();
    expect(parsed.root).toBe('testsuites');
    expect(parsed.attributes).toEqual({ name: 'napi-heapdiff', tests: '2', failures: '1', errors: '0', skipped: '0', time: '0' });
    expect(parsed.suites.map((s) => [s.name, s.tests, s.failures])).toEqual([
      ['napi-heapdiff.async-contexts', '1', '1'],
      ['napi-heapdiff.references', '0', '0'],
      ['napi-heapdiff.native-memory', '1', '0'],
    ]);
    const [only] = parsed.suites[0]!.cases;
    expect(only!.classname).toBe('napi-heapdiff.async-contexts');
    expect(only!.name).toBe('fixture_null_resource_leak');
    expect(only!.failure!.type).toBe('leak');
    expect(only!.failure!.message).toBe(`leak: grew at every step, live 10 → 60 → 110 (+100, 1.00/iteration); ${NULL_RESOURCE}`);
    const lines = only!.failure!.text.split('\n');
    expect(lines.slice(0, 10)).toEqual([
      'async context: fixture_null_resource_leak',
      'live: 10 → 60 → 110',
      'growth: +100',
      'per iteration: 1.00',
      'budget per iteration: –',
      'retained: 6.2 kB',
      'verdict: leak',
      `kind: ${NULL_RESOURCE}`,
      'evidence: native ledger: napi_async_init "fixture_null_resource_leak" at async_init_named (null_resource.c:20) left 100 more open (napi_async_init without napi_async_destroy)',
      'trace-event ledger (exact): created 10 → 60 → 110, destroyed 0 → 0 → 0, open 10 → 60 → 110',
    ]);
    expect(lines).toContain('created at: iteration native-fixtures/null-resource/leak.mjs:15:11 ×110');
    expect(lines.at(-1)).toMatch(/^retaining path: \(root\) -element:1→ \(GC roots\) @3 -element:13→ \(Global handles\) @\d+ -internal:\d+→ Object @\d+$/);
  });

  it('within budget and ignored: passing and skipped cases (report --max-per-iteration / --config)', async () => {
    const saved = join(runs.js.report, 'result.json');
    const config = join(scratch, 'ignore.json');
    writeFileSync(config, JSON.stringify({ ignore: ['test_js_ok'] }));
    const report = join(scratch, 'js-budget');
    const r = runCli(['report', saved, '--report', report, '--max-per-iteration', 'test_js_leak=1', '--config', config]);
    expect(r.code, r.stderr).toBe(0);
    const parsed = await parseXml(readFileSync(join(report, 'junit.xml'), 'utf8'));
    expect(parsed.error).toBeNull();
    expect(parsed.attributes).toMatchObject({ tests: '3', failures: '0', skipped: '1' });
    expect(parsed.suites[0]!.cases.map((c) => [c.name, c.failure, c.skipped]).sort()).toEqual([
      ['test_js_leak', null, false],
      ['test_js_ok', null, true],
    ]);
  });

  it('hostile names: well-formed XML, one failing case per name, names come back exactly as shown', async () => {
    const report = runs.hostile.report;
    const saved = JSON.parse(readFileSync(join(report, 'result.json'), 'utf8')) as { asyncContexts: Row[] };
    const parsed = await parseXml(readFileSync(join(report, 'junit.xml'), 'utf8'));
    expect(parsed.error).toBeNull();
    const cases = parsed.suites[0]!.cases;
    expect(cases).toHaveLength(6);
    expect(cases.map((c) => c.name).sort()).toEqual(saved.asyncContexts.map((r) => visible(r.name)).sort());
    for (const c of cases) {
      expect(c.failure!.type).toBe('leak');
      expect(c.failure!.message).toBe(`leak: grew at every step, live 10 → 60 → 110 (+100, 1.00/iteration); ${MISSING_DESTROY}`);
      expect(c.failure!.text.split('\n')[0]).toBe(`async context: ${c.name}`);
      expect(c.failure!.text.split('\n')).toContain(`kind: ${MISSING_DESTROY}`);
    }
  });

  it('a lone surrogate and NUL in a saved result: still well-formed, replaced visibly', async () => {
    const source = JSON.parse(readFileSync(join(runs.leak.report, 'result.json'), 'utf8'));
    source.asyncContexts[0].name = 'a\ud800b\u0000c]]>d';
    const crafted = join(scratch, 'crafted.json');
    writeFileSync(crafted, JSON.stringify(source));
    const report = join(scratch, 'crafted-report');
    expect(runCli(['report', crafted, '--report', report]).code).toBe(1);
    const parsed = await parseXml(readFileSync(join(report, 'junit.xml'), 'utf8'));
    expect(parsed.error).toBeNull();
    expect(parsed.suites[0]!.cases[0]!.name).toBe('a\ufffdb␀c]]>d');
  });
});
