import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { AnalysisResult, AsyncContextRow, ReferenceRow } from '../../src/analysis/result.js';
import type { CaptureManifest } from '../../src/capture-folder/manifest.js';
import { repoRoot, runCli, type CliResult } from './run-cli.js';

// Shared by test/attribution.test.ts, test/raw-snapshots.test.ts and
// test/real-addon.test.ts: run the built CLI in a child process and read the
// JSON it wrote.

export const fixturesDir = join(repoRoot, 'native-fixtures');

/** What `capture --json` writes: the analysis plus the capture's own outcome. */
export interface CaptureJson extends AnalysisResult {
  capture: { ok: boolean; failure: string | null; manifestPath: string; snapshotFiles: string[]; manifest: CaptureManifest };
}

export interface CliRun<T> extends CliResult {
  json: T;
}

/** The last non-empty line of a text. */
export const lastLine = (text: string): string => text.trimEnd().split('\n').at(-1) ?? '';

/**
 * `napi-heapdiff capture --scenario <module> --iterations n --snapshots k
 * --warmup w --out <outDir> --json <outDir>.json`, and the JSON it wrote. A
 * capture whose JSON is missing throws with the child's stderr.
 */
export function captureScenario(module: string, options: { iterations: number; snapshots: number; warmup: number; outDir: string; timeout?: number; extra?: string[] }): CliRun<CaptureJson> {
  const jsonFile = `${options.outDir}.json`;
  const result = runCli(
    ['capture', '--scenario', module, '--iterations', String(options.iterations), '--snapshots', String(options.snapshots), '--warmup', String(options.warmup), '--out', options.outDir, '--json', jsonFile, ...(options.extra ?? [])],
    { timeout: options.timeout ?? 170_000 },
  );
  if (!existsSync(jsonFile)) throw new Error(`capture of ${module} wrote no JSON (exit ${result.code}, signal ${result.signal}):\n${result.stderr}`);
  return { ...result, json: JSON.parse(readFileSync(jsonFile, 'utf8')) as CaptureJson };
}

/** `napi-heapdiff diff <files...> [--iterations n] --json <jsonFile>`, and the JSON it wrote. */
export function diffSnapshots(files: string[], options: { iterations?: number; jsonFile: string }): CliRun<AnalysisResult> {
  const args = ['diff', ...files, ...(options.iterations === undefined ? [] : ['--iterations', String(options.iterations)]), '--json', options.jsonFile];
  const result = runCli(args);
  if (!existsSync(options.jsonFile)) throw new Error(`diff wrote no JSON (exit ${result.code}, signal ${result.signal}):\n${result.stderr}`);
  return { ...result, json: JSON.parse(readFileSync(options.jsonFile, 'utf8')) as AnalysisResult };
}

/** The subset of a scenario module's `meta` export these tests read. */
export interface ScenarioMeta {
  scenario: string;
  twin?: 'leak' | 'ok';
  asyncNames: string[];
  leakedAsyncPerIteration: number;
  leakedRefsPerIteration?: number;
  retainedFunction?: { name: string; file: string; line: number };
  [key: string]: unknown;
}

/**
 * A scenario module's `meta`, read in a separate `node` process: importing
 * the fixture here would load its native addon into the test runner.
 */
export function readMeta(module: string): ScenarioMeta {
  const script = `import(${JSON.stringify(pathToFileURL(module).href)}).then((m) => process.stdout.write(JSON.stringify(m.meta)))`;
  const child = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8', timeout: 30_000 });
  if (child.status !== 0) throw new Error(`reading meta of ${module} failed: ${child.stderr}`);
  return JSON.parse(child.stdout) as ScenarioMeta;
}

/**
 * Where V8 says the function `name` begins, as the analysis prints it
 * (`<file URL>:<line>:<column>`, both 1-based): V8 positions a function at
 * the `(` of its parameter list. Found in the module's source text, so the
 * expectation comes from the file, not from the tool under test.
 */
export function functionLocation(file: string, name: string): { line: number; column: number; text: string } {
  const lines = readFileSync(file, 'utf8').split('\n');
  const needle = `function ${name}(`;
  const index = lines.findIndex((l) => l.includes(needle));
  if (index < 0) throw new Error(`no "${needle}" in ${file}`);
  const column = lines[index]!.indexOf(needle) + needle.length; // 0-based index of "(" plus 1
  return { line: index + 1, column, text: `${pathToFileURL(file).href}:${index + 1}:${column}` };
}

/** Exactly one async-context row with this name, or a readable failure. */
export function asyncRow(result: AnalysisResult, name: string): AsyncContextRow {
  const rows = result.asyncContexts.filter((row) => row.name === name);
  if (rows.length !== 1) throw new Error(`expected one async-context row "${name}", got ${rows.length}; rows: ${result.asyncContexts.map((r) => r.name).join(', ')}`);
  return rows[0]!;
}

/** Exactly one reference row with this name, or a readable failure. */
export function referenceRow(result: AnalysisResult, name: string): ReferenceRow {
  const rows = result.references.filter((row) => row.name === name);
  if (rows.length !== 1) throw new Error(`expected one reference row "${name}", got ${rows.length}; rows: ${result.references.map((r) => r.name).join(', ')}`);
  return rows[0]!;
}

/** Builds the native fixtures (a no-op when they are up to date), as test/capture.test.ts does. */
export function buildFixtures(): { status: number | null; stderr: string } {
  const build = spawnSync(process.execPath, [join(fixturesDir, 'build.mjs')], { cwd: repoRoot, encoding: 'utf8', timeout: 170_000 });
  return { status: build.status, stderr: build.stderr };
}

export const helperPath = (name: string): string => fileURLToPath(new URL(`./${name}`, import.meta.url));
