#!/usr/bin/env node
// Peak RSS of `napi-heapdiff attach` against the size of what it captures.
//
//   node bench/attach-rss.mjs [--mb 250] [--snapshots 2] [--no-full] [--keep]
//
// Starts a target node process holding about --mb MB of live JS objects
// (started with --inspect-port=0, so SIGUSR1 opens the inspector on a free
// port), then runs the built CLI under /usr/bin/time -v:
//   1. capture only: attach <pid> --snapshots k --no-analysis — the
//      streaming path alone (the snapshot goes chunk by chunk to disk);
//   2. full (unless --no-full): attach <pid> --snapshots k — capture, then
//      the diff analysis, which loads each snapshot (the loader's memory).
// Reports each snapshot's size, the CLI's peak RSS (/usr/bin/time's "Maximum
// resident set size") per run, and the target's heap and peak RSS. Results
// also go to bench/out/attach-rss-<date>.json. Needs dist/ built.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const MB = 1e6;

// ---------------------------------------------------------------------------
// Target mode: hold ~N MB of objects, print the heap size, then idle.
if (process.argv[2] === '--target') {
  const targetMb = Number(process.argv[3]);
  const held = [];
  // Users with a few fields, a string each and an array of small orders:
  // many nodes and edges per MB, like a real service heap.
  let i = 0;
  while (process.memoryUsage().heapUsed < targetMb * MB) {
    for (let k = 0; k < 10_000; k++, i++) {
      held.push({ id: i, name: `user-${i}`, score: i * 0.5, orders: [{ sku: i % 977, qty: 1 }, { sku: i % 131, qty: 2 }] });
    }
  }
  globalThis.benchHeld = held;
  global.gc?.();
  const { heapUsed } = process.memoryUsage();
  process.stdout.write(`${JSON.stringify({ ready: true, pid: process.pid, heapUsed, objects: i })}\n`);
  setInterval(() => {}, 60_000);
} else {
  await main();
}

async function main() {
  const args = process.argv.slice(2);
  const option = (name, fallback) => {
    const at = args.indexOf(name);
    return at >= 0 ? args[at + 1] : fallback;
  };
  const targetMb = Number(option('--mb', '250'));
  const snapshots = Number(option('--snapshots', '2'));
  const full = !args.includes('--no-full');
  const keep = args.includes('--keep');
  const root = fileURLToPath(new URL('..', import.meta.url));
  const cli = join(root, 'dist', 'cli', 'main.js');
  if (!existsSync(cli)) throw new Error('dist/ is not built: run npm run build');
  if (!existsSync('/usr/bin/time')) throw new Error('/usr/bin/time is needed (GNU time, for -v)');
  const scratch = mkdtempSync(join(tmpdir(), 'napi-heapdiff-attach-rss-'));

  process.stderr.write(`starting a target holding ~${targetMb} MB of objects\n`);
  const target = spawn(process.execPath, ['--inspect-port=0', '--expose-gc', '--max-old-space-size=8000', fileURLToPath(import.meta.url), '--target', String(targetMb)], { stdio: ['ignore', 'pipe', 'pipe'] });
  target.stderr.resume();
  const ready = await new Promise((resolve, reject) => {
    let text = '';
    target.stdout.on('data', (chunk) => {
      text += chunk;
      const line = text.split('\n').find((l) => l.startsWith('{'));
      if (line) resolve(JSON.parse(line));
    });
    target.once('exit', (code) => reject(new Error(`target exited (${code})`)));
  });
  process.stderr.write(`target ${ready.pid}: heapUsed ${(ready.heapUsed / MB).toFixed(0)} MB, ${ready.objects} users\n`);

  const runs = [];
  try {
    runs.push(runAttach('capture only (--no-analysis)', ['--no-analysis']));
    if (full) runs.push(runAttach('capture + analysis', []));
  } finally {
    const targetPeak = vmHwm(ready.pid);
    const alive = target.exitCode === null && target.signalCode === null;
    target.kill('SIGKILL');
    const result = {
      date: new Date().toISOString(),
      node: process.version,
      targetHeapUsed: ready.heapUsed,
      targetPeakRss: targetPeak,
      targetAliveAfterAttach: alive,
      runs,
    };
    const outDir = join(root, 'bench', 'out');
    mkdirSync(outDir, { recursive: true });
    const file = join(outDir, `attach-rss-${result.date.replace(/[:.]/g, '-')}.json`);
    writeFileSync(file, `${JSON.stringify(result, null, 2)}\n`);
    printTable(result);
    process.stderr.write(`results: ${file}\n`);
    if (!keep) rmSync(scratch, { recursive: true, force: true });
    else process.stderr.write(`snapshots kept in ${scratch}\n`);
  }

  function runAttach(name, extra) {
    const out = join(scratch, name.replace(/\W+/g, '-'));
    process.stderr.write(`${name}: attach ${ready.pid} --snapshots ${snapshots} --interval 0 ${extra.join(' ')}\n`);
    const t0 = Date.now();
    const r = spawnSync('/usr/bin/time', ['-v', process.execPath, cli, 'attach', String(ready.pid), '--snapshots', String(snapshots), '--interval', '0', '--out', out, ...extra], { encoding: 'utf8', maxBuffer: 64 << 20 });
    const seconds = (Date.now() - t0) / 1000;
    const peak = /Maximum resident set size \(kbytes\): (\d+)/.exec(r.stderr);
    const manifestPath = join(out, 'manifest.json');
    const manifest = existsSync(manifestPath) ? JSON.parse(readFileSync(manifestPath, 'utf8')) : undefined;
    const sizes = manifest?.snapshots.map((s) => s.bytes) ?? [];
    const run = {
      name,
      exitStatus: r.status,
      seconds,
      cliPeakRss: peak ? Number(peak[1]) * 1024 : null,
      snapshotBytes: sizes,
      snapshotWriteMs: manifest?.snapshots.map((s) => s.writeMs) ?? [],
      manifestEnded: manifest?.ended.how ?? null,
    };
    if (r.status !== 0 && r.status !== 1) process.stderr.write(r.stderr.split('\n').filter((l) => l.startsWith('napi-heapdiff')).join('\n') + '\n');
    if (!keep) for (const file of manifest?.snapshots ?? []) rmSync(join(out, file.file), { force: true });
    return run;
  }
}

/** Peak resident set size of a process (VmHWM), in bytes. */
function vmHwm(pid) {
  try {
    const match = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return match ? Number(match[1]) * 1024 : null;
  } catch {
    return null;
  }
}

function printTable(result) {
  const mb = (bytes) => (bytes === null ? '?' : `${(bytes / MB).toFixed(0)} MB`);
  const lines = [
    `target: heapUsed ${mb(result.targetHeapUsed)}, peak RSS ${mb(result.targetPeakRss)}, alive after attach: ${result.targetAliveAfterAttach} (node ${result.node})`,
    '',
    '| run | exit | snapshot size(s) | CLI peak RSS | peak RSS / largest snapshot | time |',
    '|---|---|---|---|---|---|',
  ];
  for (const run of result.runs) {
    const largest = Math.max(0, ...run.snapshotBytes);
    const ratio = run.cliPeakRss && largest ? `${((run.cliPeakRss / largest) * 100).toFixed(0)} %` : '?';
    lines.push(`| ${run.name} | ${run.exitStatus} | ${run.snapshotBytes.map(mb).join(', ')} | ${mb(run.cliPeakRss)} | ${ratio} | ${run.seconds.toFixed(1)} s |`);
  }
  process.stdout.write(`${lines.join('\n')}\n`);
}
