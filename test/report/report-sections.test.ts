import { describe, expect, it } from 'vitest';
import { certain } from '../../src/analysis/leak-kinds.js';
import type { AnalysisResult, AsyncContextRow, NativeMemoryRow, ReferenceRow } from '../../src/analysis/result.js';
import { checkResult, renderGithubAnnotations, renderHtml, renderJunit, renderMarkdown, reportInput } from '../../src/report/index.js';

// The report sections for what the analysis adds beside live counts: leak
// kinds with fix hints and evidence, the trace-event ledger, heap/ledger
// explanations, memory beside the heap and native memory as a group (leaking
// here), rendered from a hand-made result: every field set, some strings hostile.

const HINT = 'pair every napi_async_init with napi_async_destroy when the operation completes (for a JavaScript AsyncResource: call emitDestroy())';
const EVIDENCE = '212 open contexts whose JS resource was collected: napi_async_init holds its resource weakly (and nothing holds a JavaScript AsyncResource), while async work and threadsafe functions hold theirs strongly';
const NATIVE_EXPLANATION = 'the C allocator\'s bytes in use (ArrayBuffer memory left out) grew +6.1 MB, +6.1 MB at the steps (+61.4 kB/iteration; the JS heap +120 B/iteration); async contexts left open in the same window also hold native memory: my_<work>';
const VALGRIND = "valgrind --leak-check=full --show-leak-kinds=definite,possible --trace-children=yes node 'test/my app.mjs'";
const EXPLANATION = '2 more open per the ledger than records in the heap: contexts opened before the agent loaded, or in threads whose records are not in this heap';

function asyncRow(overrides: Partial<AsyncContextRow> & Pick<AsyncContextRow, 'name' | 'live'>): AsyncContextRow {
  return {
    growth: overrides.live.at(-1)! - overrides.live[0]!,
    perIteration: 0,
    retainedSize: 0,
    verdict: 'stable',
    identity: null,
    retainingPath: null,
    leakKind: null,
    named: true,
    creationSites: [],
    counters: null,
    unclosedCallbackScopes: 0,
    openAtWorkerTeardown: overrides.live.map(() => 0),
    resourcesCollected: 0,
    ledger: null,
    basis: 'heap',
    contextFrames: null,
    unnamedResources: null,
    explanation: null,
    ...overrides,
  };
}

function nativeRow(): NativeMemoryRow {
  return {
    name: '(native memory)',
    measure: 'malloc-in-use',
    live: [6_000_000, 12_144_000, 18_288_000],
    growth: 12_288_000,
    perIteration: 61_440,
    retainedSize: 0,
    verdict: 'leak',
    identity: null,
    retainingPath: null,
    leakKind: certain('native-memory', NATIVE_EXPLANATION),
    traceAllowance: null,
    explanation: NATIVE_EXPLANATION,
    valgrind: VALGRIND,
  };
}

