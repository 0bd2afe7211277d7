import { lastIndexAtOrBelow } from '../util/sorted.js';

/**
 * The snapshot's `strings` section, kept as the raw JSON content of each
 * element (UTF-8, escapes as written) packed back to back in one buffer.
 * Creating millions of JS strings at load time was most of the section's
 * load cost, and most of them are never looked at; a string is decoded when
 * asked for, and lookups compare bytes.
 *
 * Strings whose bytes do not equal their UTF-8 encoding (JSON escapes, bytes
 * that are not UTF-8) are rare; they were decoded once at load and are kept
 * apart, so byte comparisons skip them and their decoded text is compared
 * instead.
 */
export class StringTable {
  readonly length: number;

  /**
   * @param bytes every element's content, back to back
   * @param offsets string i is bytes[offsets[i], offsets[i + 1])
   * @param decoded the decoded text of each string whose bytes are not its UTF-8 encoding
   */
  constructor(
    private readonly bytes: Buffer,
    private readonly offsets: Uint32Array,
    private readonly decoded: ReadonlyMap<number, string>,
  ) {
    this.length = offsets.length - 1;
  }

  get(index: number): string {
    if (!Number.isInteger(index) || index < 0 || index >= this.length) throw new RangeError(`string index ${index} is out of range (${this.length} strings)`);
    return this.decoded.get(index) ?? this.bytes.toString('utf8', this.offsets[index], this.offsets[index + 1]);
  }

  /** The first index whose string is exactly `text`, or -1. */
  indexOf(text: string): number {
    return this.indicesOf(text)[0] ?? -1;
  }

  /** Every index whose string is exactly `text`, ascending. */
  indicesOf(text: string): number[] {
    const found: number[] = [];
    if (isWellFormed(text)) {
      // Lengths first: a linear pass over the offsets beats a byte search
      // for the short names looked up here (a short needle hits everywhere).
      const needle = Buffer.from(text, 'utf8');
      const { bytes, offsets, decoded } = this;
      const size = needle.length;
      for (let i = 0; i < this.length; i++) {
        const start = offsets[i]!;
        if (offsets[i + 1]! - start !== size) continue;
        let k = 0;
        while (k < size && bytes[start + k] === needle[k]) k++;
        if (k === size && !decoded.has(i)) found.push(i);
      }
    }
    return this.withDecoded(found, (s) => s === text);
  }

  /** Every index whose string contains `text`, ascending. */
  indicesContaining(text: string): number[] {
    if (text === '') return Array.from({ length: this.length }, (_, i) => i);
    const found: number[] = [];
    if (isWellFormed(text)) {
      // UTF-8 is self-synchronizing: a byte match of well-formed text inside
      // a well-formed string starts and ends on character boundaries.
      const needle = Buffer.from(text, 'utf8');
      const { bytes, offsets, decoded } = this;
      let from = 0;
      for (let at = bytes.indexOf(needle, from); at !== -1; at = bytes.indexOf(needle, from)) {
        const i = this.stringAt(at);
        const end = offsets[i + 1]!;
        if (at + needle.length > end) {
          from = at + 1; // the match runs into the next string
          continue;
        }
        if (!decoded.has(i)) found.push(i);
        from = end;
      }
    }
    return this.withDecoded(found, (s) => s.includes(text));
  }

  /** The string whose bytes include `position` (an empty string holds none). */
  private stringAt(position: number): number {
    return lastIndexAtOrBelow(this.offsets, this.length, position);
  }

  private withDecoded(found: number[], matches: (text: string) => boolean): number[] {
    const before = found.length;
    for (const [i, text] of this.decoded) if (matches(text)) found.push(i);
    return found.length === before ? found : found.sort((a, b) => a - b);
  }
}

/**
 * Text with a lone surrogate has no UTF-8 encoding (Buffer.from writes
 * U+FFFD): only an escaped string can equal it.
 */
function isWellFormed(text: string): boolean {
  return !/\p{Surrogate}/u.test(text);
}
