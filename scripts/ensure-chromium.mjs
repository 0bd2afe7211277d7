#!/usr/bin/env node
// The report tests open report.html in Debian's Chromium (/usr/bin/chromium,
// driven by playwright-core). `npm test` runs this first: on a fresh machine
// of this project's kind (Debian, root, apt reachable) it installs the
// package; elsewhere it says in one line what is missing.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';

const CHROMIUM = '/usr/bin/chromium';
if (!existsSync(CHROMIUM)) {
  if (process.getuid?.() !== 0 || !existsSync('/usr/bin/apt-get')) {
    process.stderr.write(`ensure-chromium: ${CHROMIUM} is missing; install Debian's chromium package (apt-get install -y chromium) to run the report tests\n`);
    process.exit(1);
  }
  process.stderr.write('ensure-chromium: installing Debian chromium for the report tests (apt-get)\n');
  for (const args of [['update'], ['install', '-y', '--no-install-recommends', 'chromium']]) {
    const run = spawnSync('apt-get', args, { stdio: ['ignore', 'ignore', 'inherit'], env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
    if (run.status !== 0) {
      process.stderr.write(`ensure-chromium: apt-get ${args.join(' ')} failed (exit ${run.status})\n`);
      process.exit(1);
    }
  }
}
