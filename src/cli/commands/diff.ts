import type { Command } from 'commander';
import { resolveSnapshotInputs } from '../../analysis/snapshot-inputs.js';
import { writeFileAtomic } from '../../util/atomic-write.js';
import { analysisProgressReporter } from '../progress.js';
import { wholeNumber } from '../usage-error.js';
import { addGateOptions, prepareDelivery, type GateFlags } from '../gate-options.js';

export function registerDiff(program: Command): void {
  const command = program
    .command('diff')
    .description('attribute growth between two or more snapshots to native async-context names and reference groups')
    .argument('<snapshots...>', 'two or more .heapsnapshot(.gz) files in order, or a capture folder')
    .option('--iterations <n>', 'iterations run between consecutive snapshots (a capture manifest beside the files gives them otherwise)')
    .option('--json <file>', 'also write the result as JSON (schemaVersion 1) to this file');
  addGateOptions(command).action(async (files: string[], options: { iterations?: string; json?: string } & GateFlags) => {
    const budgets = prepareDelivery(options);
    const iterations = options.iterations === undefined ? undefined : wholeNumber(options.iterations, '--iterations');
    const inputs = resolveSnapshotInputs(files, { iterations });
    // Loaded when used: every command starts without the others' machinery (start-up time, and memory a big analysis needs).
    const [{ analyzeSnapshots }, { deliverResult }] = await Promise.all([import('../../analysis/analyze.js'), import('../deliver.js')]);
    const result = await analyzeSnapshots(inputs, { onProgress: analysisProgressReporter() });
    if (options.json) writeFileAtomic(options.json, `${JSON.stringify(result, null, 2)}\n`);
    deliverResult(result, budgets, options);
  });
}

