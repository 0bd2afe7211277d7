import type { Command } from 'commander';
import { addGateOptions, prepareDelivery, type GateFlags } from '../gate-options.js';

export function registerReport(program: Command): void {
  const command = program
    .command('report')
    .description('render a saved result (--json, or a report\'s result.json) as a report folder, with budgets applied again')
    .argument('<result.json>', 'a result written by diff/capture --json or --report');
  addGateOptions(command, { reportRequired: true }).action(async (file: string, flags: GateFlags) => {
    const budgets = prepareDelivery(flags);
    const [{ readResultFile }, { deliverResult }] = await Promise.all([import('../../report/index.js'), import('../deliver.js')]);
    const saved = readResultFile(file);
    deliverResult(saved, budgets, flags, { saved, terminal: 'gate' });
  });
}
