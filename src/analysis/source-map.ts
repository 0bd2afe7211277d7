/**
 * Source Map v3 (ECMA-426) resolution of generated JavaScript positions to
 * original ones, without dependencies.
 *
 * Positions in and out are 1-based, line and column, like V8 stack frames
 * ("fn (file:///x.js:15:11)") and the tool's `formatLocation` (which adds 1 to
 * the 0-based line and column of the snapshot's `locations`). Source maps are
 * 0-based internally; the conversion happens only here.
 *
 * A script's map is found only through the `//# sourceMappingURL=` annotation
 * at its end (an inline `data:` URL, or a path / file URL relative to the
 * script); no `.map` file is guessed. Everything is cached per script,
 * including "this script has no (usable) map". Nothing here throws on bad
 * input: a missing file, a broken map or a position without a mapping gives
 * `undefined`.
 */
import { readFileSync, statSync } from 'node:fs';
import { isAbsolute, resolve as resolvePath } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

export interface OriginalPosition {
  /** Absolute path for local sources; other source URLs (webpack://…) as written in the map. */
  file: string;
  /** 1-based. */
  line: number;
  /** 1-based. */
  column: number;
  /** From the map's `names`, when the segment has one (the name at that position, not the enclosing function). */
  name?: string;
}

export interface ResolvedText {
  /** The text with its generated location replaced by the original one. */
  original: string;
  /** The text as given. */
  generated: string;
  /** The original position the location maps to. */
  position: OriginalPosition;
}

export interface SourceMapResolverOptions {
  /**
   * Reads a file (script or map) given its path; undefined when it cannot.
   * Default: fs.readFileSync as UTF-8, undefined on any error, for anything
   * but a regular file, or for files larger than MAX_FILE_BYTES.
   */
  readFile?: (path: string) => string | undefined;
}

/** Files (scripts and maps) larger than this are not read; texts longer than this are ignored. */
export const MAX_FILE_BYTES = 64 * 1024 * 1024;

/** Index maps nested deeper than this (the spec allows none) are refused. */
const MAX_SECTION_DEPTH = 4;

export class SourceMapResolver {
  private readonly readFile: (path: string) => string | undefined;
  /** Per script as given: its map, or null when it has none (or an unusable one). */
  private readonly maps = new Map<string, SourceMapNode | null>();

  constructor(options: SourceMapResolverOptions = {}) {
    this.readFile = options.readFile ?? defaultReadFile;
  }

  /**
   * The original position of a generated one. `script` is a path or a
   * `file://` URL (other schemes such as `node:` have no map); `line` and
   * `column` are 1-based, as in stack frames and `formatLocation`. The
   * mapping used is the one with the greatest generated column ≤ `column` on
   * that line; none (or one without a source) gives undefined.
   */
  resolve(script: string, line: number, column: number): OriginalPosition | undefined {
    if (!Number.isSafeInteger(line) || !Number.isSafeInteger(column) || line < 1 || column < 1) return undefined;
    try {
      return this.mapOf(script)?.lookup(line - 1, column - 1);
    } catch {
      return undefined;
    }
  }

  /**
   * Rewrites one location or stack frame: "script:line:column",
   * "fn (script:line:column)", "at fn (script:line:column)",
   * "fn script:line:column" (the function name may have spaces, the path too).
   * Undefined when the text has no such location or it does not map. One
   * frame per call: split a whole stack into lines first.
   */
  resolveText(text: string): ResolvedText | undefined {
    try {
      return this.resolveTextUnsafe(text);
    } catch {
      return undefined;
    }
  }

  /** Forgets every cached script and map (e.g. after a rebuild). */
  clear(): void {
    this.maps.clear();
  }

  private resolveTextUnsafe(text: string): ResolvedText | undefined {
    const where = locationSpan(text);
    if (!where) return undefined;
    const { end, candidates } = where;
    for (const candidate of candidates) {
      const script = text.slice(candidate, end.script);
      const position = this.resolve(script, end.line, end.column);
      if (position) {
        const file = script.startsWith('file:') && isAbsolute(position.file) ? pathToFileURL(position.file).href : position.file;
        const original = `${text.slice(0, candidate)}${file}:${position.line}:${position.column}${text.slice(end.end)}`;
        return { original, generated: text, position };
      }
    }
    return undefined;
  }

  private mapOf(script: string): SourceMapNode | undefined {
    let map = this.maps.get(script);
    if (map === undefined) {
      map = this.loadMap(script) ?? null;
      this.maps.set(script, map);
    }
    return map ?? undefined;
  }

