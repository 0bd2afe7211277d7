import { accessSync, constants, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { isVirtualFileSystem } from '../util/virtual-fs.js';
import { UsageError } from './usage-error.js';

/**
 * Checks, before any work starts, that a file named by an option can be
 * written: its folder exists, is a folder and is writable, and the path is
 * not a folder. Otherwise one line, exit 2, and nothing is written.
 */
export function checkOutputFile(path: string | undefined, flag: string): void {
  if (path === undefined) return;
  if (path === '') throw new UsageError(`${flag} needs a file name`);
  const absolute = resolve(path);
  const folder = dirname(absolute);
  let stats;
  try {
    stats = statSync(folder);
  } catch {
    throw new UsageError(`${flag} ${path}: the folder ${folder} does not exist`);
  }
  if (!stats.isDirectory()) throw new UsageError(`${flag} ${path}: ${folder} is not a folder`);
  checkWritable(folder, `${flag} ${path}`);
  try {
    if (statSync(absolute).isDirectory()) throw new UsageError(`${flag} ${path}: that is a folder; give a file name`);
  } catch (error) {
    if (error instanceof UsageError) throw error;
  }
}

/**
 * Checks that a folder named by an option exists or can be made: its nearest
 * existing ancestor is a writable folder on a real file system.
 */
export function checkOutputFolder(path: string | undefined, flag: string): void {
  if (path === undefined) return;
  if (path === '') throw new UsageError(`${flag} needs a folder name`);
  const absolute = resolve(path);
  for (let at = absolute; ; at = dirname(at)) {
    let stats;
    try {
      stats = statSync(at);
    } catch {
      if (dirname(at) !== at) continue;
      throw new UsageError(`${flag} ${path}: no existing folder above it`);
    }
    if (!stats.isDirectory()) throw new UsageError(at === absolute ? `${flag} ${path}: that is a file, not a folder` : `${flag} ${path}: ${at} is not a folder`);
    checkWritable(at, `${flag} ${path}`);
    return;
  }
}

function checkWritable(folder: string, what: string): void {
  if (isVirtualFileSystem(folder)) throw new UsageError(`${what}: ${folder} is a virtual file system (proc or sysfs); nothing can be written there`);
  try {
    accessSync(folder, constants.W_OK);
  } catch {
    throw new UsageError(`${what}: ${folder} is not writable`);
  }
}