function handMade(): AnalysisResult {
  const leaking = asyncRow({
    name: 'my_<work>',
    live: [10, 110, 210],
    perIteration: 1,
    retainedSize: 12_400,
    verdict: 'leak',
    leakKind: certain('missing-destroy', EVIDENCE),
    creationSites: [{ frame: 'iteration (file:///app/test/my%20app.mjs:7:3)', count: 210, original: null }],
    counters: { init: 212, destroy: 0, before: 0, after: 0 },
    ledger: { created: [12, 112, 212], destroyed: [0, 0, 0], open: [12, 112, 212] },
    explanation: EXPLANATION,
  });
  const collected = asyncRow({
    name: 'tsfn_*bold*',
    live: [0, 0, 0],
    perIteration: 0.5,
    verdict: 'leak',
    basis: 'ledger',
    leakKind: certain('tsfn-not-released', 'hand-made'),
    resourcesCollected: 100,
    ledger: { created: [0, 50, 100], destroyed: [0, 0, 0], open: [0, 50, 100] },
    explanation: 'resource collected: native-only leak — 100 open context(s) whose JS resource was garbage-collected',
  });
  const steady = asyncRow({ name: 'steady', live: [3, 3, 3] });
  const reference: ReferenceRow = {
    name: 'Closure',
    live: [1, 101, 201],
    growth: 200,
    perIteration: 1,
    retainedSize: 6_400,
    verdict: 'leak',
    identity: null,
    retainingPath: null,
    leakKind: certain('leaked-reference', '200 more functions held by strong global handles'),
    location: 'file:///app/lib/x.js:3:5',
    originalLocation: null,
  };
  return {
    schemaVersion: 1,
    snapshots: [
      { file: 'snapshot-1.heapsnapshot', label: 'baseline', iterations: 0 },
      { file: 'snapshot-2.heapsnapshot', label: 'iteration-100', iterations: 100 },
      { file: 'snapshot-3.heapsnapshot', label: 'iteration-200', iterations: 200 },
    ],
    comparison: 'identity',
    agent: { found: true, node: 'v20.20.2' },
    asyncContexts: [leaking, collected, steady],
    references: [reference],
    unchangedReferenceGroups: 0,
    memory: {
      readings: [
        { rss: 52_000_000, heapUsed: 4_200_000, external: 1_800_000, arrayBuffers: 10_655 },
        { rss: 58_600_000, heapUsed: 4_212_000, external: 7_944_000, arrayBuffers: 10_655 },
        { rss: 65_160_000, heapUsed: 4_224_000, external: 14_088_000, arrayBuffers: 10_655 },
      ],
      globalHandles: [140, 341, 542],
      cleanupHooksAdded: [0, 0, 1],
      perIteration: { rss: 65_800, heapUsed: 120, external: 61_440 },
    },
    nativeMemory: nativeRow(),
    ledger: { found: true },
    notes: ['another note'],
    verdict: 'leak',
  };
}

const EXPECTED_MEMORY_SECTION = `### Memory beside the heap

| snapshot | RSS | heap used | external | array buffers | global handles | cleanup hooks added |
| --- | ---: | ---: | ---: | ---: | ---: | ---: |
| \`baseline\` | 52.0 MB | 4.2 MB | 1.8 MB | 10.7 kB | 140 | 0 |
| \`iteration-100\` | 58.6 MB | 4.2 MB | 7.9 MB | 10.7 kB | 341 | 0 |
| \`iteration-200\` | 65.2 MB | 4.2 MB | 14.1 MB | 10.7 kB | 542 | +1 |

Growth per iteration (least squares): RSS +65.8 kB, heap used +120 B, external +61.4 kB.

`;

/** The Markdown from `### <title>` up to the next `### ` heading (or the end), with the blank line before it. */
function section(markdown: string, title: string): string {
  const start = markdown.indexOf(`### ${title}\n`);
  expect(start, `a "${title}" section`).toBeGreaterThanOrEqual(0);
  const end = markdown.indexOf('\n### ', start + 1);
  return markdown.slice(start, end === -1 ? undefined : end + 1);
}