  private loadMap(script: string): SourceMapNode | undefined {
    const scriptPath = toLocalPath(script);
    if (scriptPath === undefined) return undefined;
    const code = this.read(scriptPath);
    if (code === undefined) return undefined;
    const url = sourceMappingURL(code);
    if (url === undefined) return undefined;
    const scriptURL = pathToFileURL(resolvePath(scriptPath));
    let json: string | undefined;
    let base: URL;
    if (/^data:/i.test(url)) {
      json = decodeDataURL(url);
      base = scriptURL;
    } else {
      let mapURL: URL;
      try {
        mapURL = new URL(url, scriptURL);
      } catch {
        return undefined;
      }
      if (mapURL.protocol !== 'file:') return undefined;
      let mapPath: string;
      try {
        mapPath = fileURLToPath(mapURL);
      } catch {
        return undefined;
      }
      json = this.read(mapPath);
      base = mapURL;
    }
    if (json === undefined) return undefined;
    let parsed: unknown;
    try {
      // A map may start with an XSSI guard line: ")]}'".
      parsed = JSON.parse(json.startsWith(")]}'") ? json.slice(json.indexOf('\n') + 1) : json);
    } catch {
      return undefined;
    }
    return buildMap(parsed, base, 0);
  }

  private read(path: string): string | undefined {
    let text: string | undefined;
    try {
      text = this.readFile(path);
    } catch {
      return undefined;
    }
    return typeof text === 'string' && text.length <= MAX_FILE_BYTES ? text : undefined;
  }
}

