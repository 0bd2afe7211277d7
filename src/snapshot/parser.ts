import { constants } from 'node:buffer';
import { SnapshotFormatError } from './errors.js';
import { GrowableU32 } from './growable-u32.js';
import { fileNodeFields, NodeColumns } from './node-columns.js';
import { StringTableBuilder } from './string-table-builder.js';
import type { StringTable } from './string-table.js';

/**
 * The sections of a snapshot file as parsed, before validation. Numeric
 * sections are flat Uint32Arrays exactly as in the file (to_node still a
 * node-array index); nothing has been interpreted yet.
 */
export interface ParsedSections {
  meta: Record<string, unknown>;
  nodeCountDeclared: number | undefined;
  edgeCountDeclared: number | undefined;
  extraNativeBytes: number | undefined;
  /** The nodes as stored: in the file's layout, or only the fields `nodeColumns` keeps. */
  nodes: Uint32Array;
  /** Set when the nodes were stored narrow (the meta declared their count): also where each node's edges start. */
  nodeColumns: NodeColumns | undefined;
  edges: Uint32Array;
  strings: StringTable;
  locations: Uint32Array | undefined;
  samples: Uint32Array | undefined;
  traceFunctionInfos: Uint32Array | undefined;
  traceTree: unknown;
  unknownSections: string[];
}

/**
 * Lets the loader parse the `edges` array itself (split-edges.ts): once the
 * meta declares the edge count, `prepareEdges` may return the storage to fill;
 * the parser then stops at the array's first byte (`pausedAt`) until the
 * loader calls `skipSectionTo` (parsed elsewhere) or `parseSectionFrom` (do it
 * here). It stops at `locations` likewise when `takesLocations()` says so:
 * the loader has them checked elsewhere and read when first needed
 * (deferred-section.ts).
 */
export interface EdgesHandoff {
  /** `nodeCount`: the declared node count, when plausible. */
  prepareEdges(valueCount: number, nodeCount: number | undefined): Uint32Array | undefined;
  takesLocations?(): boolean;
}

const enum State {
  Start,
  KeyOrEnd,
  Key,
  Colon,
  Value,
  NumberArray,
  StringArray,
  RawValue,
  AfterValue,
  Done,
}

const MAX_TYPED_ARRAY_LENGTH = constants.MAX_LENGTH;

const NUMERIC_SECTIONS = new Set(['nodes', 'edges', 'locations', 'samples', 'trace_function_infos']);

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COMMA = 0x2c;
const COLON = 0x3a;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACKET = 0x5d;
const OPEN_BRACE = 0x7b;
const CLOSE_BRACE = 0x7d;

function isSpace(c: number): boolean {
  return c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09;
}

/**
 * A push parser for the `.heapsnapshot` JSON format. Bytes go in through
 * `write()` in chunks of any size; the parser never holds the file as one
 * string (files past V8's ~512 MB string limit are common). Numeric sections
 * are parsed byte by byte straight into Uint32Arrays; the `strings` section is
 * kept undecoded in a StringTable.
 */
export class SnapshotParser {
  private state = State.Start;
  private offset = 0; // bytes consumed before the current chunk
  private key = '';
  private keyBytes: number[] = [];
  private sectionsSeen = new Set<string>();

  // Numeric array state.
  private target: GrowableU32 | NodeColumns | undefined;
  private value = 0;
  private inNumber = false;
  private expectValue = true; // after '[' or ',': a value (or ']' right after '[') must follow

  // String array state.
  private stringsIn: StringTableBuilder | undefined;
  private stringsOut: StringTable | undefined;

  // Raw (JSON.parse'd) value state.
  private inString = false;
  private escaped = false;
  private rawDepth = 0;
  private rawPieces: Uint8Array[] = [];

  private meta: Record<string, unknown> | undefined;
  private nodeCountDeclared: number | undefined;
  private edgeCountDeclared: number | undefined;
  private extraNativeBytes: number | undefined;
  private nodeFieldCount = 0;
  private edgeFieldCount = 0;
  private numeric = new Map<string, GrowableU32 | NodeColumns>();
  private traceTree: unknown;
  private unknownSections: string[] = [];
  private edgesStorage: Uint32Array | undefined;
  private paused: number | undefined;

