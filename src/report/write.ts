import { closeSync, fsyncSync, lstatSync, mkdirSync, openSync, renameSync, rmdirSync, rmSync, writeSync } from 'node:fs';
import { join, resolve } from 'node:path';

export interface ReportFile {
  /** A plain file name inside the report folder. */
  name: string;
  content: string;
}

/**
 * Writes a set of files into `dir` as one unit, as far as a file system
 * allows: every file is first written in full to a hidden temporary sibling
 * (`.<name>.<pid>.tmp`) and fsynced; only when all are written, and no final
 * name is taken by something other than a file, are they renamed into place.
 * A failure before that point removes the temporary files (and the folder,
 * if this call created it) and leaves nothing under a final name; readers
 * never see a half-written file. Returns the final paths.
 */
export function writeFilesAtomic(dir: string, files: readonly ReportFile[]): string[] {
  for (const file of files) {
    if (!/^[^/\\]+$/.test(file.name) || file.name === '.' || file.name === '..') throw new Error(`not a plain file name: ${JSON.stringify(file.name)}`);
  }
  const created = mkdirSync(dir, { recursive: true });
  const staged: Array<{ temporary: string; final: string }> = [];
  try {
    for (const file of files) {
      const temporary = join(dir, `.${file.name}.${process.pid}.tmp`);
      staged.push({ temporary, final: join(dir, file.name) });
      writeSynced(temporary, file.content);
    }
    for (const { final } of staged) {
      const stat = lstatSync(final, { throwIfNoEntry: false });
      if (stat && !stat.isFile()) throw new Error(`cannot write ${final}: something other than a file is in the way`);
    }
    for (const { temporary, final } of staged) renameSync(temporary, final);
  } catch (error) {
    for (const { temporary } of staged) rmSync(temporary, { force: true });
    if (created !== undefined) removeCreated(resolve(created), resolve(dir));
    throw error;
  }
  syncDirectory(dir);
  return staged.map((s) => s.final);
}

function writeSynced(path: string, content: string): void {
  const fd = openSync(path, 'w');
  try {
    writeSync(fd, Buffer.from(content, 'utf8'));
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** Removes the folders mkdir created (from the deepest up), if they are empty. */
function removeCreated(top: string, deepest: string): void {
  for (let dir = deepest; dir.length >= top.length; dir = resolve(dir, '..')) {
    try {
      rmdirSync(dir);
    } catch {
      return;
    }
    if (dir === top) return;
  }
}

function syncDirectory(dir: string): void {
  let fd: number | undefined;
  try {
    fd = openSync(dir, 'r');
    fsyncSync(fd);
  } catch {
    // Not every platform can fsync a directory; the files themselves are synced.
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}
