import { existsSync } from 'node:fs';
import { dirname, relative, resolve } from 'node:path';
import type { Command } from 'commander';
import { guessAddonPath, scenarioTemplate } from '../../testing/scenario-template.js';
import { writeFileAtomic } from '../../util/atomic-write.js';
import { checkOutputFile } from '../output-paths.js';
import { UsageError } from '../usage-error.js';

const DEFAULT_FILE = 'napi-leak-check.mjs';

export function registerInit(program: Command): void {
  program
    .command('init')
    .description(`write a scenario module to start from (default ${DEFAULT_FILE}): it loads your addon and calls it once per iteration`)
    .argument('[file]', 'where to write it', DEFAULT_FILE)
    .option('--addon <path>', 'the addon to load (default: the .node file in build/Release, or binding.gyp\'s target)')
    .option('--force', 'overwrite the file if it exists')
    .action((file: string, flags: { addon?: string; force?: boolean }) => {
      const path = resolve(file);
      if (!file.endsWith('.mjs')) throw new UsageError(`the scenario must be an ES module ending in .mjs (got ${file})`);
      checkOutputFile(file, 'init');
      if (existsSync(path) && !flags.force) throw new UsageError(`${file} exists; give another file name, or --force to overwrite it`);
      const addon = flags.addon ?? guessAddonPath(dirname(path));
      // A .node path is relative to the scenario; anything else is a package name, as require takes it.
      const spec = addon.endsWith('.node') && !/^[./]/.test(addon) ? `./${addon}` : addon;
      writeFileAtomic(path, scenarioTemplate(spec));
      const shown = relative(process.cwd(), path) || file;
      process.stdout.write(`wrote ${shown} (loads ${addon})\n`);
      process.stdout.write(`next: make iteration() call your addon, then run\n  npx napi-heapdiff capture --scenario ${shown} --iterations 200 --snapshots 3 --out .napi-heapdiff\n`);
    });
}
