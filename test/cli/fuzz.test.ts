import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { constants as bufferConstants } from 'node:buffer';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { takeCensus } from '../../src/analysis/census.js';
import { HeapGraph } from '../../src/graph/heap-graph.js';
import { inspectSnapshot } from '../../src/inspect/inspect-snapshot.js';
import { SnapshotFormatError } from '../../src/snapshot/errors.js';
import { loadSnapshot, parseSnapshotBytes } from '../../src/snapshot/load.js';
import { cliPath, copyBuiltCli, repoRoot } from '../helpers/run-cli.js';

/*
 * Seeded fuzzing of the loader and the CLI with mutations of a real snapshot
 * (the golden Node 20 capture: a real heap with the agent's records in it).
 *
 * Every mutated file is judged by an oracle written here from the format's
 * rules (JSON grammar, the numeric sections' grammar, the meta, counts and
 * ranges), independently of src/snapshot. Then:
 * - oracle "invalid": the CLI exits 2 with exactly one stderr line, prints
 *   nothing on stdout and leaves no --json file (not even a temporary one);
 *   the library throws SnapshotFormatError;
 * - oracle "valid" (a mutation can land on a harmless spot): the CLI exits
 *   0/1 and its --json has the oracle's node and edge counts; the library
 *   loads it, and inspect and the census run on it.
 * Each CLI case runs with --max-old-space-size=512 under an address-space
 * limit and a timeout; each in-process case is timed.
 *
 *   FUZZ_SEED=<n> FUZZ_CASES=<in-process> FUZZ_CLI_CASES=<through the CLI> npx vitest run test/fuzz.test.ts
 */

const SEED = Number(process.env.FUZZ_SEED ?? 20_260_607) >>> 0;
const IN_PROCESS_CASES = Number(process.env.FUZZ_CASES ?? 236);
const CLI_CASES = Number(process.env.FUZZ_CLI_CASES ?? 64);
const CLI_TIMEOUT_MS = 30_000;
const CASE_TIME_LIMIT_MS = 10_000;
const ADDRESS_SPACE_KB = 4 * 1024 * 1024;

// ---------------------------------------------------------------------------
// PRNG and mutations.

function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface Rng {
  next: () => number;
  int: (n: number) => number;
  pick: <T>(items: readonly T[]) => T;
}

function rngFrom(seed: number): Rng {
  const next = mulberry32(seed);
  const int = (n: number) => Math.floor(next() * n);
  return { next, int, pick: (items) => items[int(items.length)]! };
}

interface Base {
  bytes: Buffer;
  /** [start, end) of each top-level section's value, and of its key. */
  sections: Array<{ name: string; keyStart: number; start: number; end: number }>;
}

function splice(b: Buffer, start: number, deleteCount: number, insert: Buffer | string = Buffer.alloc(0)): Buffer {
  const add = typeof insert === 'string' ? Buffer.from(insert, 'latin1') : insert;
  return Buffer.concat([b.subarray(0, start), add, b.subarray(start + deleteCount)]);
}

/** Start and end of the decimal number around or after `at` (within a numeric section). */
function numberAt(b: Buffer, at: number): [number, number] {
  let s = at;
  while (s < b.length && !(b[s]! >= 0x30 && b[s]! <= 0x39)) s++;
  let e = s;
  while (e < b.length && b[e]! >= 0x30 && b[e]! <= 0x39) e++;
  return [s, e];
}

type Mutation = (b: Buffer, rng: Rng, base: Base) => { bytes: Buffer; what: string };

const section = (base: Base, name: string) => base.sections.find((s) => s.name === name)!;
const inSection = (base: Base, rng: Rng, name: string) => {
  const s = section(base, name);
  return s.start + rng.int(s.end - s.start);
};
const HUGE = ['4294967295', '4294967296', '99999999999999999999', '1e9', '-1', '0.5', '9'.repeat(400), '00000000000000000001', '7e-3', ' '];
const NUMERIC = ['nodes', 'edges', 'locations'];

