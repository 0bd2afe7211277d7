import { execFileSync, spawnSync } from 'node:child_process';
import { closeSync, copyFileSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, truncateSync, writeFileSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import ts from 'typescript';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeMappings, MAX_FILE_BYTES, SourceMapResolver, sourceMappingURL } from '../../src/analysis/source-map.js';
// The tool's own convention for reference locations (1-based line and column).
import { formatLocation, LocationIndex } from '../../src/analysis/source-location.js';
import { HeapGraph } from '../../src/graph/heap-graph.js';
import { loadSnapshot } from '../../src/snapshot/load.js';

// ---------------------------------------------------------------------------
// Fixtures: TypeScript sources compiled with the real compiler, run by real node.

/** ESM, external map, compiled from src/ into dist/ (sources are "../src/leak.mts"). */
const LEAK_MTS = `interface Options { depth: number; label: string }
type Pair<T> = [T, T]; declare const process: { argv: string[] };

export class Leak {
  private readonly items: Array<Pair<number>> = [];
  iteration(options: Options): string {
    const limit: number = options.depth * 2; const err: Error = new Error(options.label);
    this.items.push([limit, limit]);
    return err.stack ?? '';
  }
}

type Worker = (first: number, second: Pair<string>) => number; export const leakyWorker: Worker = function leakyWorker(first: number, second: Pair<string>): number {
  return first + second.length;
};
export const doubler = (value: number): number => value * 2;

function outer(leak: Leak, options: Options): string {
  return leak.iteration(options);
}

const text: string = outer(new Leak(), { depth: 1, label: 'x' });
(globalThis as { keep?: unknown }).keep = [leakyWorker, doubler];
if (process.argv[2]) (await import(String('node:v8'))).writeHeapSnapshot(process.argv[2]);
console.log(JSON.stringify(text.split('\\n')));
`;

/** CommonJS, inline map, in a directory with a space; throws (uncaught) on a line with non-BMP characters before the throw. */
const THROWER_CTS = `type Label = \`\${string}!\`;
function fail(label: Label): never { const prefix: string = '🦀 é'; throw new Error(prefix + label); }

function run(times: number): void {
  for (let i: number = 0; i < times; i++) fail(\`\${i}!\` as Label);
}

run(1);
`;

/** Two global scripts concatenated into one bundle with an index map (b calls a). */
const A_TS = `function callA(n: number): number {
  const doubled: number = n * 2; if (doubled > 4) throw new Error('too big: ' + doubled);
  return doubled;
}
`;
const B_TS = `const result: number | undefined = callA(3);
console.log(result);
`;

let dir: string;
let leakTs: string;
let leakJs: string;
let leakFrames: string[];
let throwerTs: string;
let throwerJs: string;
let throwerFrames: string[];
let bundleJs: string;
let bundleFrames: string[];
let aTs: string;
let bTs: string;
/** Lines of a.js in the bundle (b's section starts on the next line). */
let aLines: number;
/** Column where b's code starts on its first bundle line. */
const B_PREFIX = '/* b */ ';

const nodeEnv = { ...process.env, NODE_OPTIONS: '' };

function compile(files: string[], options: ts.CompilerOptions): void {
  const program = ts.createProgram(files, { strict: true, types: [], skipLibCheck: true, ...options });
  const emitted = program.emit();
  const diagnostics = [...ts.getPreEmitDiagnostics(program), ...emitted.diagnostics];
  if (diagnostics.length > 0) throw new Error(ts.formatDiagnostics(diagnostics, { getCanonicalFileName: (f) => f, getCurrentDirectory: () => dir, getNewLine: () => '\n' }));
}

/** 1-based line and column (UTF-16 units) of the only occurrence of `marker` in `text`. */
function positionOf(text: string, marker: string): { line: number; column: number } {
  const index = text.indexOf(marker);
  if (index < 0 || text.indexOf(marker, index + 1) >= 0) throw new Error(`marker ${marker} not found exactly once`);
  const before = text.slice(0, index);
  const lineStart = before.lastIndexOf('\n') + 1;
  return { line: before.split('\n').length, column: index - lineStart + 1 };
}

/** "    at f (x:1:2)" lines of a node error output, without "    at ". */
function framesOf(output: string): string[] {
  return output
    .split('\n')
    .filter((l) => /^\s+at /.test(l))
    .map((l) => l.replace(/^\s+at /, ''));
}

function frameOf(frames: string[], prefix: string): string {
  const frame = frames.find((f) => f.startsWith(prefix));
  if (!frame) throw new Error(`no frame ${prefix} in ${frames.join(' | ')}`);
  return frame;
}

/** "fn (script:line:column)" → its parts. */
function partsOf(frame: string): { script: string; line: number; column: number } {
  const m = /^(?:.* \()?(.*):(\d+):(\d+)\)?$/.exec(frame)!;
  return { script: m[1]!, line: Number(m[2]), column: Number(m[3]) };
}

/** A reader that counts reads per path. */
function countingReader(): { readFile: (path: string) => string | undefined; reads: Map<string, number> } {
  const reads = new Map<string, number>();
  return {
    reads,
    readFile: (path) => {
      reads.set(path, (reads.get(path) ?? 0) + 1);
      try {
        return readFileSync(path, 'utf8');
      } catch {
        return undefined;
      }
    },
  };
}

