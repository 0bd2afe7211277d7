import { constants, isUtf8 } from 'node:buffer';
import { GrowableU32 } from './growable-u32.js';
import { StringTable } from './string-table.js';

/** Builds the error for a fault at `index` of the current chunk. */
export type FaultAt = (fault: string, value: unknown, index: number) => Error;

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COMMA = 0x2c;
const CLOSE_BRACKET = 0x5d;
const NEWLINE = 0x0a;

/** Offsets are 32-bit, and all content is one Buffer. */
const MAX_CONTENT_BYTES = Math.min(constants.MAX_LENGTH, 0xffffffff);
const MIN_CAPACITY = 1 << 16;

function isSpace(c: number): boolean {
  return c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09;
}

/** Index of the next `c` in b[from, n), or n. */
function next(b: Uint8Array, c: number, from: number, n: number): number {
  const at = b.indexOf(c, from);
  return at === -1 ? n : at;
}

/**
 * Reads the elements of the `strings` array (after its "[") from chunks of
 * any size into a StringTable: each element's bytes between the quotes are
 * copied as they are, so a multi-byte character or an escape cut by a chunk
 * boundary needs no care. Every fault JSON.parse would find is found here, at
 * load: structure, raw control characters, invalid escapes (strings with a
 * backslash are decoded as they close).
 */
export class StringTableBuilder {
  private bytes: Buffer;
  private view: DataView;
  private used = 0;
  private readonly offsets: GrowableU32;
  private readonly decoded = new Map<number, string>();
  private inString = false;
  private escaped = false; // the previous byte was a backslash
  private expectValue = true; // after "[" or ",": a string (or "]" right after "[") must follow
  // Of the string being read.
  private hasEscape = false;
  private nonAscii = false;

  /** @param contentBound the most content bytes there can be (the rest of the file), when known. */
  constructor(private readonly fault: FaultAt, contentBound?: number) {
    this.bytes = this.allocate(Math.min(Math.max(contentBound ?? 0, MIN_CAPACITY), MAX_CONTENT_BYTES), 0);
    this.view = new DataView(this.bytes.buffer, this.bytes.byteOffset, this.bytes.length);
    // n strings take at least 3n - 1 bytes ("" and a comma each): a bound for the offsets too.
    this.offsets = new GrowableU32(1024, false, contentBound === undefined ? undefined : Math.floor((contentBound + 1) / 3) + 1);
    this.offsets.length = 1; // offsets[0] = 0
  }

  /**
   * Consumes b[i, n). Returns the index just after the closing "]", or -1
   * when the array goes on in the next chunk.
   */
  write(b: Uint8Array, i: number, n: number): number {
    const view = new DataView(b.buffer, b.byteOffset, b.byteLength);
    // The next quote and backslash, found by native searches and reused until
    // passed; backslashes are rare, so that search runs about once a chunk.
    let quote = -1;
    let slash = -1;
    while (i < n) {
      if (this.inString) {
        if (this.escaped) {
          // The escaped byte ("\"" included) is content; JSON.parse judges
          // the escape when the string closes.
          this.escaped = false;
          this.copy(b, view, i, i + 1);
          i++;
          continue;
        }
        if (quote < i) quote = next(b, QUOTE, i, n);
        if (slash < i) slash = next(b, BACKSLASH, i, n);
        if (slash < quote) {
          this.copy(b, view, i, slash + 1);
          this.escaped = true;
          this.hasEscape = true;
          i = slash + 1;
          continue;
        }
        this.copy(b, view, i, quote);
        if (quote === n) return -1;
        this.closeString(quote);
        i = quote + 1;
        // V8 separates elements with ",\n": straight into the next string.
        if (i + 2 < n && b[i] === COMMA && b[i + 1] === NEWLINE && b[i + 2] === QUOTE) {
          this.openString();
          i += 3;
          continue;
        }
        this.inString = false;
        continue;
      }
      const c = b[i]!;
      if (c === QUOTE) {
        if (!this.expectValue) throw this.fault('malformed "strings": missing ","', undefined, i);
        this.openString();
      } else if (c === COMMA) {
        if (this.expectValue) throw this.fault('malformed "strings": unexpected ","', undefined, i);
        this.expectValue = true;
      } else if (c === CLOSE_BRACKET) {
        if (this.expectValue && this.offsets.length > 1) throw this.fault('malformed "strings": "," before "]"', undefined, i);
        return i + 1;
      } else if (!isSpace(c)) {
        throw this.fault('"strings" must hold only strings', String.fromCharCode(c), i);
      }
      i++;
    }
    return -1;
  }