const MUTATIONS: Record<string, Mutation> = {
  truncate(b, rng) {
    const at = rng.next() < 0.3 ? b.length - 1 - rng.int(64) : rng.int(b.length);
    return { bytes: b.subarray(0, at), what: `truncated at ${at}` };
  },
  flipBytes(b, rng) {
    const out = Buffer.from(b);
    const n = 1 + rng.int(4);
    const spots: string[] = [];
    for (let i = 0; i < n; i++) {
      const at = rng.int(out.length);
      out[at] = rng.int(256);
      spots.push(`${at}=${out[at]}`);
    }
    return { bytes: out, what: `flipped ${spots.join(',')}` };
  },
  digitFlip(b, rng, base) {
    const out = Buffer.from(b);
    const at = inSection(base, rng, rng.pick(NUMERIC));
    const [s, e] = numberAt(out, at);
    if (s >= e) return { bytes: out, what: 'digit flip (none)' };
    const pos = s + rng.int(e - s);
    out[pos] = 0x30 + rng.int(10);
    return { bytes: out, what: `digit ${pos}=${String.fromCharCode(out[pos]!)}` };
  },
  hugeNumber(b, rng, base) {
    const at = inSection(base, rng, rng.pick(NUMERIC));
    const [s, e] = numberAt(b, at);
    const value = rng.pick(HUGE);
    return { bytes: splice(b, s, e - s, value), what: `number at ${s} → ${value.slice(0, 24)}` };
  },
  declaredCount(b, rng) {
    const key = rng.pick(['"node_count":', '"edge_count":']);
    const at = b.indexOf(key) + key.length;
    const [s, e] = numberAt(b, at);
    const value = rng.pick(['0', '1', '2147483648', '1000000000000000', '-5', '"x"', '600000000', '1.5', 'null']);
    return { bytes: splice(b, s, e - s, value), what: `${key} ${value}` };
  },
  meta(b, rng) {
    const edits: Array<[string, string]> = [
      ['"edge_count","trace_node_id"', '"trace_node_id"'],
      ['["type","name","id"', '["type","nom","id"'],
      ['"weak"]', '"weak","extra"]'],
      ['"element"', '"elemental"'],
      ['"to_node"', '"to"'],
      ['"node_fields":[', '"node_fields":[1,'],
      ['"location_fields":["object_index"', '"location_fields":["object"'],
      ['"node_types":[[', '"node_types":[{}, ['],
      ['"meta":{', '"meta":[{'],
    ];
    const [from, to] = rng.pick(edits);
    const at = b.indexOf(from);
    return { bytes: at < 0 ? b : splice(b, at, from.length, to), what: `meta ${from} → ${to}` };
  },
  deepNesting(b, rng) {
    const depth = rng.pick([10, 1000, 100_000, 1_000_000]);
    const balanced = rng.next() < 0.6;
    const value = '['.repeat(depth) + (balanced ? ']'.repeat(depth) : ']'.repeat(rng.int(depth)));
    const at = b.indexOf('"nodes":');
    return { bytes: splice(b, at, 0, `"deep":${value},\n`), what: `nesting ${depth} ${balanced ? 'balanced' : 'unbalanced'}` };
  },
  giantString(b, rng, base) {
    const size = rng.pick([1 << 20, 8 << 20, 24 << 20]);
    const strings = section(base, 'strings');
    const kind = rng.pick(['append', 'unterminated', 'key']);
    if (kind === 'append') {
      // A new last string: no index shifts, still a valid snapshot.
      return { bytes: splice(b, strings.end - 1, 0, Buffer.concat([Buffer.from(',"'), Buffer.alloc(size, 0x61), Buffer.from('"')])), what: `giant string ${size} appended` };
    }
    if (kind === 'unterminated') return { bytes: splice(b, strings.end - 1, 1, Buffer.concat([Buffer.from(',"'), Buffer.alloc(size, 0x62)])), what: `giant unterminated string ${size}` };
    return { bytes: splice(b, b.indexOf('"nodes":'), 0, Buffer.concat([Buffer.from('"'), Buffer.alloc(size, 0x63), Buffer.from('":[],')])), what: `giant key ${size}` };
  },
  invalidUtf8(b, rng, base) {
    const seqs = [[0xff], [0xc0, 0x80], [0xed, 0xa0, 0x80], [0xe2, 0x82], [0x80, 0x80, 0x80], [0xf4, 0x90, 0x80, 0x80], [0xfe, 0xfe]];
    const seq = Buffer.from(rng.pick(seqs));
    // Mostly inside the strings section, where it is tolerated (U+FFFD); sometimes anywhere.
    const at = rng.next() < 0.7 ? (() => {
      const s = section(base, 'strings');
      const quote = b.indexOf(0x22, s.start + 1 + rng.int(s.end - s.start - 2));
      return quote < 0 || quote >= s.end - 1 ? s.start + 2 : quote;
    })() : rng.int(b.length);
    return { bytes: splice(b, at, 0, seq), what: `invalid UTF-8 ${seq.toString('hex')} at ${at}` };
  },
  structure(b, rng, base) {
    const kind = rng.pick(['drop', 'duplicate', 'swap', 'bom', 'whitespace', 'garbage', 'comma', 'quote', 'control', 'empty-object', 'array']);
    const s = rng.pick(base.sections);
    switch (kind) {
      case 'drop':
        return { bytes: splice(b, s.keyStart, s.end - s.keyStart + (b[s.end] === 0x2c ? 1 : 0)), what: `dropped section ${s.name}` };
      case 'duplicate':
        return { bytes: splice(b, s.end, 0, Buffer.concat([Buffer.from(','), b.subarray(s.keyStart, s.end)])), what: `duplicated section ${s.name}` };
      case 'swap': {
        const t = rng.pick(base.sections);
        if (t === s) return { bytes: b, what: 'swap (same)' };
        const [x, y] = s.keyStart < t.keyStart ? [s, t] : [t, s];
        const bytes = Buffer.concat([b.subarray(0, x.keyStart), b.subarray(y.keyStart, y.end), b.subarray(x.end, y.keyStart), b.subarray(x.keyStart, x.end), b.subarray(y.end)]);
        return { bytes, what: `swapped ${x.name} and ${y.name}` };
      }
      case 'bom':
        return { bytes: Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), b]), what: 'byte order mark' };
      case 'whitespace': {
        const at = rng.int(b.length);
        return { bytes: splice(b, at, 0, ' \n\t\r'), what: `whitespace at ${at}` };
      }
      case 'garbage':
        return { bytes: Buffer.concat([b, Buffer.from(rng.pick(['x', '{}', '\n\n', ']', '\u0000']))]), what: 'trailing bytes' };
      case 'comma': {
        const at = b.indexOf(0x2c, rng.int(b.length));
        return { bytes: at < 0 ? b : splice(b, at, 1), what: `removed comma at ${at}` };
      }
      case 'quote': {
        const at = b.indexOf(0x22, rng.int(b.length));
        return { bytes: at < 0 ? b : splice(b, at, 1), what: `removed quote at ${at}` };
      }
      case 'control': {
        const strings = section(base, 'strings');
        const at = b.indexOf(0x22, strings.start + 2) + 1;
        return { bytes: splice(b, at, 0, Buffer.from([rng.pick([0x01, 0x0a, 0x1f, 0x00])])), what: `raw control character in a string at ${at}` };
      }
      case 'empty-object':
        return { bytes: Buffer.from(rng.pick(['{}', '', ' ', '{"snapshot":{}}', 'null', '[]'])), what: 'tiny document' };
      default:
        return { bytes: Buffer.concat([Buffer.from('['), b, Buffer.from(']')]), what: 'wrapped in an array' };
    }
  },
  gzip(b, rng, base) {
    const inner = rng.next() < 0.5 ? MUTATIONS[rng.pick(['digitFlip', 'truncate', 'flipBytes', 'structure'])]!(b, rng, base) : { bytes: b, what: 'valid' };
    let gz = gzipSync(inner.bytes, { level: 1 });
    const damage = rng.pick(['none', 'truncate', 'flip', 'trailer']);
    if (damage === 'truncate') gz = gz.subarray(0, 10 + rng.int(gz.length - 10));
    else if (damage === 'flip') {
      gz = Buffer.from(gz);
      const at = 10 + rng.int(gz.length - 10);
      gz[at] = gz[at]! ^ (1 + rng.int(255));
    } else if (damage === 'trailer') gz = Buffer.concat([gz, Buffer.from('trailing')]);
    return { bytes: gz, what: `gzip(${inner.what}) damage=${damage}` };
  },
};
const MUTATION_NAMES = Object.keys(MUTATIONS);