describe('summary.md: leak kinds, ledger, explanations and memory beside the heap (hand-made result)', () => {
  const input = reportInput(handMade(), undefined, '/app');
  const markdown = renderMarkdown(input);

  it('"Memory beside the heap": readings and global handles per snapshot, growth per iteration', () => {
    expect(section(markdown, 'Memory beside the heap')).toBe(EXPECTED_MEMORY_SECTION);
  });

  it('"Native memory": its own row, failing, with its budget column; detailed with its evidence and the valgrind command in a code block', () => {
    expect(section(markdown, 'Native memory')).toBe(`### Native memory

| result | measure | per snapshot | growth | per iteration | budget | verdict |
| --- | --- | --- | ---: | ---: | ---: | --- |
| ❌ FAIL (leak) | C allocator, bytes in use (ArrayBuffers left out) | 6.0 MB → 12.1 MB → 18.3 MB | +12.3 MB | +61.4 kB | – | leak |

`);
    expect(markdown).toContain('Failing: 4 leaking, 0 over budget.');
    const detail = markdown.slice(markdown.indexOf('#### ❌ `(native memory)` (native memory)'));
    expect(detail.split('\n').slice(0, 10)).toEqual([
      '#### ❌ `(native memory)` (native memory)',
      '',
      '- leak: grew at every step, live 6.0 MB → 12.1 MB → 18.3 MB (+12.3 MB, +61.4 kB/iteration)',
      '- kind: native memory grows \\(nothing in the JS heap accounts for it\\) — fix: look for Node-API references never deleted \\(a napi\\_ref or the reference napi\\_wrap returns: weak ones leave no heap trace\\), napi\\_wrap without a finalizer, and the addon\'s own allocations; confirm with valgrind',
      `- evidence: ${NATIVE_EXPLANATION.replaceAll('_', '\\_').replaceAll('(', '\\(').replaceAll(')', '\\)').replaceAll('<', '\\<').replaceAll('>', '\\>')}`,
      '- confirm it under valgrind:',
      '',
      '```sh',
      VALGRIND,
      '```',
    ]);
    const within = renderMarkdown(reportInput(handMade(), { maxPerIteration: new Map([['(native memory)', 65_536]]), ignore: new Set() }, '/app'));
    expect(section(within, 'Native memory')).toContain('| ✅ pass (within budget) | C allocator, bytes in use (ArrayBuffers left out) | 6.0 MB → 12.1 MB → 18.3 MB | +12.3 MB | +61.4 kB | 65.5 kB | leak |');
  });

  it('the header says the ledger was joined; the async table has the ledger open count beside the heap live count', () => {
    expect(markdown).toContain('; same process, compared by object id; trace-event ledger joined.\n');
    expect(section(markdown, 'Async contexts')).toBe(`### Async contexts

| result | name | live | ledger open | growth | per iteration | budget | retained | verdict |
| --- | --- | --- | --- | ---: | ---: | ---: | ---: | --- |
| ❌ FAIL (leak) | \`my_<work>\` | 10 → 110 → 210 | 12 → 112 → 212 | +200 | 1.00 | – | 12.4 kB | leak |
| ❌ FAIL (leak) | \`tsfn_*bold*\` | 0 → 0 → 0 | 0 → 50 → 100 | 0 | 0.50 | – | 0 B | leak |
| ✅ pass | \`steady\` | 3 → 3 → 3 | – | 0 | 0.00 | – | 0 B | stable |

`);
  });

  it('each failing group: kind and fix hint, heap and ledger counts, the explanation (escaped)', () => {
    expect(section(markdown, 'Failing groups').split('\n- leak: grew at every step, live 6.0 MB')[0]).toBe(`### Failing groups

#### ❌ \`my_<work>\` (async context)

- leak: grew at every step, live 10 → 110 → 210 (+200, 1.00/iteration)
- kind: missing destroy — fix: pair every napi\\_async\\_init with napi\\_async\\_destroy when the operation completes \\(for a JavaScript AsyncResource: call emitDestroy\\(\\)\\)
- evidence: 212 open contexts whose JS resource was collected: napi\\_async\\_init holds its resource weakly \\(and nothing holds a JavaScript AsyncResource\\), while async work and threadsafe functions hold theirs strongly
- heap live 10 → 110 → 210; trace-event ledger (exact): created 12 → 112 → 212, destroyed 0 → 0 → 0, open 12 → 112 → 212
- 2 more open per the ledger than records in the heap: contexts opened before the agent loaded, or in threads whose records are not in this heap
- created at: \`iteration test/my app.mjs:7:3\` ×210

#### ❌ \`tsfn_*bold*\` (async context)

- leak: grew at every step, live 0 → 0 → 0 (0, 0.50/iteration)
- kind: threadsafe function never released — fix: call napi\\_release\\_threadsafe\\_function from every thread that acquired it; the last release frees it
- evidence: hand-made
- heap live 0 → 0 → 0; trace-event ledger (exact): created 0 → 50 → 100, destroyed 0 → 0 → 0, open 0 → 50 → 100
- resource collected: native-only leak — 100 open context\\(s\\) whose JS resource was garbage-collected

#### ❌ \`Closure\` (reference)

- leak: grew at every step, live 1 → 101 → 201 (+200, 1.00/iteration)
- kind: leaked napi\\_ref — fix: call napi\\_delete\\_reference once the value is no longer needed; a weak reference \\(refcount 0\\) too: it outlives its value until deleted \\(napi\\_wrap's result reference: delete it in the finalizer\\)
- evidence: 200 more functions held by strong global handles
- function at: \`lib/x.js:3:5\`

#### ❌ \`(native memory)\` (native memory)
`);
  });

  it('a leak within its budget still gets its kind and fix, under its own heading', () => {
    const within = renderMarkdown(reportInput(handMade(), { maxPerIteration: new Map([['my_<work>', 2]]), ignore: new Set(['Closure']) }, '/app'));
    const passing = section(within, 'Leaking groups within budget or ignored');
    expect(passing).toContain('#### ✅ `my_<work>` (async context)\n\n- within budget: 1.00/iteration ≤ 2/iteration allowed;');
    expect(passing).toContain('#### ➖ `Closure` (reference)\n\n- ignored by configuration;');
    expect(passing).toContain('- kind: leaked napi\\_ref — fix: call napi\\_delete\\_reference');
  });

  it('notes: the analysis notes, once', () => {
    expect(section(markdown, 'Notes')).toBe('### Notes\n\n- another note\n');
  });

  it('without readings: the table shows – and says why growth was not measured; without a memory report (an older result): no section', () => {
    const none = handMade();
    none.memory = { ...none.memory, readings: [null, null, null], perIteration: null };
    none.nativeMemory = null;
    const text = section(renderMarkdown(reportInput(none)), 'Memory beside the heap');
    expect(text).toContain('| `baseline` | – | – | – | – | 140 | 0 |\n');
    expect(text).toContain('\nNo process memory reading came with these snapshots: growth per iteration not measured.\n');
    expect(text).not.toContain('valgrind');

    const some = handMade();
    some.memory = { ...some.memory, readings: [null, some.memory.readings[1]!, null], perIteration: null };
    expect(renderMarkdown(reportInput(some))).toContain('\nGrowth per iteration not measured: it needs iteration counts and memory readings from enough snapshots.\n');

    const older = handMade() as Partial<AnalysisResult>;
    delete older.memory;
    delete older.ledger;
    const old = renderMarkdown(reportInput(older as AnalysisResult));
    expect(old).not.toContain('### Memory beside the heap');
    expect(old).not.toContain('trace-event ledger joined');
  });

  it('hostile snapshot labels and commands stay literal: the label in a table code span, the command in a longer fence on one line', () => {
    const hostile = handMade();
    hostile.snapshots[0]!.label = 'a|b\n### x';
    hostile.nativeMemory = { ...nativeRow(), explanation: '# <img src=x onerror=alert(1)> *x*', valgrind: 'valgrind node a```b\n```\n# c' };
    const markdown = renderMarkdown(reportInput(hostile));
    expect(section(markdown, 'Memory beside the heap')).toContain('| `a\\|b␊### x` | 52.0 MB |');
    expect(markdown).toContain('\n- evidence: the C allocator');
    expect(markdown).toContain('\n- \\# \\<img src=x onerror=alert\\(1\\)\\> \\*x\\*\n');
    expect(markdown).toContain('\n````sh\nvalgrind node a```b␊```␊# c\n````\n');
  });
});

