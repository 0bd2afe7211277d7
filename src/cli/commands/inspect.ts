import Table from 'cli-table3';
import type { Command } from 'commander';
import { HeapGraph } from '../../graph/heap-graph.js';
import { inspectSnapshot, type InspectResult } from '../../inspect/inspect-snapshot.js';
import { loadSnapshot } from '../../snapshot/load.js';
import { writeFileAtomic } from '../../util/atomic-write.js';
import { COMPACT, formatBytes, formatCount } from '../format.js';
import { loadProgressReporter } from '../progress.js';

export function registerInspect(program: Command): void {
  program
    .command('inspect')
    .description('summarise one heap snapshot: sizes, top classes, objects held by global handles')
    .argument('<snapshot>', '.heapsnapshot or .heapsnapshot.gz file, or - for stdin')
    .option('--json <file>', 'also write the summary as JSON to this file')
    .option('--top <n>', 'classes to list per table', '15')
    .action(async (file: string, options: { json?: string; top: string }) => {
      const snapshot = await loadSnapshot(file, { onProgress: loadProgressReporter() });
      const result = inspectSnapshot(new HeapGraph(snapshot), Number(options.top));
      if (options.json) writeFileAtomic(options.json, `${JSON.stringify(result, null, 2)}\n`);
      process.stdout.write(renderInspect(result));
    });
}

function renderInspect(r: InspectResult): string {
  const lines: string[] = [];
  lines.push(`${r.file}`);
  lines.push(`  nodes ${formatCount(r.nodeCount)}, edges ${formatCount(r.edgeCount)}, strings ${formatCount(r.stringCount)}, total self size ${formatBytes(r.totalSize)}`);
  if (r.extraNativeBytes !== undefined) lines.push(`  extra native bytes ${formatBytes(r.extraNativeBytes)}`);
  const classTable = (title: string, rows: InspectResult['topByCount']) => {
    const table = new Table({ head: [title, 'count', 'self size', 'retained size'], style: COMPACT });
    for (const row of rows) table.push([row.className, formatCount(row.count), formatBytes(row.selfSize), formatBytes(row.retainedSize)]);
    return table.toString();
  };
  lines.push('', classTable('top classes by count', r.topByCount));
  lines.push('', classTable('top classes by retained size', r.topByRetainedSize));
  const handles = new Table({ head: ['held by (Global handles)', 'strong', 'weak'], style: COMPACT });
  for (const group of r.globalHandles.byClass) handles.push([group.className, group.strong, group.weak]);
  lines.push('', `global handles: ${r.globalHandles.strong} strong, ${r.globalHandles.weak} weak`, handles.toString());
  for (const anomaly of r.anomalies) lines.push(`note: ${anomaly.message}`);
  return `${lines.join('\n')}\n`;
}