/** Base64 VLQ, for synthetic maps. */
function vlq(...values: number[]): string {
  const chars = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
  let out = '';
  for (const value of values) {
    let v = value < 0 ? (-value << 1) | 1 : value << 1;
    do {
      let digit = v & 31;
      v >>>= 5;
      if (v > 0) digit |= 32;
      out += chars[digit];
    } while (v > 0);
  }
  return out;
}

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'source-map-test-'));

  // ESM with an external map: src/leak.mts → dist/leak.mjs + dist/leak.mjs.map.
  mkdirSync(join(dir, 'src'));
  leakTs = join(dir, 'src', 'leak.mts');
  writeFileSync(leakTs, LEAK_MTS);
  compile([leakTs], { target: ts.ScriptTarget.ES2022, module: ts.ModuleKind.NodeNext, moduleResolution: ts.ModuleResolutionKind.NodeNext, sourceMap: true, rootDir: join(dir, 'src'), outDir: join(dir, 'dist') });
  leakJs = join(dir, 'dist', 'leak.mjs');
  leakFrames = (JSON.parse(execFileSync(process.execPath, [leakJs], { env: nodeEnv, encoding: 'utf8' })) as string[]).slice(1).map((l) => l.replace(/^\s+at /, ''));

  // CommonJS with an inline map, in a directory whose name has a space.
  mkdirSync(join(dir, 'with space'));
  throwerTs = join(dir, 'with space', 'thrower.cts');
  writeFileSync(throwerTs, THROWER_CTS);
  compile([throwerTs], { target: ts.ScriptTarget.ES2022, module: ts.ModuleKind.NodeNext, moduleResolution: ts.ModuleResolutionKind.NodeNext, inlineSourceMap: true });
  throwerJs = join(dir, 'with space', 'thrower.cjs');
  const thrown = spawnSync(process.execPath, [throwerJs], { env: nodeEnv, encoding: 'utf8' });
  expect(thrown.status).toBe(1);
  throwerFrames = framesOf(thrown.stderr);

  // Two scripts bundled, with an index map of two sections.
  mkdirSync(join(dir, 'bundle'));
  aTs = join(dir, 'bundle', 'a.ts');
  bTs = join(dir, 'bundle', 'b.ts');
  writeFileSync(aTs, A_TS);
  writeFileSync(bTs, B_TS);
  compile([aTs, bTs], { target: ts.ScriptTarget.ES2022, module: ts.ModuleKind.None, sourceMap: true, strict: false, outDir: join(dir, 'bundle', 'out') });
  const code = (file: string) => readFileSync(join(dir, 'bundle', 'out', file), 'utf8').replace(/\n\/\/# sourceMappingURL=.*\n?$/, '').split('\n');
  const aCode = code('a.js');
  const bCode = code('b.js');
  aLines = aCode.length;
  bundleJs = join(dir, 'bundle', 'out', 'bundle.js');
  writeFileSync(bundleJs, [...aCode, B_PREFIX + bCode[0], ...bCode.slice(1), '//# sourceMappingURL=bundle.js.map'].join('\n'));
  const mapOf = (file: string): unknown => JSON.parse(readFileSync(join(dir, 'bundle', 'out', file), 'utf8'));
  writeFileSync(
    join(dir, 'bundle', 'out', 'bundle.js.map'),
    JSON.stringify({
      version: 3,
      file: 'bundle.js',
      sections: [
        { offset: { line: 0, column: 0 }, map: mapOf('a.js.map') },
        { offset: { line: aLines, column: B_PREFIX.length }, map: mapOf('b.js.map') },
      ],
    }),
  );
  const bundled = spawnSync(process.execPath, [bundleJs], { env: nodeEnv, encoding: 'utf8' });
  expect(bundled.status).toBe(1);
  bundleFrames = framesOf(bundled.stderr);
  if (process.env.SM_DEBUG) console.log(dir, leakFrames, throwerFrames, bundleFrames);
}, 120_000);

afterAll(() => {
  if (dir && !process.env.SM_DEBUG) rmSync(dir, { recursive: true, force: true });
});

// ---------------------------------------------------------------------------

