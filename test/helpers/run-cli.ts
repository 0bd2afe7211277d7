import { spawnSync } from 'node:child_process';
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