// ---------------------------------------------------------------------------
// The oracle.

type Verdict = { valid: true; nodeCount: number; edgeCount: number; stringCount: number } | { valid: false; why: string };

const NUMERIC_SECTIONS = new Set(['nodes', 'edges', 'locations', 'samples', 'trace_function_infos']);
const MAX_TYPED_ARRAY_LENGTH = bufferConstants.MAX_LENGTH;

class Invalid extends Error {}
const invalid = (why: string): never => {
  throw new Invalid(why);
};

const isWs = (c: string | undefined) => c === ' ' || c === '\n' || c === '\r' || c === '\t';

/** The end (exclusive) of the JSON value starting at `i`, by brackets and strings; JSON.parse judges it. */
function valueEnd(text: string, i: number): number {
  const c = text[i];
  if (c === '"') {
    for (let j = i + 1; j < text.length; j++) {
      if (text[j] === '\\') j++;
      else if (text[j] === '"') return j + 1;
    }
    return invalid('truncated string');
  }
  if (c === '{' || c === '[') {
    let depth = 0;
    for (let j = i; j < text.length; j++) {
      const d = text[j];
      if (d === '"') {
        for (j++; j < text.length && text[j] !== '"'; j++) if (text[j] === '\\') j++;
        if (j >= text.length) return invalid('truncated string');
      } else if (d === '{' || d === '[') depth++;
      else if (d === '}' || d === ']') {
        if (--depth === 0) return j + 1;
      }
    }
    return invalid('truncated value');
  }
  let j = i;
  while (j < text.length && text[j] !== ',' && text[j] !== '}' && text[j] !== ']' && !isWs(text[j])) j++;
  if (j >= text.length) invalid('truncated scalar');
  return j;
}

