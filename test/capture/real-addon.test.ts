import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { asyncRow, captureScenario, lastLine, readMeta, type CaptureJson, type CliRun, type ScenarioMeta } from '../helpers/attribution-capture.js';
import { repoRoot } from '../helpers/run-cli.js';

// A real third-party addon used correctly: bcrypt 6 (node-addon-api, loaded
// from its prebuilt binary) through its async API, in
// test/scenarios/bcrypt-loop.mjs. Per iteration: 1 genSalt
// (bcrypt:SaltAsyncWorker), 1 hash (bcrypt:EncryptAsyncWorker), 2 compare
// (bcrypt:CompareAsyncWorker). node-addon-api deletes each AsyncWorker after
// its completion callback, so every context is destroyed and nothing grows.
// Warm-up 4, then 100 iterations per phase: 204 iterations by the last snapshot.

const ITERATIONS = 100;
const WARMUP = 4;
const RAN = WARMUP + 2 * ITERATIONS;
const module = join(repoRoot, 'test', 'scenarios', 'bcrypt-loop.mjs');

const scratch = mkdtempSync(join(tmpdir(), 'napi heapdiff bcrypt-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

describe('bcrypt 6, async hash/compare, captured with the agent', () => {
  let run: CliRun<CaptureJson>;
  let meta: ScenarioMeta;
  beforeAll(() => {
    meta = readMeta(module);
    run = captureScenario(module, { iterations: ITERATIONS, snapshots: 3, warmup: WARMUP, outDir: join(scratch, 'bcrypt') });
  });

  it('bcrypt loads from its prebuilt binary (no build from source in node_modules)', () => {
    const script = "const r = require.resolve('bcrypt'); const b = require('node-gyp-build')(require('path').dirname(r)); console.log(typeof b.encrypt, require('bcrypt/package.json').version)";
    const child = spawnSync(process.execPath, ['-e', script], { cwd: repoRoot, encoding: 'utf8' });
    expect(child.stderr).toBe('');
    expect(child.stdout).toMatch(/^function 6\.\d+\.\d+\n$/);
    const where = spawnSync(process.execPath, ['-e', "console.log(require('node-gyp-build').path(require('path').dirname(require.resolve('bcrypt'))))"], { cwd: repoRoot, encoding: 'utf8' });
    expect(where.stdout).toContain(`${join('node_modules', 'bcrypt', 'prebuilds')}`);
  });

  it('verdict clean, exit 0; same process, the agent found', () => {
    expect(run.code, run.stderr).toBe(0);
    expect(run.json.verdict).toBe('clean');
    expect(lastLine(run.stdout)).toBe('no leak: no group grew at every step');
    expect(run.json.capture.ok).toBe(true);
    expect(run.json.agent).toEqual({ found: true, node: process.version });
    expect(run.json.comparison).toBe('identity');
    expect(run.json.notes).toEqual([]);
    expect(run.json.references).toEqual([]);
  });

  it('the async contexts seen are exactly bcrypt\'s own AsyncWorker names, named by the agent', () => {
    expect(meta.asyncNames).toEqual(['bcrypt:SaltAsyncWorker', 'bcrypt:EncryptAsyncWorker', 'bcrypt:CompareAsyncWorker']);
    // Rows are sorted by growth, then name: all 0, so by name.
    expect(run.json.asyncContexts.map((row) => row.name)).toEqual(['bcrypt:CompareAsyncWorker', 'bcrypt:EncryptAsyncWorker', 'bcrypt:SaltAsyncWorker']);
    for (const row of run.json.asyncContexts) expect(row.named, row.name).toBe(true);
  });

  it('every bcrypt context was destroyed: live 0 → 0 → 0, growth 0, 0/iteration, stable; hook counts = calls made', () => {
    const calls = meta.callsPerIteration as Record<string, number>;
    expect(calls).toEqual({ 'bcrypt:SaltAsyncWorker': 1, 'bcrypt:EncryptAsyncWorker': 1, 'bcrypt:CompareAsyncWorker': 2 });
    for (const name of meta.asyncNames) {
      const row = asyncRow(run.json, name);
      const n = calls[name]! * RAN;
      expect({ name, live: row.live, growth: row.growth, perIteration: row.perIteration, verdict: row.verdict }).toEqual({ name, live: [0, 0, 0], growth: 0, perIteration: 0, verdict: 'stable' });
      // Queued work: init, before/after around the completion callback, destroy.
      expect(row.counters, name).toEqual({ init: n, destroy: n, before: n, after: n });
      expect(row.unclosedCallbackScopes, name).toBe(0);
      // No bcrypt context is alive in any snapshot: there are no objects to compare by id.
      expect(row.identity, name).toBeNull();
      expect(row.creationSites, name).toEqual([]);
    }
  });
});
