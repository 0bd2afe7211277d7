import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { cacheDir } from '../util/cache-dir.js';

/** A native helper ready to load, or the one-line reason it is not. */
export type NativeHelper = { path: string; unavailable?: undefined } | { path?: undefined; unavailable: string };

/** C sources shipped beside this module (src/native in the repository, dist/native in the package). */
const sourcePath = (name: string): string => fileURLToPath(new URL(`./${name}.c`, import.meta.url));

/** How each helper is built, and where it can run. */
const HELPERS: Record<string, { flags: string[]; libs: string[]; arch?: NodeJS.Architecture }> = {
  // A Node-API addon loaded with process.dlopen.
  'memory-probe': { flags: ['-O2'], libs: [] },
  // The LD_AUDIT library: frame pointers in its wrappers are what its unwinder starts from.
  'napi-ledger-audit': { flags: ['-O2', '-fno-omit-frame-pointer', '-std=gnu11', '-w'], libs: ['-ldl'], arch: 'x64' },
};

const built = new Map<string, NativeHelper>();

/**
 * Compiles one of the package's C helpers on first use with the system C
 * compiler (`$CC`, else `cc`, `gcc`, `clang`) into the per-user cache, keyed
 * by a hash of its source, the platform and the compiler: the next capture
 * finds it there. Linux with glibc only. The file appears atomically
 * (written under a temporary name, then renamed), so concurrent captures
 * never load half a library. Never throws: a missing compiler or a failed
 * build is returned as a one-line reason.
 */
export function compileNativeHelper(name: string, env: NodeJS.ProcessEnv = process.env): NativeHelper {
  const cached = built.get(name);
  if (cached) return cached;
  const helper = compile(name, env);
  built.set(name, helper);
  return helper;
}

function compile(name: string, env: NodeJS.ProcessEnv): NativeHelper {
  const helper = HELPERS[name];
  if (!helper) return { unavailable: `no native helper called ${name}` };
  if (process.platform !== 'linux') return { unavailable: `needs Linux (this is ${process.platform})` };
  if (helper.arch && process.arch !== helper.arch) return { unavailable: `needs ${helper.arch} (this is ${process.arch})` };
  const header = (process.report?.getReport() as { header?: { glibcVersionRuntime?: string } } | undefined)?.header;
  if (!header?.glibcVersionRuntime) return { unavailable: 'needs the GNU C library (glibc)' };
  let source: Buffer;
  try {
    source = readFileSync(sourcePath(name));
  } catch {
    return { unavailable: `${name}.c is missing from the installation` };
  }
  const compiler = findCompiler(env);
  if (!compiler) return { unavailable: 'no C compiler found (set CC, or install gcc or clang)' };
  const key = createHash('sha256').update(source).update(`\0${[...helper.flags, ...helper.libs].join(' ')}\0${process.arch}\0${header.glibcVersionRuntime}\0${compiler.version}`).digest('hex').slice(0, 16);
  const folder = join(cacheDir(env), 'native');
  const path = join(folder, `${name}-${key}.so`);
  // LD_AUDIT is a ':'-separated list: a path holding ':' cannot be named there.
  if (path.includes(':')) return { unavailable: `the cache path ${path} holds a ':' (set NAPI_HEAPDIFF_CACHE elsewhere)` };
  if (existsSync(path)) return { path };
  try {
    mkdirSync(folder, { recursive: true });
  } catch (error) {
    return { unavailable: `cannot create ${folder}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}` };
  }
  const temporary = join(folder, `.${name}-${key}.${process.pid}.tmp`);
  const result = spawnSync(compiler.command, ['-shared', '-fPIC', '-g', ...helper.flags, '-o', temporary, sourcePath(name), ...helper.libs], { encoding: 'utf8', timeout: 120_000 });
  if (result.status !== 0) {
    rmSync(temporary, { force: true });
    const reason = result.error ? result.error.message : (result.stderr.trim().split('\n').find((line) => /error/i.test(line)) ?? `exit code ${result.status}`);
    return { unavailable: `${compiler.command} could not build ${name}.c: ${reason}` };
  }
  renameSync(temporary, path);
  return { path };
}

function findCompiler(env: NodeJS.ProcessEnv): { command: string; version: string } | undefined {
  const candidates = env.CC ? [env.CC] : ['cc', 'gcc', 'clang'];
  for (const command of candidates) {
    const probe = spawnSync(command, ['--version'], { encoding: 'utf8', timeout: 10_000 });
    if (probe.status === 0) return { command, version: probe.stdout.split('\n')[0] ?? '' };
  }
  return undefined;
}