/** A numeric section: unsigned decimal integers (< 2^32) separated by commas, whitespace anywhere between. */
function numericValues(text: string, open: number, close: number): number[] {
  const out: number[] = [];
  let value = 0;
  let inNumber = false;
  let expectValue = true;
  const end = () => {
    if (value > 0xffffffff) invalid('number out of range');
    out.push(value);
    inNumber = false;
    expectValue = false;
  };
  for (let j = open + 1; j < close; j++) {
    const c = text.charCodeAt(j);
    if (c >= 48 && c <= 57) {
      if (!inNumber) {
        if (!expectValue) invalid('missing ,');
        inNumber = true;
        value = 0;
      }
      value = value * 10 + (c - 48);
      continue;
    }
    if (inNumber) end();
    if (c === 44) {
      if (expectValue) invalid('unexpected ,');
      expectValue = true;
    } else if (!isWs(text[j])) invalid(`not an unsigned integer: ${JSON.stringify(text[j])}`);
  }
  if (inNumber) end();
  if (expectValue && out.length > 0) invalid(', before ]');
  return out;
}

function stringList(value: unknown): string[] | undefined {
  return Array.isArray(value) && value.length > 0 && value.every((v) => typeof v === 'string') ? (value as string[]) : undefined;
}

function judge(input: Buffer): Verdict {
  try {
    return judgeOrThrow(input);
  } catch (error) {
    if (error instanceof Invalid) return { valid: false, why: error.message };
    throw error;
  }
}

