import type { Command } from 'commander';
import type { AttachProgress, AttachResult } from '../../attach/attach.js';
import { addGateOptions, prepareDelivery, type GateFlags } from '../gate-options.js';
import { bytesInDecimalUnits } from '../../util/bytes.js';
import { analysisProgressReporter } from '../progress.js';
import { checkOutputFolder } from '../output-paths.js';
import { UsageError, wholeNumber } from '../usage-error.js';

interface AttachFlags extends GateFlags {
  out: string;
  snapshots: string;
  interval: string;
  port?: string;
  host?: string;
  injectAgent?: boolean;
  analysis: boolean;
  json?: string;
}

export function registerAttach(program: Command): void {
  const command = program
    .command('attach')
    .description('attach to a running node process through its inspector, take heap snapshots there, then the diff analysis')
    .usage('<pid> --out <dir> [--snapshots <k>] [--interval <ms>] [--port <n>] [--inject-agent] [--json <file>]')
    .argument('<pid>', 'the running node process (its inspector is opened with SIGUSR1, as node inspect -p does)')
    .requiredOption('--out <dir>', 'folder for the snapshots and manifest.json')
    .option('--snapshots <k>', 'snapshots to take', '3')
    .option('--interval <ms>', 'ms between the starts of two snapshots', '10000')
    .option('--port <n>', 'the inspector is already open on this port: connect there, send no signal')
    .option('--host <address>', 'loopback address of the inspector: 127.0.0.1 or ::1 (no other host is accepted)')
    .option('--inject-agent', 'install the agent in the process: names the async contexts created after attaching')
    .option('--no-analysis', 'only capture (no analysis; exit 0 once the snapshots are written)')
    .option('--json <file>', 'also write the result as JSON (with a capture field) to this file');
  addGateOptions(command)
    .action(async (pidText: string, flags: AttachFlags) => {
      if (!flags.analysis && (flags.report !== undefined || flags.maxPerIteration !== undefined || flags.config !== undefined)) {
        throw new UsageError('--report, --max-per-iteration and --config apply to the analysis: drop --no-analysis to use them');
      }
      const budgets = prepareDelivery(flags);
      checkOutputFolder(flags.out, '--out');
      // Loaded when used: the inspector client (and its WebSocket library) would
      // otherwise slow every other command's start-up.
      const { attach } = await import('../../attach/attach.js');
      const controller = new AbortController();
      const abort = () => controller.abort();
      process.on('SIGINT', abort);
      process.on('SIGTERM', abort);
      let result: AttachResult;
      try {
        result = await attach({
          pid: wholeNumber(pidText, 'pid'),
          port: flags.port === undefined ? undefined : wholeNumber(flags.port, '--port'),
          host: flags.host,
          snapshots: wholeNumber(flags.snapshots, '--snapshots'),
          intervalMs: wholeNumber(flags.interval, '--interval'),
          outDir: flags.out,
          injectAgent: flags.injectAgent === true,
          onProgress: progressPrinter(),
          signal: controller.signal,
        });
      } finally {
        process.off('SIGINT', abort);
        process.off('SIGTERM', abort);
      }
      const analyse = flags.analysis ? async () => (await import('../../attach/attach.js')).analyzeAttach(result, { onProgress: analysisProgressReporter() }) : undefined;
      const { deliverCapture } = await import('../deliver.js');
      await deliverCapture(result, flags, budgets, analyse);
    });
}

/** One stderr line per step. */
function progressPrinter(): (progress: AttachProgress) => void {
  const line = (text: string) => process.stderr.write(`napi-heapdiff: ${text}\n`);
  return (progress) => {
    switch (progress.kind) {
      case 'inspector':
        line(progress.openedByUs
          ? `opened the inspector of process ${progress.pid} on ${progress.host}:${progress.port}`
          : `the inspector of process ${progress.pid} is already open on ${progress.host}:${progress.port}`);
        break;
      case 'connected':
        line(`attached to process ${progress.pid} (node ${progress.node}): ${progress.argv.join(' ')}`);
        break;
      case 'agent':
        if (progress.agent === 'injected') line('injected the agent: async contexts created from now on are named');
        else if (progress.agent === 'preloaded') line('the process runs the agent already (preloaded)');
        else line('no agent in the process: async contexts stay unnamed (--inject-agent names those created after attaching)');
        break;
      case 'snapshot': {
        const s = progress.snapshot;
        const seconds = ((s.settleMs + (s.gcMs ?? 0) + s.writeMs) / 1000).toFixed(1);
        line(`snapshot ${s.index}/${progress.expected} (${s.label}) ${s.file}: ${bytesInDecimalUnits(s.bytes, 0)} in ${seconds} s`);
        break;
      }
      case 'note':
        line(`note: ${progress.message}`);
        break;
      case 'detached': {
        const parts = [progress.agentRemoved ? 'agent removed' : '', progress.inspectorClosed ? 'inspector closed' : ''].filter(Boolean);
        line(`detached${parts.length > 0 ? ` (${parts.join(', ')})` : ''}`);
        break;
      }
      case 'ended':
        break;
    }
  };
}
