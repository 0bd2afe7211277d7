import { escapeAnnotationData, escapeAnnotationProperty, visible } from './escape.js';
import { isNativeMemory, isNativeSite, kindLabel, outcomeText, parseFrame, referenceLocation, rowOf, siteFrame, withLeakKind } from './format.js';
import type { ReportInput } from './types.js';

/**
 * GitHub Actions workflow commands: one `::error` line per failing group
 * (a leak, or over its budget), pointing at the group's top creation site
 * when that script lies under `cwd` (the checkout), its message ending with
 * the kind of leak and its fix (a native-memory failure ends with the
 * valgrind command that would confirm it). Every value is escaped
 * ({@link escapeAnnotationData}, {@link escapeAnnotationProperty}), so each
 * annotation is exactly one line and a payload in a name cannot start a
 * command of its own. Returns the lines, each ending in "\n"; printing them
 * is the caller's business.
 */
export function renderGithubAnnotations({ result, gate, cwd = '' }: ReportInput): string {
  const lines: string[] = [];
  for (const g of gate.groups) {
    if (g.status !== 'fail') continue;
    const row = rowOf(result, g);
    const properties = [`title=${escapeAnnotationProperty(`napi-heapdiff: ${kindLabel(g.kind)} ${g.reason === 'over-budget' ? 'over budget' : 'leak'}`)}`];
    const site = 'creationSites' in row ? row.creationSites[0] : undefined;
    // A native site is annotated at the C/C++ line that made the call, when built with debug info.
    const native = isNativeSite(row) ? row.frames.find((f) => f.file !== null && f.line !== null) : undefined;
    const frame = native ? `${native.file}:${native.line}` : site ? siteFrame(site) : (referenceLocation(row) ?? undefined);
    if (frame !== undefined && cwd) {
      const loc = parseFrame(frame, cwd);
      if (loc.inCwd && loc.line !== null) {
        properties.push(`file=${escapeAnnotationProperty(loc.file)}`, `line=${loc.line}`);
        if (loc.column !== null) properties.push(`col=${loc.column}`);
      }
    }
    // Everything made visible: a line feed in a name (or a hand-edited hint) shows as ␊ and never breaks the message.
    const confirm = isNativeMemory(row) && row.valgrind ? `\n${visible(row.valgrind)}` : '';
    const message = visible(`${row.name} (${kindLabel(g.kind)}): ${withLeakKind(outcomeText(g, row), row)}`) + confirm;
    lines.push(`::error ${properties.join(',')}::${escapeAnnotationData(message)}\n`);
  }
  return lines.join('');
}