  /** @param sizeHint bytes of the whole input, when known: bounds what the meta may declare. */
  constructor(
    readonly file: string,
    private readonly sizeHint?: number,
    private readonly handoff?: EdgesHandoff,
  ) {}

  /** Offset of the first byte of `edges` while waiting for the loader (see EdgesHandoff). */
  get pausedAt(): number | undefined {
    return this.paused;
  }

  /** The section the parser stopped at (`edges` or `locations`). */
  get pausedSection(): string | undefined {
    return this.paused === undefined ? undefined : this.key;
  }

  /** The loader parses the section elsewhere (the edges: already done); input resumes at `offset`, its closing "]". */
  skipSectionTo(offset: number): void {
    const target = this.target!;
    target.length = this.key === 'edges' ? target.array.length : 0;
    this.expectValue = false;
    this.offset = offset;
    this.paused = undefined;
  }

  /** The meta and the nodes' value count, once the nodes are parsed (the edges split's conversion needs them). */
  get parsedSoFar(): { meta: Record<string, unknown> | undefined; nodeValues: number | undefined } {
    const nodes = this.numeric.get('nodes');
    return { meta: this.meta, nodeValues: nodes instanceof NodeColumns ? nodes.valueCount : nodes?.length };
  }

  /** The loader did not parse the section: input resumes at `offset`, its first byte. */
  parseSectionFrom(offset: number): void {
    this.target!.length = 0;
    this.offset = offset;
    this.paused = undefined;
  }

  /**
   * Feeds the next chunk. The chunk may be reused by the caller afterwards.
   * While paused (see EdgesHandoff) the rest of the chunk is not consumed.
   */
  write(chunk: Uint8Array): void {
    let i = 0;
    const n = chunk.length;
    while (i < n) {
      if (this.paused !== undefined) return;
      switch (this.state) {
        case State.NumberArray:
          i = this.parseNumbers(chunk, i, n);
          break;
        case State.StringArray:
          i = this.parseStrings(chunk, i, n);
          break;
        case State.RawValue:
          i = this.parseRaw(chunk, i, n);
          break;
        case State.Key:
          i = this.parseKey(chunk, i, n);
          break;
        default:
          i = this.parseStructure(chunk, i, n);
      }
    }
    this.offset += n;
  }

  /** Ends the input; returns the sections or throws if the file ended early. */
  end(): ParsedSections {
    // Nothing but (perhaps) whitespace: not a snapshot cut short, a file with no snapshot in it.
    if (this.state === State.Start) throw this.error('empty: the file holds no heap snapshot (one starts with "{")', undefined, 0);
    if (this.state !== State.Done) {
      throw this.error(`truncated: the file ended inside ${this.describeState()}`, undefined, 0);
    }
    if (!this.meta) throw this.error('not a heap snapshot: no "snapshot" section', undefined, 0);
    for (const required of ['nodes', 'edges', 'strings']) {
      if (!this.sectionsSeen.has(required)) throw this.error(`not a heap snapshot: no "${required}" section`, undefined, 0);
    }
    const numeric = (name: string) => {
      const target = this.numeric.get(name);
      return target instanceof NodeColumns ? undefined : target?.toArray();
    };
    const columns = this.numeric.get('nodes');
    const nodeColumns = columns instanceof NodeColumns ? columns : undefined;
    nodeColumns?.finish();
    return {
      meta: this.meta,
      nodeCountDeclared: this.nodeCountDeclared,
      edgeCountDeclared: this.edgeCountDeclared,
      extraNativeBytes: this.extraNativeBytes,
      nodes: nodeColumns?.storedNodes() ?? numeric('nodes') ?? new Uint32Array(0),
      nodeColumns,
      edges: numeric('edges') ?? new Uint32Array(0),
      // "strings" was seen and the file ended after it: the array was complete.
      strings: this.stringsOut!,
      locations: numeric('locations'),
      samples: numeric('samples'),
      traceFunctionInfos: numeric('trace_function_infos'),
      traceTree: this.traceTree,
      unknownSections: this.unknownSections,
    };
  }

  private describeState(): string {
    switch (this.state) {
      case State.NumberArray: return `the "${this.key}" array`;
      case State.StringArray: return 'the "strings" array';
      case State.RawValue: return `the "${this.key}" section`;
      default: return 'the top-level object';
    }
  }

