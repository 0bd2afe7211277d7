import { describe, expect, it } from 'vitest';
import { SnapshotFormatError } from '../../src/snapshot/errors.js';
import { parseSnapshotBytes } from '../../src/snapshot/load.js';
import type { StringTable } from '../../src/snapshot/string-table.js';
import { SnapshotBuilder } from '../helpers/snapshot-builder.js';
import { allStrings } from '../helpers/strings.js';

/**
 * A valid snapshot (one root, named by string 0 = "") whose `strings` section
 * holds exactly these elements after "", as written: JSON text or raw bytes.
 */
function withStrings(elements: Array<string | Buffer>): Buffer {
  const text = new SnapshotBuilder().toJSON();
  const at = text.indexOf('"strings":[');
  const parts = elements.flatMap((e) => [Buffer.from(',\n'), typeof e === 'string' ? Buffer.from(e, 'utf8') : e]);
  return Buffer.concat([Buffer.from(text.slice(0, at)), Buffer.from('"strings":[""'), ...parts, Buffer.from(']}')]);
}

function load(bytes: Buffer, chunkSize?: number): StringTable {
  return parseSnapshotBytes(bytes, 'strings', chunkSize).strings;
}

// Element text in the file -> the string it stands for. Index i + 1 in the table.
const CASES: Array<[string | Buffer, string]> = [
  ['"plain"', 'plain'],
  ['""', ''],
  ['"a\\nb"', 'a\nb'],
  ['"say \\"hi\\""', 'say "hi"'],
  ['"back\\\\slash"', 'back\\slash'],
  ['"caf\\u00e9"', 'café'],
  ['"\\ud83d\\ude00 pair"', '\u{1F600} pair'],
  ['"lone \\ud800"', 'lone \ud800'],
  ['"all \\/\\b\\f\\r\\t escapes"', 'all /\b\f\r\t escapes'],
  ['"raw café 日本語 \u{1F600}"', 'raw café 日本語 \u{1F600}'],
  ['"café"', 'café'],
  [Buffer.from([0x22, 0x61, 0xff, 0x62, 0xe2, 0x82, 0x22]), 'a\ufffdb\ufffd'],
  ['"lone \ufffd"', 'lone \ufffd'],
  ['"part of key (Map @1) -> value (Object @2) pair in WeakMap (table @37)"', 'part of key (Map @1) -> value (Object @2) pair in WeakMap (table @37)'],
  ['"abc"', 'abc'],
  ['"def"', 'def'],
  ['"plain"', 'plain'],
];
const FILE = withStrings(CASES.map(([element]) => element));
const EXPECTED = ['', ...CASES.map(([, s]) => s)];

