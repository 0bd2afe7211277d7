import { spawn } from 'node:child_process';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';

/**
 * A snapshot this big is analysed in a process started again with
 * transparent huge pages for its heap-allocated arrays.
 *
 * Why: at a few GB the loader and the graph passes write and walk arrays far
 * larger than what the TLB covers with 4 kB pages. Every first touch of a page
 * is a fault (in a VM one that also faults in the host: 5–12 µs measured on a
 * 2-core cloud VM, 1.5 million of them for a 4 GB snapshot), and every random
 * access into them (the DFS, the retainer lists) is a TLB miss whose page walk
 * misses the caches too. With 2 MB pages both nearly vanish: on that VM a
 * 4.2 GB snapshot loaded with dominators in 27–31 s instead of 67–83 s, a
 * 760 MB one with ~25 % less CPU.
 *
 * How: Linux backs memory with huge pages where the program asks for them
 * (`transparent_hugepage/enabled` = madvise, the default of most
 * distributions), and Node cannot ask; glibc (2.35+) can on its behalf for
 * every large allocation, typed arrays' included, when GLIBC_TUNABLES says
 * glibc.malloc.hugetlb=1 — read once, at process start. So the CLI starts
 * itself again with it and waits: the waiting process is a bare node (its
 * memory is mostly the node binary's pages, shared with the child).
 * NAPI_HEAPDIFF_HUGE_PAGES=0 turns this off, =1 asks for it whatever the
 * size; library users can set the tunable themselves.
 */
export const HUGE_PAGES_MIN_BYTES = 256e6;

const ENV = 'NAPI_HEAPDIFF_HUGE_PAGES';
const TUNABLE = 'glibc.malloc.hugetlb=1';
/** Commands that load whole snapshots in this process. */
const ANALYSES = new Set(['inspect', 'diff']);

/**
 * Starts this command again with huge pages when it is worth it; resolves
 * true once that process has ended (its exit code is this one's), false when
 * the caller should run the command itself.
 */
export async function relaunchWithHugePages(argv: string[], env: NodeJS.ProcessEnv = process.env): Promise<boolean> {
  if (!wantsHugePages(argv, env)) return false;
  const tunables = env.GLIBC_TUNABLES ? `${env.GLIBC_TUNABLES}:${TUNABLE}` : TUNABLE;
  let child;
  try {
    child = spawn(process.execPath, [...process.execArgv, ...argv.slice(1)], { stdio: 'inherit', env: { ...env, GLIBC_TUNABLES: tunables, [ENV]: 'relaunched' } });
  } catch {
    return false;
  }
  // Signals for the command go to it; this process ends as it ends.
  const forward = (signal: NodeJS.Signals) => () => child.kill(signal);
  const handlers = (['SIGINT', 'SIGTERM', 'SIGHUP'] as const).map((signal) => [signal, forward(signal)] as const);
  for (const [signal, handler] of handlers) process.on(signal, handler);
  const started = await new Promise<boolean>((resolve) => {
    child.once('spawn', () => resolve(true));
    child.once('error', () => resolve(false));
  });
  if (!started) {
    for (const [signal, handler] of handlers) process.off(signal, handler);
    return false;
  }
  const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((resolve) => child.once('exit', (c, s) => resolve([c, s])));
  for (const [s, handler] of handlers) process.off(s, handler);
  if (signal) process.kill(process.pid, signal);
  process.exitCode = code ?? 1;
  return true;
}

/** Linux with huge pages on request, an analysis command, a snapshot of HUGE_PAGES_MIN_BYTES or more (or asked for), and not already set up or turned off. */
export function wantsHugePages(argv: string[], env: NodeJS.ProcessEnv = process.env): boolean {
  const asked = env[ENV];
  if (process.platform !== 'linux' || (asked !== undefined && asked !== '1') || env.GLIBC_TUNABLES?.includes('glibc.malloc.hugetlb')) return false;
  const args = argv.slice(2);
  const command = args.findIndex((a) => !a.startsWith('-'));
  if (command < 0 || !ANALYSES.has(args[command]!)) return false;
  if (asked !== '1' && largestSnapshot(args.slice(command + 1)) < HUGE_PAGES_MIN_BYTES) return false;
  let mode = '';
  try {
    mode = readFileSync('/sys/kernel/mm/transparent_hugepage/enabled', 'utf8');
  } catch {
    return false;
  }
  // "[always]": every process has them already; "[never]": nobody can.
  if (!mode.includes('[madvise]')) return false;
  // glibc reads the tunable; musl ignores it.
  const header = (process.report?.getReport() as { header?: { glibcVersionRuntime?: string } } | undefined)?.header;
  return header?.glibcVersionRuntime !== undefined;
}

/** Bytes of the largest snapshot among the arguments that name files or folders (gzip counted at 6× its size, about what it holds). */
function largestSnapshot(args: string[]): number {
  let largest = 0;
  const consider = (path: string, size: number) => {
    largest = Math.max(largest, path.endsWith('.gz') ? size * 6 : size);
  };
  for (const arg of args) {
    try {
      const stat = statSync(arg);
      if (stat.isFile()) consider(arg, stat.size);
      else if (stat.isDirectory()) {
        for (const name of readdirSync(arg)) {
          if (!/\.heapsnapshot(\.gz)?$/.test(name)) continue;
          const path = join(arg, name);
          consider(path, statSync(path).size);
        }
      }
    } catch {
      // Not a path (an option's value): nothing to weigh.
    }
  }
  return largest;
}