  private error(fault: string, value: unknown, index: number): SnapshotFormatError {
    return new SnapshotFormatError(this.file, fault, { value, position: `byte ${this.offset + index}` });
  }

  private parseStructure(b: Uint8Array, i: number, n: number): number {
    for (; i < n; i++) {
      const c = b[i]!;
      if (isSpace(c)) continue;
      switch (this.state) {
        case State.Start:
          // A UTF-8 byte order mark is tolerated; anything else must open the object.
          if (this.offset + i === 0 && c === 0xef) { i += 2; continue; }
          if (c !== OPEN_BRACE) throw this.error('not a heap snapshot: the file does not start with "{"', String.fromCharCode(c), i);
          this.state = State.KeyOrEnd;
          continue;
        case State.KeyOrEnd:
          if (c === CLOSE_BRACE && this.sectionsSeen.size === 0) { this.state = State.Done; continue; }
          if (c !== QUOTE) throw this.error('malformed JSON: expected a section name', String.fromCharCode(c), i);
          this.keyBytes = [];
          this.state = State.Key;
          return i + 1;
        case State.Colon:
          if (c !== COLON) throw this.error('malformed JSON: expected ":"', String.fromCharCode(c), i);
          this.state = State.Value;
          continue;
        case State.Value:
          return this.startValue(i, c);
        case State.AfterValue:
          if (c === COMMA) { this.state = State.KeyOrEnd; continue; }
          if (c === CLOSE_BRACE) { this.state = State.Done; continue; }
          throw this.error('malformed JSON: expected "," or "}" after a section', String.fromCharCode(c), i);
        case State.Done:
          throw this.error('trailing data after the snapshot object', String.fromCharCode(c), i);
        default:
          throw this.error('internal parser state error', this.state, i);
      }
    }
    return i;
  }

  private parseKey(b: Uint8Array, i: number, n: number): number {
    for (; i < n; i++) {
      const c = b[i]!;
      if (c === QUOTE) {
        this.key = Buffer.from(this.keyBytes).toString('utf8');
        if (this.sectionsSeen.has(this.key)) throw this.error('duplicate section', this.key, i);
        this.sectionsSeen.add(this.key);
        this.state = State.Colon;
        return i + 1;
      }
      if (this.keyBytes.length > 256) throw this.error('malformed JSON: section name too long', undefined, i);
      this.keyBytes.push(c);
    }
    return i;
  }

  private startValue(i: number, c: number): number {
    const key = this.key;
    if (key !== 'snapshot' && !this.meta) {
      throw this.error('not a heap snapshot: "snapshot" (meta) must be the first section', key, i);
    }
    if (NUMERIC_SECTIONS.has(key) || key === 'strings') {
      if (c !== OPEN_BRACKET) throw this.error(`"${key}" is not an array`, String.fromCharCode(c), i);
      // The rest of the file bounds the content.
      const rest = this.sizeHint === undefined ? undefined : this.sizeHint - (this.offset + i + 1);
      if (key === 'strings') {
        this.stringsIn = new StringTableBuilder((fault, value, index) => this.error(fault, value, index), rest);
        this.state = State.StringArray;
      } else {
        this.target = this.numericTarget(key, rest);
        this.numeric.set(key, this.target);
        this.value = 0;
        this.inNumber = false;
        this.expectValue = true;
        this.state = State.NumberArray;
        if ((key === 'edges' && this.edgesStorage) || (key === 'locations' && this.handoff?.takesLocations?.())) this.paused = this.offset + i + 1;
      }
      return i + 1;
    }
    // Small or rare sections (meta, trace_tree, unknown ones) are collected and
    // JSON.parse'd whole.
    this.rawDepth = 0;
    this.rawPieces = [];
    this.inString = false;
    this.escaped = false;
    this.state = State.RawValue;
    return i;
  }

