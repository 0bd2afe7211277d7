import type { GroupKind, GroupOutcome } from '../analysis/budget.js';
import { escapeXml, visible } from './escape.js';
import {
  budgetText,
  explanationText,
  formatBytes,
  frameText,
  growthText,
  isNativeMemory,
  isNativeSite,
  siteChainText,
  siteCountsText,
  kindLabel,
  leakKindOf,
  leakKindText,
  liveText,
  rateText,
  ledgerOf,
  ledgerText,
  outcomeText,
  pathText,
  referenceLocation,
  resourcesCollectedOf,
  rowOf,
  siteFrame,
  withLeakKind,
  type Row,
} from './format.js';
import type { ReportInput } from './types.js';

const SUITES: Array<[GroupKind, string]> = [
  ['async-context', 'napi-heapdiff.async-contexts'],
  ['reference', 'napi-heapdiff.references'],
  ['native-site', 'napi-heapdiff.native-sites'],
  ['native-memory', 'napi-heapdiff.native-memory'],
];

/**
 * junit.xml: one test suite per kind, one test case per async-context name
 * and per listed reference group. A case fails (`<failure type="leak">` or
 * `type="over-budget"`) when its group fails the gate, is `<skipped>` when its
 * name is ignored, and passes otherwise. A failure's message ends with the
 * kind of leak and its fix, when the analysis classified the group; its body
 * has the numbers (heap, and trace-event ledger when recorded), the kind, why
 * heap and ledger disagree, creation sites and the retaining path. XML 1.0; every snapshot string is
 * escaped, characters XML cannot hold are replaced visibly ({@link escapeXml}).
 */
export function renderJunit({ result, gate, cwd = '' }: ReportInput): string {
  const count = (groups: GroupOutcome[]) => ({
    tests: groups.length,
    failures: groups.filter((g) => g.status === 'fail').length,
    skipped: groups.filter((g) => g.status === 'ignored').length,
  });
  const all = count(gate.groups);
  const out: string[] = ['<?xml version="1.0" encoding="UTF-8"?>'];
  out.push(`<testsuites name="napi-heapdiff" tests="${all.tests}" failures="${all.failures}" errors="0" skipped="${all.skipped}" time="0">`);
  for (const [kind, suite] of SUITES) {
    const groups = gate.groups.filter((g) => g.kind === kind);
    if (groups.length === 0 && (kind === 'native-memory' || kind === 'native-site')) continue;
    const c = count(groups);
    out.push(`  <testsuite name="${suite}" tests="${c.tests}" failures="${c.failures}" errors="0" skipped="${c.skipped}" time="0">`);
    for (const g of groups) {
      const row = rowOf(result, g);
      const location = referenceLocation(row);
      const name = g.kind === 'reference' && location !== null ? `${row.name} (${frameText(location, cwd)})` : row.name;
      const open = `    <testcase classname="${suite}" name="${escapeXml(name)}" time="0"`;
      if (g.status === 'pass') {
        out.push(`${open}>`, `      <system-out>${escapeXml(details(g, row, cwd), { multiline: true })}</system-out>`, '    </testcase>');
      } else if (g.status === 'ignored') {
        out.push(`${open}>`, `      <skipped message="${escapeXml(outcomeText(g, row))}"/>`, '    </testcase>');
      } else {
        out.push(
          `${open}>`,
          `      <failure type="${g.reason}" message="${escapeXml(withLeakKind(outcomeText(g, row), row))}">${escapeXml(details(g, row, cwd), { multiline: true })}</failure>`,
          '    </testcase>',
        );
      }
    }
    out.push('  </testsuite>');
  }
  out.push('</testsuites>', '');
  return out.join('\n');
}

/** The body of a case: the numbers, the top creation sites and the retaining path, one per line. */
function details(g: GroupOutcome, row: Row, cwd: string): string {
  const lines = [
    `${kindLabel(g.kind)}: ${row.name}`,
    `live: ${liveText(row)}`,
    `growth: ${growthText(row)}`,
    `per iteration: ${rateText(row)}`,
    `budget per iteration: ${budgetText(row, g.maxPerIteration)}`,
    ...(isNativeMemory(row) ? [] : [`retained: ${formatBytes(row.retainedSize)}`]),
    `verdict: ${row.verdict}`,
  ];
  const kind = leakKindText(row);
  if (kind !== null) lines.push(`kind: ${kind}`);
  const evidence = leakKindOf(row)?.evidence;
  if (evidence) lines.push(`evidence: ${evidence}`);
  const ledger = ledgerOf(row);
  if (ledger !== null) lines.push(`trace-event ledger (exact): ${ledgerText(ledger)}`);
  const collected = resourcesCollectedOf(row);
  if (collected > 0) lines.push(`JS resource collected (native-only leak): ${collected}`);
  const explanation = explanationText(row);
  if (explanation !== null) lines.push(`why: ${explanation}`);
  if ('creationSites' in row) for (const site of row.creationSites) lines.push(`created at: ${frameText(siteFrame(site), cwd)} ×${site.count}`);
  else if (referenceLocation(row) !== null) lines.push(`function at: ${frameText(referenceLocation(row)!, cwd)}`);
  if (isNativeSite(row)) lines.push(`called at: ${siteChainText(row)}`, siteCountsText(row));
  if (isNativeMemory(row) && row.valgrind && !row.accountedFor) lines.push(`confirm: ${row.valgrind}`);
  if (row.retainingPath) lines.push(`retaining path: ${pathText(row.retainingPath, { ids: true })}`);
  // Each line made visible on its own: a line feed inside a name shows as ␊, only ours break lines.
  return lines.map((line) => visible(line)).join('\n');
}
