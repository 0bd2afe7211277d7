import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ATTACH_TRACE_FILE, clearFolder, traceFilesOf } from '../../src/capture-folder/files.js';
import { readManifest, type CaptureManifest } from '../../src/capture-folder/manifest.js';
import type { AnalysisResult } from '../../src/analysis/result.js';
import { captureScenario } from '../helpers/attribution-capture.js';
import { repoRoot, runCli } from '../helpers/run-cli.js';

// The capture folder is one format, owned by one module: a ledger is only
// ever joined to the snapshots of the capture that recorded it.

const scratch = mkdtempSync(join(tmpdir(), 'napi-heapdiff-folder-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

/** An attach's trace.json with one context of `name` begun and never destroyed, at time 1 µs. */
function staleTrace(folder: string, name: string): void {
  const event = { pid: 1, tid: 1, ts: 1, tts: 0, ph: 'b', cat: 'node,node.async_hooks', name, dur: 0, tdur: 0, id: '0x10', args: {} };
  writeFileSync(join(folder, ATTACH_TRACE_FILE), JSON.stringify({ traceEvents: [event] }));
}

describe('the capture folder', () => {
  it('a stale trace.json in a reused folder is cleared by the next capture and never joined to its snapshots', () => {
    const out = join(scratch, 'reused');
    mkdirSync(out);
    staleTrace(out, 'stale_attach_name');
    const run = captureScenario(join(repoRoot, 'test', 'scenarios', 'js-leak.mjs'), { iterations: 5, snapshots: 2, warmup: 0, outDir: out });
    expect(run.code, run.stderr).toBe(1);
    expect(existsSync(join(out, ATTACH_TRACE_FILE))).toBe(false);
    expect(run.json.ledger).toEqual({ found: true });
    expect(run.json.asyncContexts.map((row) => row.name)).not.toContain('stale_attach_name');
    // Planted again after the capture: diff of the folder still reads only the scenario's own trace files.
    staleTrace(out, 'stale_attach_name');
    const json = join(scratch, 'reused-diff.json');
    const diff = runCli(['diff', out, '--json', json]);
    expect(diff.code, diff.stderr).toBe(1);
    const result = JSON.parse(readFileSync(json, 'utf8')) as AnalysisResult;
    expect(result.asyncContexts.map((row) => row.name)).not.toContain('stale_attach_name');
    expect(result.asyncContexts.map((row) => row.name).sort()).toEqual(run.json.asyncContexts.map((row) => row.name).sort());
  });

  it('traceFilesOf: a scenario folder gives its process\'s trace-<pid>-<n>.log only; an attach folder its trace.json', () => {
    const folder = join(scratch, 'names');
    mkdirSync(folder);
    for (const name of ['trace-100-1.log', 'trace-100-2.log', 'trace-200-1.log', ATTACH_TRACE_FILE, 'trace-x-1.log']) writeFileSync(join(folder, name), '');
    const scenario = { mode: 'scenario', snapshots: [{ pid: 100 }] } as unknown as CaptureManifest;
    expect(traceFilesOf(folder, scenario, undefined).map((f) => f.slice(folder.length + 1))).toEqual(['trace-100-1.log', 'trace-100-2.log']);
    expect(traceFilesOf(folder, { ...scenario, mode: 'command' } as CaptureManifest, 100)).toEqual([]);
    expect(traceFilesOf(folder, { mode: 'attach', snapshots: [] } as never, 100)).toEqual([join(folder, ATTACH_TRACE_FILE)]);
    // Clearing removes every trace file and temporary, whatever the previous manifest listed.
    writeFileSync(join(folder, '.snapshot-1.heapsnapshot.42.tmp'), '');
    writeFileSync(join(folder, 'mine.txt'), '');
    clearFolder(folder, undefined);
    expect(readdirSync(folder).sort()).toEqual(['mine.txt', 'trace-x-1.log']);
    expect(readManifest(folder)).toBeUndefined();
  });
});