  private openString(): void {
    this.inString = true;
    this.expectValue = false;
    this.hasEscape = false;
    this.nonAscii = false;
  }

  /** The table, once write() has returned the end of the array. */
  finish(): StringTable {
    // A bound from the file size is tight when "strings" comes last, as V8
    // writes it; otherwise most of the buffer may be unused: give it back.
    const bytes = this.used * 2 < this.bytes.length ? Buffer.from(this.bytes.subarray(0, this.used)) : this.bytes.subarray(0, this.used);
    return new StringTable(bytes, this.offsets.toArray(), this.decoded);
  }

  /**
   * Appends b[i, end), which holds no quote and no unescaped backslash,
   * checking for raw control characters (JSON forbids them) and noting bytes
   * past ASCII. Four bytes at a time: subtracting 0x20 from every byte of the
   * word sets a byte's top bit when that byte is below 0x20 (a borrow only
   * follows such a byte, which flags the word anyway), and bytes from 0x80 up
   * have it set already.
   */
  private copy(b: Uint8Array, view: DataView, i: number, end: number): void {
    let used = this.used;
    if (used + (end - i) > this.bytes.length) this.grow(used + (end - i), i);
    const out = this.bytes;
    const outView = this.view;
    for (; i + 4 <= end; i += 4, used += 4) {
      const word = view.getUint32(i, true);
      if (((word - 0x20202020) | word) & 0x80808080) this.checkBytes(b, i, i + 4);
      outView.setUint32(used, word, true);
    }
    for (; i < end; i++) {
      const c = b[i]!;
      if ((c - 0x20) >>> 0 >= 0x60) this.checkBytes(b, i, i + 1); // c < 0x20 || c >= 0x80
      out[used++] = c;
    }
    this.used = used;
  }

  private checkBytes(b: Uint8Array, from: number, to: number): void {
    for (let i = from; i < to; i++) {
      const c = b[i]!;
      if (c < 0x20) throw this.fault('invalid string in "strings": raw control character', String.fromCharCode(c), i);
      if (c >= 0x80) this.nonAscii = true;
    }
  }

  private grow(needed: number, index: number): void {
    if (needed > MAX_CONTENT_BYTES) throw this.fault('"strings" holds more bytes than one buffer can', needed, index);
    const grown = this.allocate(Math.min(Math.max(needed, this.bytes.length * 2), MAX_CONTENT_BYTES), index);
    this.bytes.copy(grown, 0, 0, this.used);
    this.bytes = grown;
    this.view = new DataView(grown.buffer, grown.byteOffset, grown.length);
  }

  private allocate(size: number, index: number): Buffer {
    try {
      return Buffer.allocUnsafe(size);
    } catch {
      throw this.fault('cannot allocate memory for "strings"', size, index);
    }
  }

  /** Ends the string whose closing quote is at `index`; decodes it now if its bytes are not its UTF-8 text. */
  private closeString(index: number): void {
    const offsets = this.offsets;
    const string = offsets.length - 1;
    const start = offsets.array[string]!;
    const end = this.used;
    if (this.hasEscape) {
      this.decoded.set(string, this.decodeEscaped(start, end, index));
    } else if (this.nonAscii && !isUtf8(this.bytes.subarray(start, end))) {
      // Decoded like JSON.parse of the file's text: each bad sequence is U+FFFD.
      this.decoded.set(string, this.text(start, end, index));
    } else if (end - start > constants.MAX_STRING_LENGTH) {
      this.text(start, end, index); // may still fit when multi-byte: only decoding tells
    }
    if (offsets.length === offsets.array.length && !offsets.grow()) throw this.fault('"strings" has more strings than the file can hold', offsets.length, index);
    offsets.array[offsets.length++] = end;
  }

  private decodeEscaped(start: number, end: number, index: number): string {
    const text = this.text(start, end, index);
    try {
      return JSON.parse(`"${text}"`) as string;
    } catch (cause) {
      if (cause instanceof RangeError) throw this.tooLong(index);
      throw this.fault(`invalid string in "strings": ${(cause as Error).message}`, undefined, index);
    }
  }

  private text(start: number, end: number, index: number): string {
    try {
      return this.bytes.toString('utf8', start, end);
    } catch {
      throw this.tooLong(index);
    }
  }

  private tooLong(index: number): Error {
    return this.fault('a string in "strings" is too long to decode', undefined, index);
  }
}
