import { readFileSync } from 'node:fs';
import { Command, CommanderError } from 'commander';
import { SnapshotFormatError } from '../snapshot/errors.js';
import { registerAttach } from './commands/attach.js';
import { registerCapture } from './commands/capture.js';
import { registerDiff } from './commands/diff.js';
import { registerInit } from './commands/init.js';
import { registerInspect } from './commands/inspect.js';
import { registerReport } from './commands/report.js';
import { EXIT_BAD_INPUT } from './exit-codes.js';
import { UsageError } from './usage-error.js';

/**
 * The command line: the only place that reads argv and sets exit codes.
 * Exit codes: 0 = done, nothing leaks; 1 = a leak was found; 2 = bad input or usage.
 */

function version(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
}

const program = new Command('napi-heapdiff')
  .description('Find leaked Node-API async contexts and references in V8 heap snapshots, by native async-context name.')
  .version(version())
  .exitOverride();

registerInspect(program);
registerDiff(program);
registerCapture(program);
registerReport(program);
registerAttach(program);
registerInit(program);

try {
  await program.parseAsync(process.argv);
} catch (error) {
  process.exitCode = exitCodeFor(error);
}

function exitCodeFor(error: unknown): number {
  if (error instanceof CommanderError) {
    // --help and --version end here with code 0; usage mistakes were already printed.
    return error.exitCode === 0 ? 0 : EXIT_BAD_INPUT;
  }
  process.stderr.write(`napi-heapdiff: ${oneLine(error)}\n`);
  return EXIT_BAD_INPUT;
}

function oneLine(error: unknown): string {
  if (error instanceof SnapshotFormatError || error instanceof UsageError) return error.message.split('\n')[0]!;
  const e = error as NodeJS.ErrnoException;
  if (e?.code && e.message) return e.message.split('\n')[0]!;
  return String((error as Error)?.message ?? error).split('\n')[0]!;
}
