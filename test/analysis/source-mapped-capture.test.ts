import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import ts from 'typescript';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { asyncRow, buildFixtures, captureScenario, fixturesDir, referenceRow, type CaptureJson } from '../helpers/attribution-capture.js';

// A scenario written in TypeScript, compiled with its source map (as addon
// wrappers ship them), captured by the real CLI: creation sites and the
// locations of held functions are shown in the .mts the user wrote, and the
// JSON keeps the generated position beside it.

const scratch = mkdtempSync(join(tmpdir(), 'napi-heapdiff-sourcemaps-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

// Types and blank lines move every position: the generated lines and columns
// differ from these.
const SOURCE = `import { createRequire } from 'node:module';

interface Binding {
  leak(): void;
}
interface References {
  leak(fn: () => number): void;
}

const load = createRequire(import.meta.url);
const contexts: Binding = load(${JSON.stringify(join(fixturesDir, 'null-resource', 'build', 'Release', 'null_resource.node'))});
const references: References = load(${JSON.stringify(join(fixturesDir, 'reference', 'build', 'Release', 'reference.node'))});

export function iteration(i: number): void {
  const kept: number = i * 2;
  contexts.leak();
  references.leak(function typedCallback(): number { return kept; });
}
`;

let run: CaptureJson;
let generated: string;
let original: string;
beforeAll(() => {
  expect(buildFixtures().status).toBe(0);
  const src = join(scratch, 'src');
  mkdirSync(src);
  original = join(src, 'scenario.mts');
  writeFileSync(original, SOURCE);
  const program = ts.createProgram([original], { target: ts.ScriptTarget.ES2022, module: ts.ModuleKind.NodeNext, moduleResolution: ts.ModuleResolutionKind.NodeNext, sourceMap: true, rootDir: src, outDir: join(scratch, 'dist'), strict: true, types: [], skipLibCheck: true });
  const emitted = program.emit();
  expect(emitted.diagnostics).toEqual([]);
  generated = join(scratch, 'dist', 'scenario.mjs');
  run = captureScenario(generated, { iterations: 20, snapshots: 3, warmup: 2, outDir: join(scratch, 'capture') }).json;
});

/** 1-based line and column of `needle` in the TypeScript source (plus `offset` columns). */
function positionIn(source: string, needle: string, offset = 0): { line: number; column: number } {
  const lines = source.split('\n');
  const line = lines.findIndex((text) => text.includes(needle));
  return { line: line + 1, column: lines[line]!.indexOf(needle) + 1 + offset };
}

describe('a TypeScript scenario with a source map', () => {
  it('the creation site is the call in scenario.mts; the generated one is kept in the JSON', () => {
    const row = asyncRow(run, 'fixture_null_resource_leak');
    expect(row.verdict).toBe('leak');
    const site = row.creationSites[0]!;
    const at = positionIn(SOURCE, 'contexts.leak()', 'contexts.'.length);
    expect(site.original).toBe(`iteration (${pathToFileURL(original).href}:${at.line}:${at.column})`);
    expect(site.frame).toMatch(new RegExp(`^iteration \\(${pathToFileURL(generated).href.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:\\d+:\\d+\\)$`));
    expect(site.frame).not.toBe(site.original);
  });

  it('the function a napi_ref holds is located in scenario.mts (V8 places it at its parameter list)', () => {
    const row = referenceRow(run, 'typedCallback');
    const at = positionIn(SOURCE, 'function typedCallback(', 'function typedCallback'.length);
    expect(row.originalLocation).toBe(`${pathToFileURL(original).href}:${at.line}:${at.column}`);
    expect(row.location).toMatch(/dist\/scenario\.mjs:\d+:\d+$/);
  });
});