  /** Where the values of a numeric section go; `rest` (bytes after its "[") bounds sections the meta does not count. */
  private numericTarget(key: string, rest: number | undefined): GrowableU32 | NodeColumns {
    const declared =
      key === 'nodes' && this.nodeCountDeclared !== undefined ? this.nodeCountDeclared * this.nodeFieldCount
      : key === 'edges' && this.edgeCountDeclared !== undefined ? this.edgeCountDeclared * this.edgeFieldCount
      : undefined;
    const fault = declared === undefined ? undefined : this.implausibleCount(key, declared);
    if (fault !== undefined) throw this.error(fault, declared, 0);
    if (key === 'edges' && this.edgesStorage) return GrowableU32.over(this.edgesStorage);
    try {
      // The nodes go narrow when their count is declared and node_fields names what the graph reads.
      const nodeFields = key === 'nodes' && declared !== undefined ? fileNodeFields(this.meta!.node_fields) : undefined;
      if (nodeFields) return new NodeColumns(this.nodeCountDeclared!, nodeFields);
      if (declared !== undefined) return new GrowableU32(declared, true);
      // n values take at least 2n - 1 bytes: the rest of the file bounds them.
      return new GrowableU32(1024, false, rest === undefined ? undefined : Math.min(Math.floor((rest + 1) / 2), MAX_TYPED_ARRAY_LENGTH));
    } catch {
      throw this.error(`cannot allocate memory for the ${declared} values "${key}" declares`, declared, 0);
    }
  }

  /** Why a declared value count is corrupt, or undefined when it is plausible. */
  private implausibleCount(key: string, declared: number): string | undefined {
    // One Uint32Array holds 2^32 values on 64-bit Node 20+ (1.4 billion edges);
    // a declared size past that is a corrupt count, not a real heap.
    if (declared > MAX_TYPED_ARRAY_LENGTH) return `"${key}" declares more values than one typed array can hold`;
    // Every value takes at least two bytes ("0,"): a count the file cannot hold is corrupt.
    if (this.sizeHint !== undefined && declared > this.sizeHint / 2) return `"${key}" declares more values than the file can hold`;
    return undefined;
  }

  /**
   * The hot loop: unsigned decimal integers separated by commas. A number is
   * consumed by a tight inner loop; separators are checked between numbers.
   * A number cut by the chunk boundary resumes from `this.value`.
   */
  private parseNumbers(b: Uint8Array, i: number, n: number): number {
    const target = this.target!;
    let out = target.array;
    let length = target.length;
    let capacity = out.length;
    let expectValue = this.expectValue;
    let value = this.value;
    let inNumber = this.inNumber;
    while (i < n) {
      let c = b[i]!;
      if (inNumber || c - 48 >>> 0 <= 9) {
        if (!inNumber) {
          if (!expectValue) throw this.error(`malformed "${this.key}": missing ","`, undefined, i);
          value = c - 48;
          i++;
        }
        while (i < n && (c = b[i]!) - 48 >>> 0 <= 9) {
          value = value * 10 + (c - 48);
          i++;
        }
        if (i === n) {
          inNumber = true;
          break;
        }
        inNumber = false;
        if (value > 0xffffffff) throw this.error(`number out of range in "${this.key}"`, value, i);
        if (length === capacity) {
          target.length = length;
          if (!target.grow()) throw this.error(`"${this.key}" has more values than ${target.fixed ? "the meta's count declares" : 'the file can hold'}`, target instanceof NodeColumns ? target.declaredValues : capacity, i);
          // A scratch target (NodeColumns) empties on growing.
          length = target.length;
          out = target.array;
          capacity = out.length;
        }
        out[length++] = value;
        expectValue = false;
        // The common case: a comma right after the number.
        if (c === COMMA) {
          expectValue = true;
          i++;
          continue;
        }
      }
      if (c === COMMA) {
        if (expectValue) throw this.error(`malformed "${this.key}": unexpected ","`, undefined, i);
        expectValue = true;
      } else if (c === CLOSE_BRACKET) {
        // "]" may follow a value or the opening "[" (an empty array), not a ",".
        if (expectValue && length !== 0) throw this.error(`malformed "${this.key}": "," before "]"`, undefined, i);
        target.length = length;
        this.value = 0;
        this.inNumber = false;
        this.state = State.AfterValue;
        return i + 1;
      } else if (!isSpace(c)) {
        throw this.error(`unexpected character in "${this.key}" (only unsigned integers are allowed)`, String.fromCharCode(c), i);
      }
      i++;
    }
    target.length = length;
    this.value = value;
    this.inNumber = inNumber;
    this.expectValue = expectValue;
    return i;
  }