describe('report.html, junit.xml and annotations show the same (hand-made result)', () => {
  const input = reportInput(handMade(), undefined, '/app');

  it('report.html: kind, fix and evidence per group, ledger per snapshot, explanation, memory and native memory sections; everything escaped', () => {
    const html = renderHtml(input);
    expect(html).not.toContain('<work>');
    expect(html).toContain(`<p class="kind">Kind: <strong>missing destroy</strong> — fix: ${HINT}</p>`);
    expect(html).toContain(`<p class="evidence">Evidence: ${EVIDENCE}</p>`);
    expect(html).toContain('<p class="kind">Kind: <strong>leaked napi_ref</strong> — fix: call napi_delete_reference once the value is no longer needed; a weak reference (refcount 0) too: it outlives its value until deleted (napi_wrap&#39;s result reference: delete it in the finalizer)</p>');
    expect(html).toContain(`<p class="explanation">${EXPLANATION}</p>`);
    expect(html).toContain('<td class="kind">threadsafe function never released</td>');
    expect(html).toContain('<th>live</th><th>ledger open</th>');
    expect(html).toContain('<td class="num">10 → 110 → 210</td><td class="num ledger">12 → 112 → 212</td>');
    expect(html).toContain('<dt>JS resource collected (native-only leak)</dt><dd>100 live contexts (last snapshot)</dd>');
    expect(html).toContain('<tr><td>iteration-100</td><td class="num">110</td><td class="num">112</td><td class="num">0</td><td class="num">112</td></tr>');
    expect(html).toContain('Trace-event ledger: joined.');
    expect(html).toContain('<section id="memory"><h2>Memory beside the heap</h2>');
    expect(html).toContain(
      '<tr><td>iteration-200</td><td class="num" title="65160000 bytes">65.2 MB</td><td class="num" title="4224000 bytes">4.2 MB</td><td class="num" title="14088000 bytes">14.1 MB</td><td class="num" title="10655 bytes">10.7 kB</td><td class="num">542</td><td class="num">+1</td></tr>',
    );
    expect(html).toContain('<p class="memory-growth">Growth per iteration (least squares): RSS +65.8 kB, heap used +120 B, external +61.4 kB.</p>');
    expect(html).toContain('<section id="native-memory"><h2>Native memory</h2>');
    expect(html).toContain('<tr class="fail"><td class="status">FAIL (leak)</td><td><a href="#native-memory-0"><code>(native memory)</code></a></td><td>C allocator, bytes in use (ArrayBuffers left out)</td><td class="num">6.0 MB → 12.1 MB → 18.3 MB</td><td class="num">+12.3 MB</td><td class="num">+61.4 kB</td><td class="num">–</td><td>leak</td><td class="kind">native memory grows (nothing in the JS heap accounts for it)</td></tr>');
    expect(html).toContain(`<pre><code>${VALGRIND.replace(/'/g, '&#39;')}</code></pre>`);
    expect(html).toContain('<section id="notes"><h2>Notes</h2><ul>\n<li>another note</li>\n</ul></section>');
  });

  it('junit.xml: each failure message ends with the kind and fix; the body has the ledger, collected resources and why', () => {
    const junit = renderJunit(input);
    expect(junit).toContain(`<failure type="leak" message="leak: grew at every step, live 10 → 110 → 210 (+200, 1.00/iteration); missing destroy — fix: ${HINT}">async context: my_&lt;work&gt;\n`);
    expect(junit).toContain(
      `\nkind: missing destroy — fix: ${HINT}\nevidence: ${EVIDENCE}\ntrace-event ledger (exact): created 12 → 112 → 212, destroyed 0 → 0 → 0, open 12 → 112 → 212\nwhy: ${EXPLANATION}\ncreated at: iteration test/my app.mjs:7:3 ×210</failure>`,
    );
    expect(junit).toContain('\nJS resource collected (native-only leak): 100\n');
    expect(junit).toContain('message="leak: grew at every step, live 1 → 101 → 201 (+200, 1.00/iteration); leaked napi_ref — fix: call napi_delete_reference once the value is no longer needed; a weak reference (refcount 0) too: it outlives its value until deleted (napi_wrap&apos;s result reference: delete it in the finalizer)"');
    // A passing case has no kind (it has none) and no failure.
    expect(junit).toContain('<testcase classname="napi-heapdiff.async-contexts" name="steady" time="0">\n      <system-out>');
    expect(junit).toContain('<testsuite name="napi-heapdiff.native-memory" tests="1" failures="1" errors="0" skipped="0" time="0">');
    expect(junit).toContain(`\nlive: 6.0 MB → 12.1 MB → 18.3 MB\ngrowth: +12.3 MB\nper iteration: +61.4 kB\nbudget per iteration: –\nverdict: leak\n`);
    expect(junit).toContain(`\nconfirm: ${VALGRIND.replaceAll("'", '&apos;')}</failure>`);
  });

  it('annotations: kind and fix in each ::error message; the native-memory failure ends with the valgrind command', () => {
    expect(renderGithubAnnotations(input).split('\n')).toEqual([
      `::error title=napi-heapdiff%3A async context leak,file=test/my app.mjs,line=7,col=3::my_<work> (async context): leak: grew at every step, live 10 → 110 → 210 (+200, 1.00/iteration); missing destroy — fix: ${HINT}`,
      '::error title=napi-heapdiff%3A async context leak::tsfn_*bold* (async context): leak: grew at every step, live 0 → 0 → 0 (0, 0.50/iteration); threadsafe function never released — fix: call napi_release_threadsafe_function from every thread that acquired it; the last release frees it',
      '::error title=napi-heapdiff%3A reference leak,file=lib/x.js,line=3,col=5::Closure (reference): leak: grew at every step, live 1 → 101 → 201 (+200, 1.00/iteration); leaked napi_ref — fix: call napi_delete_reference once the value is no longer needed; a weak reference (refcount 0) too: it outlives its value until deleted (napi_wrap\'s result reference: delete it in the finalizer)',
      `::error title=napi-heapdiff%3A native memory leak::(native memory) (native memory): leak: grew at every step, live 6.0 MB → 12.1 MB → 18.3 MB (+12.3 MB, +61.4 kB/iteration); native memory grows (nothing in the JS heap accounts for it) — fix: look for Node-API references never deleted (a napi_ref or the reference napi_wrap returns: weak ones leave no heap trace), napi_wrap without a finalizer, and the addon's own allocations; confirm with valgrind%0A${VALGRIND}`,
      '',
    ]);
  });

  it('annotations: a line feed or workflow command in a hint or the valgrind command never starts a command of its own', () => {
    const hostile = handMade();
    hostile.asyncContexts[0]!.leakKind = { ...certain('missing-destroy', 'e'), label: 'x\n::error::injected', hint: '50% %0A' };
    hostile.nativeMemory = { ...nativeRow(), valgrind: 'v\r\n::warning::injected' };
    const lines = renderGithubAnnotations(reportInput(hostile, undefined, '/app')).split('\n');
    expect(lines.filter((line) => line.startsWith('::'))).toHaveLength(4);
    expect(lines.filter((line) => line.startsWith('::error::') || line.startsWith('::warning::'))).toEqual([]);
    expect(lines[0]).toMatch(/\(\+200, 1\.00\/iteration\); x␊::error::injected — fix: 50%25 %250A$/);
    expect(lines[3]).toMatch(/confirm with valgrind%0Av␍␊::warning::injected$/);
  });
});