describe('external map (ESM, sourceMap: true, file:// frames)', () => {
  it('the new Error() frame resolves to the exact original line and column', () => {
    const frame = frameOf(leakFrames, 'Leak.iteration (');
    // Raw generated position: node ran without --enable-source-maps.
    expect(frame).toBe(`Leak.iteration (${pathToFileURL(leakJs).href}:5:21)`);
    const expected = positionOf(LEAK_MTS, 'new Error(options.label)');
    expect(expected).toEqual({ line: 7, column: 65 });
    const resolver = new SourceMapResolver();
    expect(resolver.resolveText(frame)).toEqual({
      original: `Leak.iteration (${pathToFileURL(leakTs).href}:7:65)`,
      generated: frame,
      position: { file: leakTs, line: 7, column: 65 },
    });
    expect(resolver.resolve(pathToFileURL(leakJs).href, 5, 21)).toEqual({ file: leakTs, line: 7, column: 65 });
    // A path instead of the URL: the same map.
    expect(resolver.resolve(leakJs, 5, 21)).toEqual({ file: leakTs, line: 7, column: 65 });
  });

  it('the caller frames (method call, top-level call) resolve exactly', () => {
    const resolver = new SourceMapResolver();
    const outer = frameOf(leakFrames, 'outer (');
    expect(partsOf(outer)).toMatchObject({ line: 15, column: 17 });
    expect(positionOf(LEAK_MTS, 'iteration(options);')).toEqual({ line: 19, column: 15 });
    expect(resolver.resolveText(outer)?.original).toBe(`outer (${pathToFileURL(leakTs).href}:19:15)`);

    const top = leakFrames.find((f) => f.startsWith('file://'))!;
    expect(top).toBe(`${pathToFileURL(leakJs).href}:17:14`);
    expect(positionOf(LEAK_MTS, 'outer(new Leak()')).toEqual({ line: 22, column: 22 });
    expect(resolver.resolveText(top)?.original).toBe(`${pathToFileURL(leakTs).href}:22:22`);
  });

  it('accepts the frame forms the tool shows: "at fn (…)", "fn path:l:c", a bare location, leading blanks', () => {
    const resolver = new SourceMapResolver();
    const url = pathToFileURL(leakJs).href;
    const tsUrl = pathToFileURL(leakTs).href;
    expect(resolver.resolveText(`    at Leak.iteration (${url}:5:21)`)?.original).toBe(`    at Leak.iteration (${tsUrl}:7:65)`);
    // frameText-style: function name, space, path (a path in, a path out).
    expect(resolver.resolveText(`Leak.iteration ${leakJs}:5:21`)?.original).toBe(`Leak.iteration ${leakTs}:7:65`);
    expect(resolver.resolveText(`async Module.iteration ${leakJs}:5:21`)?.original).toBe(`async Module.iteration ${leakTs}:7:65`);
    expect(resolver.resolveText(`new Leak (${leakJs}:5:21)`)?.original).toBe(`new Leak (${leakTs}:7:65)`);
    expect(resolver.resolveText(`at ${leakJs}:5:21`)?.original).toBe(`at ${leakTs}:7:65`);
    expect(resolver.resolveText(`${url}:5:21`)?.original).toBe(`${tsUrl}:7:65`);
    // Frames and texts without a mapped location.
    expect(resolver.resolveText('ModuleJob.run (node:internal/modules/esm/module_job:325:25)')).toBeUndefined();
    expect(resolver.resolveText('async Promise.all (index 0)')).toBeUndefined();
    expect(resolver.resolveText(`eval (eval at run (${url}:5:21), <anonymous>:1:1)`)).toBeUndefined();
    expect(resolver.resolveText(`${url}:8`)).toBeUndefined();
    expect(resolver.resolveText('')).toBeUndefined();
    expect(resolver.resolveText('(((')).toBeUndefined();
  });

  it('greatest lower bound: a column inside a mapped token maps to its start; before the first mapping, none', () => {
    const resolver = new SourceMapResolver();
    const generated = readFileSync(leakJs, 'utf8').split('\n');
    expect(generated[4]).toBe('        const err = new Error(options.label);');
    // Column 23 is inside "new" (21..23): the segment at 21.
    expect(resolver.resolve(leakJs, 5, 23)).toEqual({ file: leakTs, line: 7, column: 65 });
    // "Error" starts at 25 and maps to its own original column.
    expect(resolver.resolve(leakJs, 5, 25)).toEqual({ file: leakTs, line: 7, column: 69 });
    // The column just before a segment belongs to the previous one: 20 is the blank after "=" (segment at 18), 24 the blank after "new".
    expect(resolver.resolve(leakJs, 5, 20)).toEqual({ file: leakTs, line: 7, column: 55 });
    expect(resolver.resolve(leakJs, 5, 24)).toEqual({ file: leakTs, line: 7, column: 65 });
    // Indentation before the first mapping of the line (at 9, "const"): nothing.
    expect(resolver.resolve(leakJs, 5, 1)).toBeUndefined();
    expect(resolver.resolve(leakJs, 5, 8)).toBeUndefined();
    expect(resolver.resolve(leakJs, 5, 9)).toEqual({ file: leakTs, line: 7, column: 46 });
    // Past the end of the line: the last segment (";" at 45 → 89, then the end at 46 → 90).
    expect(resolver.resolve(leakJs, 5, 1000)).toEqual({ file: leakTs, line: 7, column: 90 });
    // Lines past the mappings, line 0, column 0, non-integers: nothing.
    expect(resolver.resolve(leakJs, 500, 1)).toBeUndefined();
    expect(resolver.resolve(leakJs, 0, 21)).toBeUndefined();
    expect(resolver.resolve(leakJs, 5, 0)).toBeUndefined();
    expect(resolver.resolve(leakJs, 5.5, 21)).toBeUndefined();
  });

  it('finds the map by an absolute path or a file URL in the comment, and resolves sources against the map location', () => {
    const code = readFileSync(leakJs, 'utf8');
    const mapPath = `${leakJs}.map`;
    const withComment = (name: string, url: string): string => {
      const file = join(dir, 'dist', name);
      writeFileSync(file, code.replace(/sourceMappingURL=.*$/, `sourceMappingURL=${url}`));
      return file;
    };
    const resolver = new SourceMapResolver();
    expect(resolver.resolve(withComment('abs.mjs', mapPath), 5, 21)).toEqual({ file: leakTs, line: 7, column: 65 });
    expect(resolver.resolve(withComment('url.mjs', pathToFileURL(mapPath).href), 5, 21)).toEqual({ file: leakTs, line: 7, column: 65 });
    // The map moved two directories down: its "../src/leak.mts" now means dist/maps/src/leak.mts.
    mkdirSync(join(dir, 'dist', 'maps', 'deep'), { recursive: true });
    copyFileSync(mapPath, join(dir, 'dist', 'maps', 'deep', 'leak.mjs.map'));
    expect(resolver.resolve(withComment('deep.mjs', 'maps/deep/leak.mjs.map'), 5, 21)).toEqual({ file: join(dir, 'dist', 'maps', 'src', 'leak.mts'), line: 7, column: 65 });
    // Percent-encoded relative URL.
    mkdirSync(join(dir, 'dist', 'm a p s'));
    copyFileSync(mapPath, join(dir, 'dist', 'm a p s', 'leak.mjs.map'));
    expect(resolver.resolve(withComment('encoded.mjs', 'm%20a%20p%20s/leak.mjs.map'), 5, 21)).toEqual({ file: join(dir, 'dist', 'src', 'leak.mts'), line: 7, column: 65 });
  });

  it('a heap snapshot closure location, formatted by the tool, resolves to the original function', async () => {
    const snapshotPath = join(dir, 'leak.heapsnapshot');
    execFileSync(process.execPath, [leakJs, snapshotPath], { env: nodeEnv, encoding: 'utf8' });
    const graph = new HeapGraph(await loadSnapshot(snapshotPath));
    const index = new LocationIndex(graph);
    const located = (name: string): string => {
      for (let node = 0; node < graph.nodeCount; node++) {
        if (graph.nodeTypeName(node) === 'closure' && graph.nodeName(node) === name) {
          const location = index.locationOf(node);
          if (location) return formatLocation(location);
        }
      }
      throw new Error(`no closure ${name}`);
    };
    const resolver = new SourceMapResolver();
    const url = pathToFileURL(leakJs).href;
    const tsUrl = pathToFileURL(leakTs).href;
    // V8 places a function at the "(" of its parameters (snapshot: 0-based; formatted: 1-based).
    const worker = located('leakyWorker');
    expect(worker).toBe(`${url}:10:48`);
    expect(readFileSync(leakJs, 'utf8').split('\n')[9]!.slice(47, 48)).toBe('(');
    expect(positionOf(LEAK_MTS, '(first: number, second: Pair<string>): number {')).toEqual({ line: 13, column: 119 });
    expect(resolver.resolveText(worker)).toEqual({ original: `${tsUrl}:13:119`, generated: worker, position: { file: leakTs, line: 13, column: 119 } });
    const doubler = located('doubler');
    expect(doubler).toBe(`${url}:13:24`);
    expect(positionOf(LEAK_MTS, '(value: number)')).toEqual({ line: 16, column: 24 });
    expect(resolver.resolveText(doubler)?.original).toBe(`${tsUrl}:16:24`);
  });
});

