import type { Command } from 'commander';
import type { CaptureResult } from '../../capture/lifecycle.js';
import type { CaptureProgress } from '../../capture/progress.js';
import { captureInputs } from '../../analysis/snapshot-inputs.js';
import { analysisProgressReporter } from '../progress.js';
import { bytesInDecimalUnits } from '../../util/bytes.js';
import { checkOutputFolder } from '../output-paths.js';
import { UsageError, wholeNumber } from '../usage-error.js';
import { addGateOptions, prepareDelivery, type GateFlags } from '../gate-options.js';

interface CaptureFlags extends GateFlags {
  nativeLedger: boolean;
  scenario?: string;
  iterations: string;
  snapshots: string;
  warmup: string;
  out: string;
  interval?: string;
  timeout?: string;
  json?: string;
}

const SCENARIO_ONLY = ['iterations', 'snapshots', 'warmup'] as const;

export function registerCapture(program: Command): void {
  const capture = program
    .command('capture')
    .description('run a scenario (or any command) with the agent and write heap snapshots plus manifest.json')
    .usage('--out <dir> --scenario <module> [--iterations <n>] [--snapshots <k>] [--warmup <n>]\n       napi-heapdiff capture --out <dir> [--interval <ms>] -- <command...>')
    .requiredOption('--out <dir>', 'folder for the snapshots and manifest.json')
    .option('--scenario <module>', 'module exporting iteration(i) [, setup(), teardown()]')
    .option('--iterations <n>', 'scenario: iterations between two snapshots', '100')
    .option('--snapshots <k>', 'scenario: snapshots to write (at least 2)', '3')
    .option('--warmup <n>', 'scenario: iterations before the first snapshot', '10')
    .option('--interval <ms>', 'command: also snapshot every node process every <ms>')
    .option('--timeout <ms>', 'stop the command (or scenario process) after <ms>: SIGTERM, SIGKILL 2 s later. A command stopped this way ended normally: its snapshots are analysed (exit 0/1); a scenario that had not finished is exit 2')
    .option('--json <file>', 'also write the result (manifest-level) as JSON to this file')
    .option('--no-native-ledger', 'do not run the child with the native call-site ledger (LD_AUDIT library counting every Node-API acquire/release per native call site)')
    .argument('[command...]', 'command to run with the agent, after --');
  addGateOptions(capture)
    .action(async (commandArgv: string[], flags: CaptureFlags, command: Command) => {
      const budgets = prepareDelivery(flags);
      checkOutputFolder(flags.out, '--out');
      const given = (name: string) => command.getOptionValueSource(name) === 'cli';
      const onProgress = progressPrinter();
      const controller = new AbortController();
      const abort = () => controller.abort();
      let result: CaptureResult;
      // Loaded when used, like attach: other commands start faster.
      const [{ captureCommand }, { captureScenario }] = await Promise.all([import('../../capture/command.js'), import('../../capture/scenario.js')]);
      process.on('SIGINT', abort);
      process.on('SIGTERM', abort);
      try {
        if (flags.scenario !== undefined) {
          if (commandArgv.length > 0) throw new UsageError(`give either --scenario or a command after --, not both (got: ${commandArgv.join(' ')})`);
          if (given('interval')) throw new UsageError('--interval applies to command mode only');
          result = await captureScenario({
            scenario: flags.scenario,
            iterations: wholeNumber(flags.iterations, '--iterations'),
            snapshots: wholeNumber(flags.snapshots, '--snapshots'),
            warmup: wholeNumber(flags.warmup, '--warmup'),
            timeoutMs: flags.timeout === undefined ? undefined : wholeNumber(flags.timeout, '--timeout'),
            outDir: flags.out,
            nativeLedger: flags.nativeLedger,
            onProgress,
            signal: controller.signal,
          });
        } else {
          if (commandArgv.length === 0) throw new UsageError('nothing to capture: give --scenario <module> or a command after --');
          const misplaced = SCENARIO_ONLY.filter(given);
          if (misplaced.length > 0) throw new UsageError(`--${misplaced[0]} applies to --scenario only`);
          result = await captureCommand({
            command: commandArgv,
            intervalMs: flags.interval === undefined ? 0 : wholeNumber(flags.interval, '--interval'),
            timeoutMs: flags.timeout === undefined ? undefined : wholeNumber(flags.timeout, '--timeout'),
            outDir: flags.out,
            nativeLedger: flags.nativeLedger,
            onProgress,
            signal: controller.signal,
          });
        }
      } finally {
        process.off('SIGINT', abort);
        process.off('SIGTERM', abort);
      }
      const { manifest } = result;
      // Under valgrind --trace-children=yes the same capture line reaches the child that leaks.
      const noIterationCountsNote = manifest.mode === 'command' ? 'A command capture knows no iteration counts: perIteration is null. Its snapshots were taken at start-up, every --interval, on SIGUSR2 and at exit (takenAt in manifest.json).' : undefined;
      const { deliverCapture } = await import('../deliver.js');
      const analyse = async () => (await import('../../analysis/analyze.js')).analyzeSnapshots(captureInputs(manifest.outDir, manifest), { onProgress: analysisProgressReporter(), command: process.argv, noIterationCountsNote });
      await deliverCapture(result, flags, budgets, analyse);
    });
}

/** One stderr line per step; nothing is rewritten in place, so logs stay readable. */
function progressPrinter(): (progress: CaptureProgress) => void {
  const line = (text: string) => process.stderr.write(`napi-heapdiff: ${text}\n`);
  return (progress) => {
    switch (progress.kind) {
      case 'started':
        line(`started ${progress.argv[0]} (pid ${progress.pid})`);
        break;
      case 'process':
        line(`node process ${progress.pid} loaded the agent: ${progress.argv.join(' ')}`);
        break;
      case 'snapshot': {
        const s = progress.snapshot;
        const of = progress.expected ? `/${progress.expected}` : '';
        const iterations = s.iterations !== undefined ? `, ${s.iterations} iterations` : '';
        const seconds = ((s.settleMs + (s.gcMs ?? 0) + s.writeMs) / 1000).toFixed(1);
        line(`snapshot ${s.index}${of} (${s.label}${iterations}) ${s.file}: ${bytesInDecimalUnits(s.bytes, 0)} in ${seconds} s`);
        break;
      }
      case 'note':
        line(`note: ${progress.message}`);
        break;
      case 'ended':
        break;
    }
  };
}