describe('saved results with the new fields (report command input)', () => {
  const saved = () => JSON.parse(JSON.stringify(handMade())) as Record<string, any>;

  it('a result with every field is accepted as it is; one without them (older) too', () => {
    expect(checkResult(saved())).toEqual(handMade());
    const older = saved();
    delete older.memory;
    delete older.ledger;
    for (const row of older.asyncContexts) {
      delete row.ledger;
      delete row.resourcesCollected;
      delete row.explanation;
      delete row.leakKind;
    }
    expect(() => checkResult(older)).not.toThrow();
  });

  it('a malformed new field is one line naming it', () => {
    const cases: Array<[(r: Record<string, any>) => void, string]> = [
      [(r) => (r.asyncContexts[0].ledger.open = [1, 2]), 'asyncContexts[0].ledger.open must be an array of 3 whole numbers (one per snapshot)'],
      [(r) => (r.asyncContexts[1].resourcesCollected = 'many'), 'asyncContexts[1].resourcesCollected must be a whole number'],
      [(r) => (r.memory.readings = [null]), 'memory.readings must be an array of 3 readings or nulls (one per snapshot)'],
      [(r) => (r.memory.readings[2].rss = '1 MB'), 'memory.readings[2].rss must be a number'],
      [(r) => (r.memory.globalHandles[0] = 1.5), 'memory.globalHandles[0] must be a whole number'],
      [(r) => (r.nativeMemory.valgrind = 42), 'nativeMemory.valgrind must be a string'],
      [(r) => (r.nativeMemory.measure = 'heap'), 'nativeMemory.measure must be one of "malloc-in-use", "rss"'],
      [(r) => (r.asyncContexts[0].leakKind.evidence = 7), 'asyncContexts[0].leakKind.evidence must be a string'],
      [(r) => (r.memory.perIteration = []), 'memory.perIteration must be an object'],
      [(r) => (r.ledger = { found: 'yes' }), 'ledger.found must be true or false'],
    ];
    for (const [damage, message] of cases) {
      const result = saved();
      damage(result);
      expect(() => checkResult(result, 'r.json')).toThrow(`r.json: not an analysis result: ${message}`);
    }
  });
});
