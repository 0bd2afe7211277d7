import type { Command } from 'commander';
import { writeFileAtomic } from '../../util/atomic-write.js';
import { checkOutputFile } from '../output-paths.js';
import { loadProgressReporter } from '../progress.js';
import { positiveWholeNumber } from '../usage-error.js';

export function registerInspect(program: Command): void {
  program
    .command('inspect')
    .description('summarise one heap snapshot: sizes, top classes, objects held by global handles')
    .argument('<snapshot>', '.heapsnapshot or .heapsnapshot.gz file, or - for stdin')
    .option('--json <file>', 'also write the summary as JSON to this file')
    .option('--top <n>', 'classes to list per table', '15')
    .action(async (file: string, options: { json?: string; top: string }) => {
      const top = positiveWholeNumber(options.top, '--top');
      checkOutputFile(options.json, '--json');
      const [{ loadSnapshot }, { HeapGraph }, { inspectSnapshot }, { renderInspect }] = await Promise.all([
        import('../../snapshot/load.js'),
        import('../../graph/heap-graph.js'),
        import('../../inspect/inspect-snapshot.js'),
        import('../../report/terminal.js'),
      ]);
      const snapshot = await loadSnapshot(file, { onProgress: loadProgressReporter() });
      const result = inspectSnapshot(new HeapGraph(snapshot), top);
      if (options.json) writeFileAtomic(options.json, `${JSON.stringify(result, null, 2)}\n`);
      process.stdout.write(renderInspect(result));
    });
}