describe('inline map (CommonJS, inlineSourceMap: true, path frames)', () => {
  it('the throw site and its callers resolve exactly (columns in UTF-16 units, as V8 and maps count)', () => {
    const resolver = new SourceMapResolver();
    const fail = frameOf(throwerFrames, 'fail (');
    expect(fail).toBe(`fail (${throwerJs}:3:53)`);
    expect(readFileSync(throwerJs, 'utf8')).toMatch(/\/\/# sourceMappingURL=data:application\/json;base64,/);
    expect(positionOf(THROWER_CTS, 'new Error(prefix')).toEqual({ line: 2, column: 75 });
    expect(resolver.resolveText(fail)).toEqual({ original: `fail (${throwerTs}:2:75)`, generated: fail, position: { file: throwerTs, line: 2, column: 75 } });

    const run = frameOf(throwerFrames, 'run (');
    expect(partsOf(run)).toMatchObject({ line: 6, column: 9 });
    expect(positionOf(THROWER_CTS, 'fail(`')).toEqual({ line: 5, column: 43 });
    expect(resolver.resolveText(run)?.original).toBe(`run (${throwerTs}:5:43)`);

    const top = frameOf(throwerFrames, 'Object.<anonymous> (');
    expect(positionOf(THROWER_CTS, 'run(1)')).toEqual({ line: 8, column: 1 });
    expect(resolver.resolveText(top)?.original).toBe(`Object.<anonymous> (${throwerTs}:8:1)`);
    // frameText-style with a space in the path.
    expect(resolver.resolveText(`fail ${throwerJs}:3:53`)?.original).toBe(`fail ${throwerTs}:2:75`);
  });

  it('reads ;charset=utf-8;base64 and percent-encoded data URLs too, and refuses bad base64', () => {
    const code = readFileSync(throwerJs, 'utf8');
    const base64 = /;base64,([A-Za-z0-9+/=]+)/.exec(code)![1]!;
    const json = Buffer.from(base64, 'base64').toString('utf8');
    const variant = (name: string, url: string): string => {
      const file = join(dir, 'with space', name);
      writeFileSync(file, code.replace(/sourceMappingURL=.*$/, `sourceMappingURL=${url}`));
      return file;
    };
    const resolver = new SourceMapResolver();
    const expected = { file: throwerTs, line: 2, column: 75 };
    expect(resolver.resolve(variant('charset.cjs', `data:application/json;charset=utf-8;base64,${base64}`), 3, 53)).toEqual(expected);
    expect(resolver.resolve(variant('percent.cjs', `data:application/json,${encodeURIComponent(json)}`), 3, 53)).toEqual(expected);
    expect(resolver.resolve(variant('bad-base64.cjs', `data:application/json;base64,${base64.slice(0, 40)}!!${base64.slice(40)}`), 3, 53)).toBeUndefined();
    expect(resolver.resolve(variant('cut-base64.cjs', `data:application/json;base64,${base64.slice(0, 101)}`), 3, 53)).toBeUndefined();
    expect(resolver.resolve(variant('no-comma.cjs', 'data:application/json;base64'), 3, 53)).toBeUndefined();
  });
});

describe('index map (sections)', () => {
  it('frames in two sections of a real bundle resolve to their own original files', () => {
    const resolver = new SourceMapResolver();
    const callA = frameOf(bundleFrames, 'callA (');
    expect(partsOf(callA)).toMatchObject({ script: bundleJs, line: 4, column: 15 });
    expect(positionOf(A_TS, 'new Error(')).toEqual({ line: 2, column: 57 });
    expect(resolver.resolveText(callA)?.position).toEqual({ file: aTs, line: 2, column: 57 });

    // b's first line sits after a prefix: the section's column offset applies on that line.
    const top = frameOf(bundleFrames, 'Object.<anonymous> (');
    expect(partsOf(top)).toMatchObject({ line: aLines + 1, column: B_PREFIX.length + 16 });
    expect(positionOf(B_TS, 'callA(3)')).toEqual({ line: 1, column: 36 });
    expect(resolver.resolveText(top)?.original).toBe(`Object.<anonymous> (${bTs}:1:36)`);
    // On that line, before b's offset, is section a, which has no line there.
    expect(resolver.resolve(bundleJs, aLines + 1, 3)).toBeUndefined();
  });

  it('an index map nested in a section (one more level) works the same', () => {
    const map = JSON.parse(readFileSync(`${bundleJs}.map`, 'utf8')) as object;
    writeFileSync(`${bundleJs}.nested.map`, JSON.stringify({ version: 3, sections: [{ offset: { line: 0, column: 0 }, map }] }));
    const nested = join(dir, 'bundle', 'out', 'nested.js');
    writeFileSync(nested, readFileSync(bundleJs, 'utf8').replace(/sourceMappingURL=.*$/, 'sourceMappingURL=bundle.js.nested.map'));
    const resolver = new SourceMapResolver();
    expect(resolver.resolve(nested, 4, 15)).toEqual({ file: aTs, line: 2, column: 57 });
    expect(resolver.resolve(nested, aLines + 1, B_PREFIX.length + 16)).toEqual({ file: bTs, line: 1, column: 36 });
  });

  it('sections out of order or with bad offsets make the map unusable', () => {
    const resolver = new SourceMapResolver();
    const sub = { version: 3, sources: ['x.ts'], names: [], mappings: 'AAAA' };
    const maps: Record<string, unknown> = {
      'unordered.js': { version: 3, sections: [{ offset: { line: 2, column: 0 }, map: sub }, { offset: { line: 1, column: 0 }, map: sub }] },
      'negative.js': { version: 3, sections: [{ offset: { line: -1, column: 0 }, map: sub }] },
      'no-offset.js': { version: 3, sections: [{ map: sub }] },
    };
    for (const [name, map] of Object.entries(maps)) {
      const file = join(dir, name);
      writeFileSync(file, `x;\n//# sourceMappingURL=data:application/json,${encodeURIComponent(JSON.stringify(map))}\n`);
      expect(resolver.resolve(file, 2, 1), name).toBeUndefined();
    }
    // A section whose map is broken maps nothing; the others still work.
    const mixed = join(dir, 'mixed.js');
    const good = { offset: { line: 1, column: 0 }, map: sub };
    writeFileSync(mixed, `x;\n//# sourceMappingURL=data:application/json,${encodeURIComponent(JSON.stringify({ version: 3, sections: [{ offset: { line: 0, column: 0 }, map: { version: 3 } }, good] }))}\n`);
    expect(resolver.resolve(mixed, 1, 1)).toBeUndefined();
    expect(resolver.resolve(mixed, 2, 1)).toEqual({ file: join(dir, 'x.ts'), line: 1, column: 1 });
  });
});

describe('sourceRoot and source URLs', () => {
  it('TypeScript-written sourceRoot (absolute file URL, relative, webpack://) is applied', () => {
    const rootsDir = join(dir, 'roots');
    const resolver = new SourceMapResolver();
    const cases: Array<[string, string]> = [
      ['file:///opt/app/src-root/', '/opt/app/src-root/leak.mts'],
      ['../../src', join(dir, 'src', 'leak.mts')],
      ['webpack://my-addon/src', 'webpack://my-addon/src/leak.mts'],
    ];
    cases.forEach(([sourceRoot, expected], k) => {
      const outDir = join(rootsDir, String(k));
      compile([leakTs], { target: ts.ScriptTarget.ES2022, module: ts.ModuleKind.NodeNext, moduleResolution: ts.ModuleResolutionKind.NodeNext, sourceMap: true, sourceRoot, rootDir: join(dir, 'src'), outDir });
      const map = JSON.parse(readFileSync(join(outDir, 'leak.mjs.map'), 'utf8')) as { sourceRoot: string; sources: string[] };
      expect(map.sources).toEqual(['leak.mts']);
      expect(map.sourceRoot).toBe(sourceRoot.endsWith('/') ? sourceRoot : `${sourceRoot}/`);
      expect(resolver.resolve(join(outDir, 'leak.mjs'), 5, 21)).toEqual({ file: expected, line: 7, column: 65 });
    });
  });

  it('a sourceRoot without a trailing "/" gets one; URL sources are kept as written; names are returned', () => {
    const resolver = new SourceMapResolver();
    const write = (name: string, map: object): string => {
      const file = join(dir, 'maps', name);
      mkdirSync(dirname(file), { recursive: true });
      writeFileSync(`${file}.map`, JSON.stringify(map));
      writeFileSync(file, `code();\n//# sourceMappingURL=${name}.map\n`);
      return file;
    };
    // Segment: column 0 → source 0, line 4, column 2, name 1.
    const mappings = vlq(0, 0, 4, 2, 1);
    expect(resolver.resolve(write('root.js', { version: 3, sourceRoot: 'lib', sources: ['a.ts'], names: ['x', 'callMe'], mappings }), 1, 1)).toEqual({ file: join(dir, 'maps', 'lib', 'a.ts'), line: 5, column: 3, name: 'callMe' });
    expect(resolver.resolve(write('webpack.js', { version: 3, sources: ['webpack:///./src/x.ts?abc1'], names: ['x', 'callMe'], mappings }), 1, 1)).toEqual({ file: 'webpack:///./src/x.ts?abc1', line: 5, column: 3, name: 'callMe' });
    expect(resolver.resolve(write('absolute.js', { version: 3, sources: ['/abs/where/a.ts'], names: ['x', 'y'], mappings }), 1, 1)).toMatchObject({ file: '/abs/where/a.ts' });
    expect(resolver.resolve(write('fileurl.js', { version: 3, sources: ['file:///abs/w%20s/a.ts'], names: ['x', 'y'], mappings }), 1, 1)).toMatchObject({ file: '/abs/w s/a.ts' });
    // resolveText shows a non-file source URL as is.
    expect(resolver.resolveText(`f (${pathToFileURL(join(dir, 'maps', 'webpack.js')).href}:1:1)`)?.original).toBe('f (webpack:///./src/x.ts?abc1:5:3)');
    // A null source, or a segment without one (1 field), maps to nothing.
    expect(resolver.resolve(write('null-source.js', { version: 3, sources: [null], names: [], mappings: vlq(0, 0, 0, 0) }), 1, 1)).toBeUndefined();
    expect(resolver.resolve(write('one-field.js', { version: 3, sources: ['a.ts'], names: [], mappings: `${vlq(0)},${vlq(4, 0, 0, 0)}` }), 1, 3)).toBeUndefined();
    expect(resolver.resolve(join(dir, 'maps', 'one-field.js'), 1, 5)).toEqual({ file: join(dir, 'maps', 'a.ts'), line: 1, column: 1 });
    // An XSSI guard line before the JSON.
    const guarded = write('guard.js', {});
    writeFileSync(`${guarded}.map`, `)]}'\n${JSON.stringify({ version: 3, sources: ['g.ts'], names: [], mappings: vlq(0, 0, 1, 1) })}`);
    expect(resolver.resolve(guarded, 1, 1)).toEqual({ file: join(dir, 'maps', 'g.ts'), line: 2, column: 2 });
  });
});

describe('decoding', () => {
  it('the test VLQ encoder agrees with the spec examples', () => {
    expect(vlq(0, 0, 0, 0)).toBe('AAAA');
    expect(vlq(1)).toBe('C');
    expect(vlq(-1)).toBe('D');
    expect(vlq(16)).toBe('gB');
    expect(vlq(-2147483647)).toBe('//////D');
  });

  it('decodes into typed arrays, lines and relative fields as the spec says', () => {
    const decoded = decodeMappings(`${vlq(2, 0, 1, 3)},${vlq(5, 1, -1, 2, 0)};;${vlq(1)},${vlq(3, -1, 4, -5)}`, 2, 1)!;
    expect(decoded.lineStarts).toEqual(Uint32Array.from([0, 2, 2, 4]));
    expect(Array.from(decoded.segments)).toEqual([2, 0, 1, 3, -1, 7, 1, 0, 5, 0, 1, -1, 0, 0, -1, 4, 0, 4, 0, -1]);
    // Mappings shared by every fault case below.
    for (const bad of ['AAAA,!', 'AA', 'AAA', 'AAAAAA', 'g', 'AAAAA;AACA', `${vlq(0, 2, 0, 0)}`, `${vlq(0, 0, -1, 0)}`, `${vlq(-1)}`, '//////////D', 'AAAA,AAAAB']) {
      expect(decodeMappings(bad, 2, 0), bad).toBeUndefined();
    }
    expect(decodeMappings('', 0, 0)!.lineStarts).toEqual(Uint32Array.from([0, 0]));
    expect(decodeMappings(`,,${vlq(0)},`, 0, 0)!.segments.length).toBe(5);
  });

  it('sorts segments a map wrote out of order; of equal columns the first wins', () => {
    const resolver = new SourceMapResolver({ readFile: (p) => (p === '/virtual/s.js' ? `x\n//# sourceMappingURL=s.js.map` : p === '/virtual/s.js.map' ? JSON.stringify(map) : undefined) });
    // Line 0, as written: column 10 → original line 10, column 0 → line 0, column 10 again → line 20.
    const map = { version: 3, sources: ['s.ts'], names: [], mappings: `${vlq(10, 0, 10, 0)},${vlq(-10, 0, -10, 0)},${vlq(10, 0, 20, 0)}` };
    expect(resolver.resolve('/virtual/s.js', 1, 1)).toEqual({ file: '/virtual/s.ts', line: 1, column: 1 });
    expect(resolver.resolve('/virtual/s.js', 1, 11)).toEqual({ file: '/virtual/s.ts', line: 11, column: 1 });
    expect(resolver.resolve('/virtual/s.js', 1, 999)).toEqual({ file: '/virtual/s.ts', line: 11, column: 1 });
  });

  it('a million segments decode and answer 500 lookups exactly', () => {
    const lines: string[] = [];
    // 10,000 lines of 100 segments, one every 4 columns, each line on original line = its index.
    const next = vlq(4, 0, 0, 4);
    for (let l = 0; l < 10_000; l++) lines.push([l === 0 ? vlq(0, 0, 0, 0) : `${vlq(0, 0, 1, -396)}`, ...Array<string>(99).fill(next)].join(','));
    const mappings = lines.join(';');
    const resolver = new SourceMapResolver({ readFile: (p) => (p === '/big/b.js' ? '//# sourceMappingURL=b.js.map' : p === '/big/b.js.map' ? JSON.stringify({ version: 3, sources: ['b.ts'], names: [], mappings }) : undefined) });
    for (let k = 0; k < 500; k++) {
      const line = (k * 7919) % 10_000;
      const column = (k * 31) % 400;
      expect(resolver.resolve('/big/b.js', line + 1, column + 1)).toEqual({ file: '/big/b.ts', line: line + 1, column: column - (column % 4) + 1 });
    }
  });
});

describe('finding the map', () => {
  it('the annotation must end the script (blank and comment lines may follow); legacy //@ and /*# */ forms', () => {
    expect(sourceMappingURL('x();\n//# sourceMappingURL=a.js.map\n')).toBe('a.js.map');
    expect(sourceMappingURL('x();\r\n//# sourceMappingURL=a.js.map\r\n\r\n')).toBe('a.js.map');
    expect(sourceMappingURL('x();\n//@ sourceMappingURL=old.map')).toBe('old.map');
    expect(sourceMappingURL('x();\n/*# sourceMappingURL=css-style.map */')).toBe('css-style.map');
    expect(sourceMappingURL('x();\n//# sourceMappingURL=a.js.map\n// trailing comment\n')).toBe('a.js.map');
    expect(sourceMappingURL('//# sourceMappingURL=first.map\n//# sourceMappingURL=last.map\n')).toBe('last.map');
    // Code after it: not the script's annotation.
    expect(sourceMappingURL('//# sourceMappingURL=a.js.map\nx();\n')).toBeUndefined();
    // Inside a string literal.
    expect(sourceMappingURL("const s = '//# sourceMappingURL=a.js.map';\n")).toBeUndefined();
    expect(sourceMappingURL('')).toBeUndefined();
  });

  it('a script without the comment: no map, read once, and no .map guessed next to it', () => {
    const script = join(dir, 'plain.js');
    writeFileSync(script, 'console.log(1);\n');
    // A map next to it, which must not be used.
    writeFileSync(`${script}.map`, JSON.stringify({ version: 3, sources: ['p.ts'], names: [], mappings: 'AAAA' }));
    const { readFile, reads } = countingReader();
    const resolver = new SourceMapResolver({ readFile });
    expect(resolver.resolve(script, 1, 1)).toBeUndefined();
    expect(resolver.resolve(script, 1, 5)).toBeUndefined();
    expect(resolver.resolveText(`f (${script}:1:1)`)).toBeUndefined();
    expect([...reads]).toEqual([[script, 1]]);
    // clear() forgets it: the next lookup reads the script again.
    resolver.clear();
    expect(resolver.resolve(script, 1, 1)).toBeUndefined();
    expect([...reads]).toEqual([[script, 2]]);
  });

  it('a missing map file, a missing script, an unreadable one: undefined, each read once', () => {
    const script = join(dir, 'missing-map.js');
    writeFileSync(script, 'x();\n//# sourceMappingURL=nowhere.js.map\n');
    const { readFile, reads } = countingReader();
    const resolver = new SourceMapResolver({ readFile });
    expect(resolver.resolve(script, 1, 1)).toBeUndefined();
    expect(resolver.resolve(script, 1, 1)).toBeUndefined();
    expect(resolver.resolve(join(dir, 'no-such-script.js'), 1, 1)).toBeUndefined();
    expect(resolver.resolve(join(dir, 'no-such-script.js'), 2, 1)).toBeUndefined();
    expect([...reads]).toEqual([
      [script, 1],
      [join(dir, 'nowhere.js.map'), 1],
      [join(dir, 'no-such-script.js'), 1],
    ]);
    // A directory, a throwing reader, non-file schemes (never read).
    expect(new SourceMapResolver().resolve(dir, 1, 1)).toBeUndefined();
    expect(new SourceMapResolver({ readFile: () => { throw new Error('boom'); } }).resolve(script, 1, 1)).toBeUndefined();
    const none = countingReader();
    const schemes = new SourceMapResolver({ readFile: none.readFile });
    expect(schemes.resolve('node:internal/modules/cjs/loader', 1, 1)).toBeUndefined();
    expect(schemes.resolve('https://example.com/a.js', 1, 1)).toBeUndefined();
    expect(schemes.resolve('file://not-local-host/x.js', 1, 1)).toBeUndefined();
    expect(none.reads.size).toBe(0);
    // A map comment with an http URL is not fetched.
    const remote = join(dir, 'remote.js');
    writeFileSync(remote, 'x();\n//# sourceMappingURL=https://example.com/remote.js.map\n');
    const remoteReads = countingReader();
    expect(new SourceMapResolver({ readFile: remoteReads.readFile }).resolve(remote, 1, 1)).toBeUndefined();
    expect([...remoteReads.reads.keys()]).toEqual([remote]);
  });

  it('a corrupted mappings string, broken JSON, a wrong version: undefined, never a throw', () => {
    const map = JSON.parse(readFileSync(`${leakJs}.map`, 'utf8')) as { mappings: string };
    const code = readFileSync(leakJs, 'utf8');
    const variant = (name: string, mapText: string): string => {
      const file = join(dir, 'dist', name);
      writeFileSync(`${file}.map`, mapText);
      writeFileSync(file, code.replace(/sourceMappingURL=.*$/, `sourceMappingURL=${name}.map`));
      return file;
    };
    const resolver = new SourceMapResolver();
    // One bad character near the end spoils the whole map, even lines before it.
    const corrupted = `${map.mappings.slice(0, -5)}*${map.mappings.slice(-4)}`;
    expect(resolver.resolve(variant('corrupt.mjs', JSON.stringify({ ...map, mappings: corrupted })), 5, 21)).toBeUndefined();
    expect(resolver.resolve(variant('truncated.mjs', JSON.stringify({ ...map, mappings: `${map.mappings}g` })), 5, 21)).toBeUndefined();
    expect(resolver.resolve(variant('json.mjs', readFileSync(`${leakJs}.map`, 'utf8').slice(0, 50)), 5, 21)).toBeUndefined();
    expect(resolver.resolve(variant('version.mjs', JSON.stringify({ ...map, version: 2 })), 5, 21)).toBeUndefined();
    expect(resolver.resolve(variant('nomap.mjs', 'null'), 5, 21)).toBeUndefined();
    expect(resolver.resolve(variant('types.mjs', JSON.stringify({ ...map, mappings: 7 })), 5, 21)).toBeUndefined();
    expect(resolver.resolveText(`f (${join(dir, 'dist', 'corrupt.mjs')}:5:21)`)).toBeUndefined();
    // The intact map still works, in the same resolver.
    expect(resolver.resolve(leakJs, 5, 21)).toEqual({ file: leakTs, line: 7, column: 65 });
  });

  it('files over 64 MB are not read (by size, before reading)', () => {
    // A script one byte over the limit whose map would answer if the file were read.
    const big = join(dir, 'big.js');
    const annotation = '\n//# sourceMappingURL=big.js.map\n';
    writeFileSync(join(dir, 'big.js.map'), JSON.stringify({ version: 3, sources: ['big.ts'], names: [], mappings: 'AAAA' }));
    writeFileSync(big, '');
    truncateSync(big, MAX_FILE_BYTES + 1); // sparse: only the annotation at the end is written
    const fd = openSync(big, 'r+');
    writeSync(fd, annotation, MAX_FILE_BYTES + 1 - annotation.length);
    closeSync(fd);
    expect(new SourceMapResolver().resolve(big, 1, 1)).toBeUndefined();
    truncateSync(big, MAX_FILE_BYTES - 1);
    const fd2 = openSync(big, 'r+');
    writeSync(fd2, annotation, MAX_FILE_BYTES - 1 - annotation.length);
    closeSync(fd2);
    expect(new SourceMapResolver().resolve(big, 1, 1)).toEqual({ file: join(dir, 'big.ts'), line: 1, column: 1 });
    // A custom reader's text is held to the same limit.
    let huge: string | undefined = `${'x'.repeat(MAX_FILE_BYTES)}\n//# sourceMappingURL=data:application/json,{}`;
    expect(new SourceMapResolver({ readFile: () => huge }).resolve('/huge.js', 1, 1)).toBeUndefined();
    huge = undefined;
  });
});