function judgeOrThrow(input: Buffer): Verdict {
  let bytes = input;
  if (bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b) {
    try {
      bytes = gunzipSync(bytes);
    } catch {
      return invalid('corrupt gzip');
    }
  }
  // A byte order mark: the loader skips the first 3 bytes when the first is 0xEF.
  if (bytes[0] === 0xef) bytes = bytes.subarray(3);
  const text = bytes.toString('utf8');
  let i = 0;
  const ws = () => {
    while (isWs(text[i])) i++;
  };
  ws();
  if (text[i] !== '{') invalid('no {');
  i++;
  const sections = new Map<string, unknown>();
  const numeric = new Map<string, number[]>();
  ws();
  if (text[i] === '}') invalid('no snapshot section');
  for (;;) {
    ws();
    if (text[i] !== '"') invalid('expected a key');
    const close = text.indexOf('"', i + 1);
    if (close < 0) invalid('truncated key');
    const key = text.slice(i + 1, close);
    if (Buffer.byteLength(key) > 256) invalid('key too long');
    if (sections.has(key) || numeric.has(key)) invalid('duplicate section');
    if (sections.size + numeric.size === 0 && key !== 'snapshot') invalid('meta not first');
    i = close + 1;
    ws();
    if (text[i] !== ':') invalid('expected :');
    i++;
    ws();
    if (i >= text.length) invalid('truncated');
    if (NUMERIC_SECTIONS.has(key)) {
      if (text[i] !== '[') invalid(`${key} not an array`);
      const end = text.indexOf(']', i);
      if (end < 0) invalid('truncated numbers');
      if (key === 'nodes' || key === 'edges') {
        // The loader preallocates from the declared count: too large a count is refused up front.
        const snapshot = sections.get('snapshot') as Record<string, unknown>;
        const meta = snapshot.meta as Record<string, unknown>;
        const declared = count(snapshot[key === 'nodes' ? 'node_count' : 'edge_count']);
        const fields = Array.isArray(meta[key === 'nodes' ? 'node_fields' : 'edge_fields']) ? (meta[key === 'nodes' ? 'node_fields' : 'edge_fields'] as unknown[]).length : 0;
        if (declared !== undefined && declared * fields > MAX_TYPED_ARRAY_LENGTH) invalid('declared count too large');
      }
      numeric.set(key, numericValues(text, i, end));
      i = end + 1;
    } else {
      if (key === 'strings' && text[i] !== '[') invalid('strings not an array');
      const end = valueEnd(text, i);
      let value: unknown;
      try {
        value = JSON.parse(text.slice(i, end));
      } catch {
        invalid(`malformed ${key}`);
      }
      if (key === 'snapshot') {
        if (typeof value !== 'object' || value === null) invalid('snapshot not an object');
        const meta = (value as Record<string, unknown>).meta;
        if (typeof meta !== 'object' || meta === null) invalid('no meta');
        const m = meta as Record<string, unknown>;
        if (!Array.isArray(m.node_fields) || m.node_fields.length === 0 || !Array.isArray(m.edge_fields) || m.edge_fields.length === 0) invalid('no fields');
      }
      if (key === 'strings' && !(Array.isArray(value) && value.every((s) => typeof s === 'string'))) invalid('strings not strings');
      sections.set(key, value);
      i = end;
    }
    ws();
    if (text[i] === ',') {
      i++;
      continue;
    }
    if (text[i] === '}') {
      i++;
      break;
    }
    invalid('expected , or }');
  }
  ws();
  if (i < text.length) invalid('trailing data');
  for (const required of ['nodes', 'edges']) if (!numeric.has(required)) invalid(`no ${required}`);
  if (!sections.has('strings')) invalid('no strings');

  const snapshot = sections.get('snapshot') as Record<string, unknown>;
  const m = snapshot.meta as Record<string, unknown>;
  const nodeFields = stringList(m.node_fields) ?? invalid('node_fields');
  const edgeFields = stringList(m.edge_fields) ?? invalid('edge_fields');
  const nodeTypes = (Array.isArray(m.node_types) ? stringList(m.node_types[0]) : undefined) ?? invalid('node_types');
  const edgeTypes = (Array.isArray(m.edge_types) ? stringList(m.edge_types[0]) : undefined) ?? invalid('edge_types');
  if (m.location_fields !== undefined && !stringList(m.location_fields)) invalid('location_fields');
  const field = (list: string[], name: string) => (list.includes(name) ? list.indexOf(name) : invalid(`no ${name}`));
  const [nType, nName, , , nEdges] = ['type', 'name', 'id', 'self_size', 'edge_count'].map((f) => field(nodeFields, f)) as number[];
  const [eType, eName, eTo] = ['type', 'name_or_index', 'to_node'].map((f) => field(edgeFields, f)) as number[];
  const element = edgeTypes.indexOf('element');
  const hidden = edgeTypes.indexOf('hidden');
  if (element < 0 || hidden < 0) invalid('no element/hidden edge type');

  const nodes = numeric.get('nodes')!;
  const edges = numeric.get('edges')!;
  const strings = sections.get('strings') as string[];
  const nf = nodeFields.length;
  const ef = edgeFields.length;
  if (nodes.length % nf !== 0 || edges.length % ef !== 0) invalid('not a multiple of the fields');
  const nodeCount = nodes.length / nf;
  const edgeCount = edges.length / ef;
  const declaredNodes = count(snapshot.node_count);
  const declaredEdges = count(snapshot.edge_count);
  if (declaredNodes !== undefined && declaredNodes !== nodeCount) invalid('node_count');
  if (declaredEdges !== undefined && declaredEdges !== edgeCount) invalid('edge_count');
  if (nodeCount === 0) invalid('no nodes');
  let total = 0;
  for (let k = 0; k < nodes.length; k += nf) {
    if (nodes[k + nType]! >= nodeTypes.length) invalid('node type');
    if (nodes[k + nName]! >= strings.length) invalid('node name');
    total += nodes[k + nEdges]!;
  }
  if (total !== edgeCount) invalid('edge counts');
  for (let k = 0; k < edges.length; k += ef) {
    const type = edges[k + eType]!;
    if (type >= edgeTypes.length) invalid('edge type');
    if (type !== element && type !== hidden && edges[k + eName]! >= strings.length) invalid('edge name');
    const to = edges[k + eTo]!;
    if (to >= nodes.length || to % nf !== 0) invalid('to_node');
  }
  return { valid: true, nodeCount, edgeCount, stringCount: strings.length };
}

