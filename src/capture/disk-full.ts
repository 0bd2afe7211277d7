import { basename, dirname, join } from 'node:path';
import { finalNameOf } from '../util/atomic-write.js';

/** ENOSPC (or EDQUOT): the file system the capture writes to is full. */
export function isDiskFull(error: unknown): boolean {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  return code === 'ENOSPC' || code === 'EDQUOT';
}

/** The same, from an error message a child reported (it crossed the process boundary as text). */
export function mentionsDiskFull(text: string | undefined): boolean {
  return text !== undefined && /\b(ENOSPC|EDQUOT)\b|no space left on device|disk quota exceeded/i.test(text);
}

/**
 * The file a disk-full error was about, as the user knows it: a snapshot's
 * temporary name `.snapshot-2.heapsnapshot.123.tmp` becomes `snapshot-2.heapsnapshot`.
 */
export function diskFullTarget(errorOrMessage: NodeJS.ErrnoException | string, outDir: string): string {
  const path = typeof errorOrMessage === 'string' ? /'([^']+)'/.exec(errorOrMessage)?.[1] : errorOrMessage.path;
  if (!path) return outDir;
  return join(dirname(path), finalNameOf(basename(path)));
}

/** One line for a failed write: "no space left on device (ENOSPC)", or the error's code. */
export function writeFailure(error: unknown): string {
  const e = error as NodeJS.ErrnoException;
  return isDiskFull(e) ? `no space left on device (${e.code})` : (e.code ?? String(e.message).split('\n')[0]!);
}