describe('StringTable', () => {
  it('decodes escapes, surrogates, raw UTF-8, bytes that are not UTF-8 and empty strings exactly', () => {
    const table = load(FILE);
    expect(table.length).toBe(18);
    expect(allStrings(table)).toEqual(EXPECTED);
    // The same as JSON.parse of the file's text.
    expect(allStrings(table)).toEqual(JSON.parse(FILE.toString('utf8')).strings);
  });

  it('gives the same strings whatever the chunk size, so every element is cut at every byte somewhere', () => {
    for (let chunkSize = 1; chunkSize <= 64; chunkSize++) {
      expect(allStrings(load(FILE, chunkSize))).toEqual(EXPECTED);
    }
  });

  it('grows past its first buffer: long strings, whatever the chunk size', () => {
    const long = ['x'.repeat(100_000), 'é'.repeat(50_000), `${'"\\\n'.repeat(20_000)}end`];
    const bytes = withStrings(long.map((s) => JSON.stringify(s)));
    for (const chunkSize of [7, 4096, 1 << 20]) {
      const table = load(bytes, chunkSize);
      expect(allStrings(table)).toEqual(['', ...long]);
      expect(table.indexOf(long[1]!)).toBe(2);
    }
  });

  it('get() rejects an index outside the table', () => {
    const table = load(FILE);
    expect(() => table.get(18)).toThrow(RangeError);
    expect(() => table.get(-1)).toThrow(RangeError);
    expect(() => table.get(1.5)).toThrow(RangeError);
  });

  it('indexOf and indicesOf find exact matches, escaped or not', () => {
    const table = load(FILE);
    expect(table.indexOf('')).toBe(0);
    expect(table.indexOf('plain')).toBe(1);
    expect(table.indicesOf('plain')).toEqual([1, 17]);
    expect(table.indexOf('a\nb')).toBe(3);
    expect(table.indexOf('say "hi"')).toBe(4);
    expect(table.indexOf('back\\slash')).toBe(5);
    // Escaped in one element, raw UTF-8 in another.
    expect(table.indicesOf('café')).toEqual([6, 11]);
    expect(table.indexOf('\u{1F600} pair')).toBe(7);
    expect(table.indexOf('raw café 日本語 \u{1F600}')).toBe(10);
    expect(table.indexOf('a\ufffdb\ufffd')).toBe(12);
    // A lone surrogate is not U+FFFD, and the other way round.
    expect(table.indicesOf('lone \ud800')).toEqual([8]);
    expect(table.indicesOf('lone \ufffd')).toEqual([13]);
    // The raw bytes of an escaped string are not its text.
    expect(table.indexOf('a\\nb')).toBe(-1);
    expect(table.indexOf('caf\\u00e9')).toBe(-1);
    expect(table.indexOf('missing')).toBe(-1);
    expect(table.indexOf('plai')).toBe(-1);
    expect(table.indexOf('abcdef')).toBe(-1);
  });

  it('indicesContaining finds substrings within one string, escaped or not', () => {
    const table = load(FILE);
    expect(table.indicesContaining('pair in WeakMap (table @')).toEqual([14]);
    expect(table.indicesContaining('pair')).toEqual([7, 14]);
    expect(table.indicesContaining('café')).toEqual([6, 10, 11]);
    expect(table.indicesContaining('\u{1F600}')).toEqual([7, 10]);
    expect(table.indicesContaining('\n')).toEqual([3]);
    expect(table.indicesContaining('\\')).toEqual([5]);
    expect(table.indicesContaining('"')).toEqual([4]);
    expect(table.indicesContaining('\ud800')).toEqual([8]);
    expect(table.indicesContaining('\ufffd')).toEqual([12, 13]);
    expect(table.indicesContaining('lai')).toEqual([1, 17]);
    // Not across two strings ("abc" then "def").
    expect(table.indicesContaining('cd')).toEqual([]);
    expect(table.indicesContaining('')).toEqual(EXPECTED.map((_, i) => i));
  });

  it('rejects at load what JSON.parse rejects, for every chunk size', () => {
    const broken: Array<[Array<string | Buffer>, RegExp]> = [
      [['"a\u0001b"'], /invalid string in "strings": raw control character \(value "\\u0001"\) at byte \d+/],
      [['"a\tb"'], /raw control character/],
      [['"a\nb"'], /raw control character/],
      [['"\u0000"'], /raw control character/],
      [['"0123456\u001f89"'], /raw control character/],
      [['"bad \\x escape"'], /invalid string in "strings": Bad escaped character/],
      [['"short \\u12"'], /invalid string in "strings"/],
      [['"\\'], /truncated: the file ended inside the "strings" array/],
      [['"a" "b"'], /malformed "strings": missing ","/],
      [['"a",'], /malformed "strings": "," before "]"/],
      [[',"a"'], /malformed "strings": unexpected ","/],
      [['1'], /"strings" must hold only strings/],
    ];
    for (const [elements, fault] of broken) {
      // A "]}" after the last element closes the file; the truncated case
      // swallows it as escaped content.
      const bytes = withStrings(elements);
      for (const chunkSize of [1, 2, 3, 5, 64, 1 << 20]) {
        let error: unknown;
        try {
          load(bytes, chunkSize);
        } catch (e) {
          error = e;
        }
        expect(error, `${JSON.stringify(elements)} in chunks of ${chunkSize}`).toBeInstanceOf(SnapshotFormatError);
        expect((error as Error).message).toMatch(fault);
      }
    }
  });

  it('a control character is found at every offset of a long string', () => {
    for (let at = 0; at < 12; at++) {
      const element = `"${'x'.repeat(at)}\u0002${'y'.repeat(11 - at)}"`;
      expect(() => load(withStrings([element]))).toThrow(/raw control character \(value "\\u0002"\)/);
    }
  });
});