function count(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0 ? value : undefined;
}

/** Where each top-level section of the (valid) base file sits. */
function sectionsOf(bytes: Buffer): Base['sections'] {
  const text = bytes.toString('latin1');
  const out: Base['sections'] = [];
  let i = 1;
  for (;;) {
    const keyStart = text.indexOf('"', i);
    const keyEnd = text.indexOf('"', keyStart + 1);
    const name = text.slice(keyStart + 1, keyEnd);
    let start = keyEnd + 2;
    while (isWs(text[start])) start++;
    const end = NUMERIC_SECTIONS.has(name) ? text.indexOf(']', start) + 1 : valueEnd(text, start);
    out.push({ name, keyStart, start, end });
    i = end;
    while (isWs(text[i])) i++;
    if (text[i] === '}') return out;
    i++;
  }
}

// ---------------------------------------------------------------------------

interface CaseResult {
  index: number;
  mutation: string;
  what: string;
  valid: boolean;
  ms: number;
}

let fuzzCli = cliPath;

function runCliAsync(args: string[], timeoutMs: number): Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string; ms: number }> {
  const started = Date.now();
  // An address-space limit (ulimit -v) bounds every allocation, typed arrays included; V8's heap is bounded by the flag.
  const command = `ulimit -v ${ADDRESS_SPACE_KB} && exec "$0" "$@"`;
  return new Promise((resolve, reject) => {
    const child = spawn('/bin/sh', ['-c', command, process.execPath, '--max-old-space-size=512', fuzzCli, ...args], { cwd: repoRoot, env: { ...process.env, NO_COLOR: '1' }, stdio: ['ignore', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (c: Buffer) => out.push(c));
    child.stderr.on('data', (c: Buffer) => err.push(c));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.once('error', reject);
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(err).toString('utf8'), ms: Date.now() - started });
    });
  });
}

