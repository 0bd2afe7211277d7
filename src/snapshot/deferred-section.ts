import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { SnapshotFormatError } from './errors.js';

/**
 * A numeric section of a snapshot file that was checked at load (every value
 * well-formed, `count` of them) but not kept, and is read again from the file
 * when it is first asked for.
 *
 * Why: the `locations` of a big file (four words a closure: 5 MB at 127 MB,
 * some 170 MB at 4 GB) are read only by the analysis of closures, long after
 * the load and the dominators, whose peak they would otherwise raise. Files
 * that cannot be read twice (gzip, stdin) and small ones keep theirs.
 */
export interface DeferredSection {
  file: string;
  /** Name in the file, for messages. */
  name: string;
  /** The array's content: its first byte after "[" and its closing "]". */
  start: number;
  end: number;
  count: number;
  /** The file as it was loaded: a file changed since cannot be read again. */
  size: number;
  modifiedMs: number;
}

const BLOCK = 1 << 20;

/** `blockSize`: bytes read at a time (tests make it small). */
export function readDeferredSection(section: DeferredSection, blockSize = BLOCK): Uint32Array {
  const changed = (): SnapshotFormatError =>
    new SnapshotFormatError(section.file, `changed on disk since it was loaded (its "${section.name}" section is read when first needed): load it again`);
  let fd: number;
  try {
    fd = openSync(section.file, 'r');
  } catch (cause) {
    throw new SnapshotFormatError(section.file, `cannot read its "${section.name}" section again: ${(cause as NodeJS.ErrnoException).code ?? (cause as Error).message}`);
  }
  try {
    const stat = fstatSync(fd);
    if (stat.size !== section.size || stat.mtimeMs !== section.modifiedMs) throw changed();
    const values = new Uint32Array(section.count);
    const buffer = Buffer.allocUnsafe(blockSize);
    // Values written, the value being read, whether one is (it may run across blocks).
    const state = new Float64Array(3);
    for (let position = section.start; position < section.end; ) {
      const length = readSync(fd, buffer, 0, Math.min(blockSize, section.end - position), position);
      if (length <= 0) throw changed();
      position += length;
      parseBlock(buffer, length, values, state);
    }
    const count = state[0]! + state[2]!;
    if (count !== section.count) throw changed();
    if (state[2] === 1) values[count - 1] = state[1]!;
    return values;
  } finally {
    closeSync(fd);
  }
}

/**
 * The values of a block, going on with a value the block before cut. The
 * section was checked at load, so anything but a digit ends a value; a count
 * that differs at the end means the file is not the one loaded.
 */
function parseBlock(buffer: Uint8Array, length: number, values: Uint32Array, state: Float64Array): void {
  let written = state[0]!;
  let value = state[1]!;
  let inValue = state[2] === 1;
  for (let i = 0; i < length; i++) {
    const digit = buffer[i]! - 48;
    if (digit >>> 0 <= 9) {
      value = value * 10 + digit;
      inValue = true;
    } else if (inValue) {
      if (written < values.length) values[written] = value;
      written++;
      value = 0;
      inValue = false;
    }
  }
  state[0] = written;
  state[1] = value;
  state[2] = inValue ? 1 : 0;
}
