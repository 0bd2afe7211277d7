import { spawnSync } from 'node:child_process';
import { copyFileSync, cpSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const repoRoot = fileURLToPath(new URL('../../', import.meta.url));
export const cliPath = fileURLToPath(new URL('../../dist/cli/main.js', import.meta.url));

export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Runs the built CLI in a real child process. */
export function runCli(args: string[], options: { input?: string | Buffer; env?: NodeJS.ProcessEnv; cwd?: string; timeout?: number } = {}): CliResult {
  const result = spawnSync(process.execPath, [cliPath, ...args], {
    input: options.input,
    env: { ...process.env, NO_COLOR: '1', ...options.env },
    cwd: options.cwd ?? repoRoot,
    encoding: 'utf8',
    timeout: options.timeout ?? 120_000,
    maxBuffer: 64 << 20,
  });
  return { code: result.status, signal: result.signal, stdout: result.stdout, stderr: result.stderr };
}

/**
 * A private copy of the built CLI (dist/ and package.json, inside the
 * repository so node_modules resolve), checked to run `probeArgs`: a rebuild
 * of dist/ while tests run (another `npm test`) must not break a run half-way.
 */
export function copyBuiltCli(prefix: string, probeArgs: string[]): { cli: string; root: string } {
  const parent = join(repoRoot, '.napi-heapdiff');
  mkdirSync(parent, { recursive: true });
  const root = mkdtempSync(join(parent, `${prefix}-`));
  const cli = join(root, 'dist', 'cli', 'main.js');
  for (let attempt = 1; ; attempt++) {
    rmSync(join(root, 'dist'), { recursive: true, force: true });
    cpSync(join(repoRoot, 'dist'), join(root, 'dist'), { recursive: true });
    copyFileSync(join(repoRoot, 'package.json'), join(root, 'package.json'));
    const probe = spawnSync(process.execPath, [cli, ...probeArgs], { encoding: 'utf8' });
    if (probe.status === 0) return { cli, root };
    if (attempt === 5) throw new Error(`the built CLI does not run: ${probe.stderr.slice(0, 300)}`);
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 3000);
  }
}