describe(`fuzz: mutations of a real snapshot (seed ${SEED})`, () => {
  let base: Base;
  let dir: string;
  let copyRoot: string | undefined;
  const rng = rngFrom(SEED);
  const tally = { cli: { valid: 0, invalid: 0 }, library: { valid: 0, invalid: 0 }, byMutation: new Map<string, { valid: number; invalid: number }>() };
  let slowest = { ms: 0, label: '' };
  let peakRss = 0;
  const linesWithoutFile: string[] = [];

  const record = (r: CaseResult, where: 'cli' | 'library') => {
    tally[where][r.valid ? 'valid' : 'invalid']++;
    const m = tally.byMutation.get(r.mutation) ?? { valid: 0, invalid: 0 };
    m[r.valid ? 'valid' : 'invalid']++;
    tally.byMutation.set(r.mutation, m);
    if (r.ms > slowest.ms) slowest = { ms: r.ms, label: `${where} #${r.index} ${r.mutation}: ${r.what}` };
  };

  /** Case i's mutation: the same sequence for the same seed. */
  const makeCase = (index: number) => {
    const mutation = MUTATION_NAMES[index % MUTATION_NAMES.length]!;
    const { bytes, what } = MUTATIONS[mutation]!(base.bytes, rng, base);
    return { index, mutation, what, bytes, verdict: judge(bytes) };
  };

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'napi-heapdiff-fuzz-'));
    const bytes = gunzipSync(readFileSync(join(repoRoot, 'snapshots', 'node20-fixtures.heapsnapshot.gz')));
    base = { bytes, sections: sectionsOf(bytes) };
    writeFileSync(join(dir, 'base.heapsnapshot'), bytes);
    const copy = copyBuiltCli('fuzz-cli', ['inspect', join(dir, 'base.heapsnapshot'), '--top', '1']);
    fuzzCli = copy.cli;
    copyRoot = copy.root;
  }, 60_000);

  afterAll(() => {
    rmSync(dir, { recursive: true, force: true });
    if (copyRoot) rmSync(copyRoot, { recursive: true, force: true });
    const rows = [...tally.byMutation].map(([name, t]) => `${name} ${t.valid}/${t.valid + t.invalid}`).join(', ');
    const total = tally.cli.valid + tally.cli.invalid + tally.library.valid + tally.library.invalid;
    console.log(
      `fuzz seed ${SEED}: ${total} cases (${tally.cli.valid + tally.cli.invalid} through the CLI: ${tally.cli.invalid} invalid → exit 2, ${tally.cli.valid} still valid → exit 0/1; ` +
        `${tally.library.valid + tally.library.invalid} in-process: ${tally.library.invalid} invalid → SnapshotFormatError, ${tally.library.valid} still valid)\n` +
        `  still valid per mutation: ${rows}\n  slowest case ${slowest.ms} ms (${slowest.label}); peak RSS in-process ${Math.round(peakRss / 1048576)} MB` +
        (linesWithoutFile.length > 0 ? `\n  ${linesWithoutFile.length} error line(s) without the file name, e.g. ${linesWithoutFile[0]}` : ''),
    );
  });

  it('the oracle accepts the untouched file and agrees with the loader on it', async () => {
    const verdict = judge(base.bytes);
    expect(verdict.valid).toBe(true);
    const snapshot = await loadSnapshot(join(dir, 'base.heapsnapshot'));
    expect(verdict).toEqual({ valid: true, nodeCount: snapshot.nodeCount, edgeCount: snapshot.edgeCount, stringCount: snapshot.strings.length });
    expect(base.sections.map((s) => s.name)).toEqual(['snapshot', 'nodes', 'edges', 'trace_function_infos', 'trace_tree', 'samples', 'locations', 'strings']);
  });

  it(`${CLI_CASES} cases through the real CLI (inspect/diff --json): exit 2 and one line, or a correct result; bounded time and memory`, async () => {
    const cases = Array.from({ length: CLI_CASES }, (_, i) => makeCase(i));
    const failures: string[] = [];
    const check = async (c: (typeof cases)[number]) => {
      const file = join(dir, `cli-${c.index}.heapsnapshot`);
      writeFileSync(file, c.bytes);
      const json = join(dir, `cli-${c.index}.json`);
      const diff = c.index % 4 === 3;
      const args = diff ? ['diff', join(dir, 'base.heapsnapshot'), file, '--json', json] : ['inspect', file, '--json', json, '--top', '3'];
      const r = await runCliAsync(args, CLI_TIMEOUT_MS);
      const label = `#${c.index} ${c.mutation} (${c.what}) ${diff ? 'diff' : 'inspect'}: oracle ${c.verdict.valid ? 'valid' : `invalid (${(c.verdict as { why: string }).why})`}`;
      const lines = r.stderr.trimEnd().split('\n');
      const leftovers = readdirSync(dir).filter((f) => f.startsWith(`.cli-${c.index}.json`));
      if (r.signal) failures.push(`${label}: killed by ${r.signal} after ${r.ms} ms`);
      else if (!c.verdict.valid) {
        if (r.code !== 2 || lines.length !== 1 || !lines[0]!.startsWith('napi-heapdiff: ') || r.stdout !== '') failures.push(`${label}: exit ${r.code}, stderr ${JSON.stringify(r.stderr.slice(0, 300))}`);
        else if (existsSync(json) || leftovers.length > 0) failures.push(`${label}: --json written (${[existsSync(json) ? 'file' : '', ...leftovers].join(' ')})`);
        else if (!lines[0]!.includes(file)) linesWithoutFile.push(lines[0]!);
      } else {
        const ok = diff ? r.code === 0 || r.code === 1 : r.code === 0;
        if (!ok || r.stderr !== '') failures.push(`${label}: exit ${r.code}, stderr ${JSON.stringify(r.stderr.slice(0, 300))}`);
        else {
          const result = JSON.parse(readFileSync(json, 'utf8'));
          if (diff ? result.snapshots?.length !== 2 : result.nodeCount !== c.verdict.nodeCount || result.edgeCount !== c.verdict.edgeCount) {
            failures.push(`${label}: wrong result ${JSON.stringify({ nodeCount: result.nodeCount, edgeCount: result.edgeCount })} vs ${JSON.stringify(c.verdict)}`);
          }
        }
      }
      record({ index: c.index, mutation: c.mutation, what: c.what, valid: c.verdict.valid, ms: r.ms }, 'cli');
      rmSync(file, { force: true });
      rmSync(json, { force: true });
    };
    // One at a time: vitest already runs two test files side by side on two cores.
    for (const c of cases) await check(c);
    if (failures.length > 0) console.error(`fuzz seed ${SEED}: CLI failures:\n${failures.join('\n')}`);
    expect(failures).toEqual([]);
  }, 300_000);

  it(`${IN_PROCESS_CASES} cases in-process through the library: SnapshotFormatError, or a graph that inspect and the census can use`, async () => {
    const failures: string[] = [];
    for (let k = 0; k < IN_PROCESS_CASES; k++) {
      const c = makeCase(CLI_CASES + k);
      const label = `#${c.index} ${c.mutation} (${c.what}): oracle ${c.verdict.valid ? 'valid' : `invalid (${(c.verdict as { why: string }).why})`}`;
      const started = performance.now();
      try {
        const gz = c.bytes[0] === 0x1f && c.bytes[1] === 0x8b;
        let snapshot;
        if (gz) {
          const file = join(dir, `lib-${c.index}.heapsnapshot.gz`);
          writeFileSync(file, c.bytes);
          try {
            snapshot = await loadSnapshot(file);
          } finally {
            rmSync(file, { force: true });
          }
        } else {
          snapshot = parseSnapshotBytes(c.bytes, `case-${c.index}`, 1 << 20);
        }
        if (!c.verdict.valid) failures.push(`${label}: loaded (${snapshot.nodeCount} nodes)`);
        else if (snapshot.nodeCount !== c.verdict.nodeCount || snapshot.edgeCount !== c.verdict.edgeCount || snapshot.strings.length !== c.verdict.stringCount) {
          failures.push(`${label}: counts ${snapshot.nodeCount}/${snapshot.edgeCount}/${snapshot.strings.length} vs ${JSON.stringify(c.verdict)}`);
        } else {
          const graph = new HeapGraph(snapshot);
          inspectSnapshot(graph, 5);
          takeCensus(graph, `case-${c.index}`);
        }
      } catch (error) {
        if (c.verdict.valid) failures.push(`${label}: threw ${(error as Error).name}: ${(error as Error).message?.slice(0, 200)}`);
        else if (!(error instanceof SnapshotFormatError)) failures.push(`${label}: threw ${(error as Error).name} (not SnapshotFormatError): ${(error as Error).message?.slice(0, 200)}`);
        else if ((error as Error).message.includes('\n')) failures.push(`${label}: message spans lines`);
      }
      const ms = performance.now() - started;
      if (ms > CASE_TIME_LIMIT_MS) failures.push(`${label}: took ${Math.round(ms)} ms`);
      peakRss = Math.max(peakRss, process.memoryUsage().rss);
      record({ index: c.index, mutation: c.mutation, what: c.what, valid: c.verdict.valid, ms: Math.round(ms) }, 'library');
    }
    if (failures.length > 0) console.error(`fuzz seed ${SEED}: library failures:\n${failures.join('\n')}`);
    expect(failures).toEqual([]);
    expect(peakRss).toBeLessThan(3 * 1024 * 1024 * 1024);
  }, 300_000);
});
