import { closeSync, fsyncSync, openSync, renameSync, rmSync, writeSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';

/**
 * The temporary sibling a file is written under before it is renamed into
 * place: `.<name>.<pid>.tmp`. Every writer of the package uses it (the agent,
 * which imports nothing, keeps its own copy), so leftovers of a process that
 * died half-way are recognised and removed by one rule ({@link isTemporaryName}).
 */
export function temporaryPathFor(path: string): string {
  return join(dirname(path), `.${basename(path)}.${process.pid}.tmp`);
}

const TEMPORARY_NAME = /^\.(.+)\.\d+\.tmp$/;

/** Whether a file name is a temporary of {@link temporaryPathFor}'s form. */
export function isTemporaryName(name: string): boolean {
  return TEMPORARY_NAME.test(name);
}

/** The final name a temporary stands for (`.snapshot-2.heapsnapshot.123.tmp` → `snapshot-2.heapsnapshot`); other names unchanged. */
export function finalNameOf(name: string): string {
  return name.replace(TEMPORARY_NAME, '$1');
}

/**
 * Writes a file so that readers only ever see the old content or the whole new
 * content: write a temporary sibling, fsync, rename over the target. A failure
 * part-way removes the temporary file and leaves nothing under the final name.
 */
export function writeFileAtomic(path: string, data: string | Uint8Array): void {
  const temporary = temporaryPathFor(path);
  let fd: number | undefined;
  try {
    fd = openSync(temporary, 'w');
    writeSync(fd, typeof data === 'string' ? Buffer.from(data) : data);
    fsyncSync(fd);
    closeSync(fd);
    fd = undefined;
    renameSync(temporary, path);
  } catch (cause) {
    if (fd !== undefined) closeSync(fd);
    rmSync(temporary, { force: true });
    // Named by the file asked for, not by the temporary the user never named; the code stays for callers.
    const code = (cause as NodeJS.ErrnoException).code;
    throw Object.assign(new Error(`cannot write ${path}: ${code ?? (cause as Error).message}`, { cause }), { code });
  }
}