function defaultReadFile(path: string): string | undefined {
  try {
    const stat = statSync(path);
    if (!stat.isFile() || stat.size > MAX_FILE_BYTES) return undefined;
    return readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
}

// ---------------------------------------------------------------------------
// Locations in text

interface LocationSpan {
  end: { script: number; line: number; column: number; end: number };
  /** Where the script may start, most likely first. */
  candidates: number[];
}

/**
 * Finds "script:line:column" at the end of a frame, or inside its final
 * parentheses. Inside parentheses the script is everything up to ":line";
 * without them the function name (if any) is separated by a space, and since
 * paths may hold spaces too, every start after a space is a candidate,
 * longest first.
 */
function locationSpan(text: string): LocationSpan | undefined {
  let stop = text.length;
  while (stop > 0 && isSpace(text.charCodeAt(stop - 1))) stop--;
  let begin = 0;
  let parenthesised = false;
  if (text.charCodeAt(stop - 1) === 0x29 /* ) */) {
    // The "(" that balances the final ")".
    let depth = 0;
    let open = -1;
    for (let i = stop - 1; i >= 0; i--) {
      const c = text.charCodeAt(i);
      if (c === 0x29) depth++;
      else if (c === 0x28 && --depth === 0) {
        open = i;
        break;
      }
    }
    if (open < 0) return undefined;
    begin = open + 1;
    stop -= 1;
    parenthesised = true;
  }
  const match = /:(\d+):(\d+)$/.exec(text.slice(begin, stop));
  if (!match) return undefined;
  const scriptEnd = begin + match.index;
  const line = Number(match[1]);
  const column = Number(match[2]);
  if (parenthesised) {
    return scriptEnd > begin ? { end: { script: scriptEnd, line, column, end: stop }, candidates: [begin] } : undefined;
  }
  while (begin < scriptEnd && isSpace(text.charCodeAt(begin))) begin++;
  if (text.startsWith('at ', begin)) begin += 3;
  const candidates = [begin];
  for (let i = begin; i < scriptEnd; i++) if (text.charCodeAt(i) === 0x20 && i + 1 < scriptEnd) candidates.push(i + 1);
  return scriptEnd > begin ? { end: { script: scriptEnd, line, column, end: stop }, candidates } : undefined;
}

function isSpace(c: number): boolean {
  return c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d;
}

// ---------------------------------------------------------------------------
// Finding and reading the map

/**
 * The URL of the last `//# sourceMappingURL=` (or legacy `//@`, or the
 * `/*# … *\/` form) annotation, which must be on the last non-blank line or
 * be followed only by blank and comment lines.
 */
export function sourceMappingURL(code: string): string | undefined {
  let end = code.length;
  while (end > 0) {
    const start = code.lastIndexOf('\n', end - 1) + 1;
    // Inline maps make this line long; only its tail is looked at with a regex.
    const line = code.slice(start, end).trim();
    end = start - 1;
    if (line === '') continue;
    const match = /\/\/[#@][ \t]*sourceMappingURL=([^\s'"`]+)$/.exec(line) ?? /\/\*[#@][ \t]*sourceMappingURL=([^\s'"`*]+)[ \t]*\*\/$/.exec(line);
    if (match) return match[1];
    if (line.startsWith('//') || (line.startsWith('/*') && line.endsWith('*/'))) continue;
    return undefined;
  }
  return undefined;
}

/** The text of a `data:` URL (base64 or percent-encoded), whatever its media type. */
function decodeDataURL(url: string): string | undefined {
  const comma = url.indexOf(',');
  if (comma < 0) return undefined;
  const meta = url.slice(5, comma).toLowerCase();
  const data = url.slice(comma + 1);
  try {
    if (meta.split(';').includes('base64')) {
      // Buffer.from skips characters outside the alphabet; refuse them instead.
      const compact = data.replace(/%3d/gi, '=');
      if (!/^[A-Za-z0-9+/_-]*={0,2}$/.test(compact)) return undefined;
      return Buffer.from(compact, 'base64').toString('utf8');
    }
    return decodeURIComponent(data);
  } catch {
    return undefined;
  }
}

/** A local path for a script name: a path as is, a file URL converted; other URLs (node:, http:) have none. */
function toLocalPath(script: string): string | undefined {
  if (script === '') return undefined;
  if (/^file:/i.test(script)) {
    try {
      return fileURLToPath(script);
    } catch {
      return undefined;
    }
  }
  // A scheme of two letters or more (a single one is a Windows drive).
  if (/^[a-z][a-z0-9+.-]+:/i.test(script)) return undefined;
  return script;
}

// ---------------------------------------------------------------------------
// Maps

interface SourceMapNode {
  /** 0-based line and column in; OriginalPosition (1-based) out. */
  lookup(line: number, column: number): OriginalPosition | undefined;
}

function buildMap(json: unknown, base: URL, depth: number): SourceMapNode | undefined {
  if (typeof json !== 'object' || json === null) return undefined;
  const map = json as Record<string, unknown>;
  if (Number(map.version) !== 3) return undefined;
  if (Array.isArray(map.sections)) return depth < MAX_SECTION_DEPTH ? IndexMap.build(map.sections, base, depth) : undefined;
  if (typeof map.mappings !== 'string' || !Array.isArray(map.sources)) return undefined;
  const sourceRoot = typeof map.sourceRoot === 'string' ? map.sourceRoot : '';
  const sources = map.sources.map((s) => (typeof s === 'string' ? resolveSource(s, sourceRoot, base) : undefined));
  const names = Array.isArray(map.names) ? map.names.map((n) => (typeof n === 'string' ? n : undefined)) : [];
  return new BasicMap(map.mappings, sources, names);
}

/**
 * ECMA-426 "resolving sources": sourceRoot (with a "/" added when it lacks
 * one) is prefixed, then the result is resolved against the map's URL. Local
 * results become absolute paths; a source that already is a URL with another
 * scheme (webpack://…) is kept as written, readable.
 */
function resolveSource(source: string, sourceRoot: string, base: URL): string {
  let url = source;
  if (sourceRoot !== '' && !/^[a-z][a-z0-9+.-]+:/i.test(source)) url = sourceRoot.endsWith('/') ? sourceRoot + source : `${sourceRoot}/${source}`;
  if (/^[a-z][a-z0-9+.-]+:/i.test(url) && !/^file:/i.test(url)) return url;
  try {
    const resolved = new URL(url, base);
    return resolved.protocol === 'file:' ? fileURLToPath(resolved) : resolved.href;
  } catch {
    return url;
  }
}

/** Fields of a segment in BasicMap.segments. */
const GEN_COLUMN = 0;
const SOURCE = 1;
const ORIG_LINE = 2;
const ORIG_COLUMN = 3;
const NAME = 4;
const STRIDE = 5;

/** A regular map; its mappings are decoded on the first lookup, into one Int32Array. */
class BasicMap implements SourceMapNode {
  /** STRIDE values a segment; SOURCE and NAME are -1 when absent. Null: not decoded yet; undefined: undecodable. */
  private segments: Int32Array | null | undefined = null;
  /** Segments of line L are [lineStarts[L], lineStarts[L + 1]). */
  private lineStarts: Uint32Array | undefined;

  constructor(
    private mappings: string,
    private readonly sources: ReadonlyArray<string | undefined>,
    private readonly names: ReadonlyArray<string | undefined>,
  ) {}

  lookup(line: number, column: number): OriginalPosition | undefined {
    if (this.segments === null) this.decode();
    const segments = this.segments;
    const lineStarts = this.lineStarts;
    if (!segments || !lineStarts || line + 1 >= lineStarts.length) return undefined;
    let low = lineStarts[line]!;
    let high = lineStarts[line + 1]! - 1;
    // Greatest lower bound: the last segment whose column ≤ `column`...
    let found = -1;
    while (low <= high) {
      const mid = (low + high) >>> 1;
      if (segments[mid * STRIDE + GEN_COLUMN]! <= column) {
        found = mid;
        low = mid + 1;
      } else high = mid - 1;
    }
    if (found < 0) return undefined;
    // ...the first of several at that same column.
    const at = segments[found * STRIDE + GEN_COLUMN]!;
    while (found > lineStarts[line]! && segments[(found - 1) * STRIDE + GEN_COLUMN] === at) found--;
    const base = found * STRIDE;
    const source = segments[base + SOURCE]!;
    const file = source >= 0 ? this.sources[source] : undefined;
    if (file === undefined) return undefined;
    const position: OriginalPosition = { file, line: segments[base + ORIG_LINE]! + 1, column: segments[base + ORIG_COLUMN]! + 1 };
    const nameIndex = segments[base + NAME]!;
    const name = nameIndex >= 0 ? this.names[nameIndex] : undefined;
    if (name !== undefined) position.name = name;
    return position;
  }

  private decode(): void {
    const decoded = decodeMappings(this.mappings, this.sources.length, this.names.length);
    this.mappings = '';
    if (!decoded) {
      this.segments = undefined;
      return;
    }
    this.segments = decoded.segments;
    this.lineStarts = decoded.lineStarts;
  }
}

/** Base64 digit values by char code, -1 outside the alphabet. */
const BASE64 = new Int8Array(128).fill(-1);
for (let i = 0; i < 64; i++) BASE64['ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/'.charCodeAt(i)] = i;

/**
 * Decodes a `mappings` string: lines separated by ";", segments by ",", each
 * of 1, 4 or 5 base64 VLQ fields (the generated column relative to the
 * previous segment of the line, the others relative to the previous segment
 * of the whole map). Undefined for any fault: a character outside the
 * alphabet, an unterminated or oversized value, 2 or 3 fields, a negative
 * position, a source or name index out of range. Segments of a line are
 * sorted by generated column when the map did not write them so.
 */
export function decodeMappings(
  mappings: string,
  sourceCount: number,
  nameCount: number,
): { segments: Int32Array; lineStarts: Uint32Array } | undefined {
  const length = mappings.length;
  let lines = 1;
  let separators = 0;
  for (let i = 0; i < length; i++) {
    const c = mappings.charCodeAt(i);
    if (c === 0x3b /* ; */) {
      lines++;
      separators++;
    } else if (c === 0x2c /* , */) separators++;
  }
  // At most one segment per separator, plus one.
  const segments = new Int32Array((separators + 1) * STRIDE);
  const lineStarts = new Uint32Array(lines + 1);
  let count = 0;
  let line = 0;
  let source = 0;
  let origLine = 0;
  let origColumn = 0;
  let name = 0;
  let column = 0;
  let sorted = true;
  const fields = [0, 0, 0, 0, 0];
  let i = 0;
  while (i <= length) {
    const c = i < length ? mappings.charCodeAt(i) : 0x3b;
    if (c === 0x3b) {
      line++;
      lineStarts[line] = count;
      column = 0;
      i++;
      continue;
    }
    if (c === 0x2c) {
      i++; // an empty segment is skipped
      continue;
    }
    // One segment: up to 5 VLQ values.
    let n = 0;
    while (i < length) {
      const d = mappings.charCodeAt(i);
      if (d === 0x2c || d === 0x3b) break;
      if (n === 5) return undefined;
      let value = 0;
      let shift = 0;
      let digit: number;
      do {
        if (i >= length) return undefined;
        const code = mappings.charCodeAt(i++);
        digit = code < 128 ? BASE64[code]! : -1;
        if (digit < 0 || shift > 30) return undefined;
        value += (digit & 31) * 2 ** shift;
        shift += 5;
      } while (digit & 32);
      // The lowest bit is the sign; values must fit an int32.
      const magnitude = Math.floor(value / 2);
      if (magnitude > 0x7fffffff) return undefined;
      fields[n++] = value % 2 === 1 ? -magnitude : magnitude;
    }
    if (n !== 1 && n !== 4 && n !== 5) return undefined;
    column += fields[0]!;
    if (column < 0 || column > 0x7fffffff) return undefined;
    const base = count * STRIDE;
    if (count > lineStarts[line]! && column < segments[base - STRIDE + GEN_COLUMN]!) sorted = false;
    segments[base + GEN_COLUMN] = column;
    segments[base + SOURCE] = -1;
    segments[base + NAME] = -1;
    if (n >= 4) {
      source += fields[1]!;
      origLine += fields[2]!;
      origColumn += fields[3]!;
      if (source < 0 || source >= sourceCount || origLine < 0 || origLine > 0x7fffffff || origColumn < 0 || origColumn > 0x7fffffff) return undefined;
      segments[base + SOURCE] = source;
      segments[base + ORIG_LINE] = origLine;
      segments[base + ORIG_COLUMN] = origColumn;
      if (n === 5) {
        name += fields[4]!;
        if (name < 0 || name >= nameCount) return undefined;
        segments[base + NAME] = name;
      }
    }
    count++;
  }
  const used = segments.subarray(0, count * STRIDE);
  if (!sorted) sortLines(used, lineStarts);
  return { segments: used, lineStarts };
}

/** Stable sort of each line's segments by generated column (only lines out of order are touched). */
function sortLines(segments: Int32Array, lineStarts: Uint32Array): void {
  for (let line = 0; line + 1 < lineStarts.length; line++) {
    const from = lineStarts[line]!;
    const to = lineStarts[line + 1]!;
    let inOrder = true;
    for (let k = from + 1; k < to && inOrder; k++) if (segments[k * STRIDE]! < segments[(k - 1) * STRIDE]!) inOrder = false;
    if (inOrder) continue;
    const order = Array.from({ length: to - from }, (_, k) => from + k).sort((a, b) => segments[a * STRIDE]! - segments[b * STRIDE]! || a - b);
    const copy = segments.slice(from * STRIDE, to * STRIDE);
    order.forEach((k, j) => segments.set(copy.subarray((k - from) * STRIDE, (k - from + 1) * STRIDE), (from + j) * STRIDE));
  }
}

/**
 * An index map: `sections`, each a map placed at a generated offset. A
 * position is looked up in the last section starting at or before it (its
 * column made relative on the section's first line), and only there.
 */
class IndexMap implements SourceMapNode {
  private constructor(
    /** Offsets, ascending: line and column pairs. */
    private readonly offsets: Int32Array,
    private readonly maps: ReadonlyArray<SourceMapNode | undefined>,
  ) {}

  static build(sections: unknown[], base: URL, depth: number): IndexMap | undefined {
    const offsets = new Int32Array(sections.length * 2);
    const maps: Array<SourceMapNode | undefined> = [];
    for (let k = 0; k < sections.length; k++) {
      const section = sections[k] as { offset?: { line?: unknown; column?: unknown }; map?: unknown } | null;
      const line = section?.offset?.line;
      const column = section?.offset?.column;
      if (typeof line !== 'number' || typeof column !== 'number' || !Number.isInteger(line) || !Number.isInteger(column) || line < 0 || column < 0 || line > 0x7fffffff || column > 0x7fffffff) return undefined;
      // Sections must be in order, without overlap.
      if (k > 0 && (line < offsets[2 * k - 2]! || (line === offsets[2 * k - 2]! && column < offsets[2 * k - 1]!))) return undefined;
      offsets[2 * k] = line;
      offsets[2 * k + 1] = column;
      // A section without a usable map (or with the unsupported "url") maps nothing.
      maps.push(buildMap(section?.map, base, depth + 1));
    }
    return new IndexMap(offsets, maps);
  }

  lookup(line: number, column: number): OriginalPosition | undefined {
    let low = 0;
    let high = this.maps.length - 1;
    let found = -1;
    while (low <= high) {
      const mid = (low + high) >>> 1;
      const offsetLine = this.offsets[2 * mid]!;
      if (offsetLine < line || (offsetLine === line && this.offsets[2 * mid + 1]! <= column)) {
        found = mid;
        low = mid + 1;
      } else high = mid - 1;
    }
    if (found < 0) return undefined;
    const offsetLine = this.offsets[2 * found]!;
    const offsetColumn = this.offsets[2 * found + 1]!;
    return this.maps[found]?.lookup(line - offsetLine, line === offsetLine ? column - offsetColumn : column);
  }
}
