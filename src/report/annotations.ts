import { escapeAnnotationData, escapeAnnotationProperty, visible } from './escape.js';
import { kindLabel, outcomeText, parseFrame, rowOf } from './format.js';
import type { ReportInput } from './types.js';

/**
 * GitHub Actions workflow commands: one `::error` line per failing group
 * (a leak, or over its budget), pointing at the group's top creation site
 * when that script lies under `cwd` (the checkout). Every value is escaped
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
    const frame = 'creationSites' in row ? row.creationSites[0]?.frame : (row.location ?? undefined);
    if (frame !== undefined && cwd) {
      const loc = parseFrame(frame, cwd);
      if (loc.inCwd && loc.line !== null) {
        properties.push(`file=${escapeAnnotationProperty(loc.file)}`, `line=${loc.line}`);
        if (loc.column !== null) properties.push(`col=${loc.column}`);
      }
    }
    const message = `${visible(row.name)} (${kindLabel(g.kind)}): ${outcomeText(g, row)}`;
    lines.push(`::error ${properties.join(',')}::${escapeAnnotationData(message)}\n`);
  }
  return lines.join('');
}
