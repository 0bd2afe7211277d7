import { relative } from 'node:path';
import type { Command } from 'commander';
import { mergeBudgets, parseBudgetAssignment, type Budgets } from '../analysis/budget.js';
import { CONFIG_FILE_NAME, findConfig, readConfig } from '../analysis/config.js';
import { checkOutputFile, checkOutputFolder } from './output-paths.js';
import { UsageError } from './usage-error.js';

/** The flags every analysing command shares: reports, budgets, config. */
export interface GateFlags {
  report?: string;
  maxPerIteration?: string[];
  config?: string;
}

/** Adds --report, --max-per-iteration (repeatable) and --config to a command. */
export function addGateOptions(command: Command, options: { reportRequired?: boolean } = {}): Command {
  const report = 'write result.json, summary.md, report.html and junit.xml to this folder (and, on GitHub Actions, annotations and the job summary)';
  if (options.reportRequired) command.requiredOption('--report <dir>', report);
  else command.option('--report <dir>', report);
  return command
    .option('--max-per-iteration <name=n>', 'allow <name> to grow by up to n per iteration without failing (repeatable)', (value: string, previous: string[] | undefined) => [...(previous ?? []), value])
    .option('--config <file>', `budgets and ignores (default: ./${CONFIG_FILE_NAME} when present)`);
}

/**
 * What every analysing command does before any work: the output paths
 * (--json, --report) checked and the budgets read, so a bad flag fails at
 * once, in one line, with nothing written.
 */
export function prepareDelivery(flags: GateFlags & { json?: string }): Budgets {
  checkOutputFile(flags.json, '--json');
  checkOutputFolder(flags.report, '--report');
  return resolveBudgets(flags);
}

/**
 * The budgets of a run, read before any work starts so a bad flag or config
 * fails at once: the config file (--config, else ./napi-heapdiff.config.json
 * when present), then --max-per-iteration on top.
 */
function resolveBudgets(flags: GateFlags, cwd = process.cwd()): Budgets {
  const cli = (flags.maxPerIteration ?? []).map((text) => {
    try {
      return parseBudgetAssignment(text);
    } catch (error) {
      throw new UsageError(`--max-per-iteration: ${(error as Error).message}`);
    }
  });
  const found = findConfig(cwd);
  const file = flags.config ?? (found && (relative(cwd, found) || found));
  return mergeBudgets(file === undefined ? undefined : readConfig(file), cli);
}