  private parseStrings(b: Uint8Array, i: number, n: number): number {
    const end = this.stringsIn!.write(b, i, n);
    if (end < 0) return n;
    this.stringsOut = this.stringsIn!.finish();
    this.stringsIn = undefined;
    this.state = State.AfterValue;
    return end;
  }

  /** Collects one JSON value of any shape and JSON.parses it when complete. */
  private parseRaw(b: Uint8Array, i: number, n: number): number {
    const start = i;
    let depth = this.rawDepth;
    let inString = this.inString;
    let escaped = this.escaped;
    let done = false;
    for (; i < n; i++) {
      const c = b[i]!;
      if (inString) {
        if (escaped) escaped = false;
        else if (c === BACKSLASH) escaped = true;
        else if (c === QUOTE) {
          inString = false;
          if (depth === 0) { i++; done = true; break; }
        }
        continue;
      }
      if (c === QUOTE) inString = true;
      else if (c === OPEN_BRACE || c === OPEN_BRACKET) depth++;
      else if (c === CLOSE_BRACE || c === CLOSE_BRACKET) {
        // At depth 0 this closes the enclosing object: a scalar value ended.
        if (depth === 0) { done = true; break; }
        if (--depth === 0) { i++; done = true; break; }
      } else if (depth === 0 && (c === COMMA || isSpace(c))) { done = true; break; }
    }
    this.rawPieces.push(copyBytes(b, start, i));
    this.rawDepth = depth;
    this.inString = inString;
    this.escaped = escaped;
    if (done) this.finishRaw(i);
    return i;
  }

  private finishRaw(index: number): void {
    const text = Buffer.concat(this.rawPieces).toString('utf8');
    this.rawPieces = [];
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch (cause) {
      throw this.error(`malformed JSON in "${this.key}": ${(cause as Error).message}`, undefined, index);
    }
    this.acceptRaw(this.key, value, index);
    this.state = State.AfterValue;
  }

  private acceptRaw(key: string, value: unknown, index: number): void {
    if (key === 'snapshot') {
      if (typeof value !== 'object' || value === null) throw this.error('"snapshot" is not an object', value, index);
      const snapshot = value as Record<string, unknown>;
      const meta = snapshot.meta;
      if (typeof meta !== 'object' || meta === null) throw this.error('wrong meta: "snapshot.meta" is missing', undefined, index);
      this.meta = meta as Record<string, unknown>;
      this.nodeCountDeclared = countField(snapshot.node_count);
      this.edgeCountDeclared = countField(snapshot.edge_count);
      this.extraNativeBytes = countField(snapshot.extra_native_bytes);
      const m = this.meta;
      this.nodeFieldCount = Array.isArray(m.node_fields) ? m.node_fields.length : 0;
      this.edgeFieldCount = Array.isArray(m.edge_fields) ? m.edge_fields.length : 0;
      if (this.nodeFieldCount === 0 || this.edgeFieldCount === 0) {
        throw this.error('wrong meta: node_fields or edge_fields is missing or empty', undefined, index);
      }
      const edgeValues = this.edgeCountDeclared === undefined ? undefined : this.edgeCountDeclared * this.edgeFieldCount;
      // A corrupt count, or storage that cannot be had, is reported where the
      // edges start, as without the handoff.
      if (this.handoff && edgeValues !== undefined && this.implausibleCount('edges', edgeValues) === undefined) {
        try {
          const nodes = this.nodeCountDeclared;
          const plausibleNodes = nodes !== undefined && this.implausibleCount('nodes', nodes * this.nodeFieldCount) === undefined ? nodes : undefined;
          this.edgesStorage = this.handoff.prepareEdges(edgeValues, plausibleNodes);
        } catch {
          this.edgesStorage = undefined;
        }
      }
    } else if (key === 'trace_tree') {
      this.traceTree = value;
    } else {
      this.unknownSections.push(key);
    }
  }
}

/**
 * A copy of b[start, end). The caller's chunk buffer is reused for the next
 * read, and Buffer#slice returns a view, not a copy.
 */
function copyBytes(b: Uint8Array, start: number, end: number): Uint8Array {
  return Uint8Array.prototype.slice.call(b, start, end);
}

function countField(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0 ? value : undefined;
}
