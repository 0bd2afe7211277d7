import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { readAgentRecords, stringValue, type AgentNameView, type AgentRecords } from '../../src/analysis/agent-records.js';
import { HeapGraph } from '../../src/graph/heap-graph.js';
import { NONE } from '../../src/graph/none.js';
import { loadSnapshot } from '../../src/snapshot/load.js';
import { repoRoot } from '../helpers/run-cli.js';

// The agent's creation-stack sampling (src/agent/agent.cts, "What is exact
// and what is sampled"): every record among the first 1000 of a name has its
// own stack, later ones one in 64 on average; hook counts stay exact in any
// snapshot, including one the program writes itself.

const agent = join(repoRoot, 'dist', 'agent', 'agent.cjs');
const scratch = mkdtempSync(join(tmpdir(), 'napi-heapdiff-agent-cost-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

const NOT_SAMPLED = '(creation stack not sampled)';

// 3000 never-destroyed "cost_leak" contexts: 1 in 3 from siteA, 2 in 3 from
// siteB; 3000 "cost_ok" destroyed at once. The program writes the snapshot
// itself (no settle(), no refresh by the agent), right after its last event.
const SCRIPT = `'use strict';
const { AsyncResource } = require('node:async_hooks');
const { writeHeapSnapshot } = require('node:v8');
const kept = [];
function siteA() { kept.push(new AsyncResource('cost_leak', { requireManualDestroy: true })); }
function siteB() { kept.push(new AsyncResource('cost_leak', { requireManualDestroy: true })); }
for (let i = 0; i < 3000; i++) {
  if (i % 3 === 0) siteA(); else siteB();
  new AsyncResource('cost_ok', { requireManualDestroy: true }).emitDestroy();
}
// emitDestroy() queues the destroy hook; let it run, then one more event.
setImmediate(() => setImmediate(() => {
  new AsyncResource('cost_last', { requireManualDestroy: true });
  writeHeapSnapshot(process.argv[2]);
}));
`;

interface Run {
  view: AgentRecords;
  graph: HeapGraph;
}

async function runScript(label: string, env: NodeJS.ProcessEnv = {}): Promise<Run> {
  const script = join(scratch, `${label}.cjs`);
  writeFileSync(script, SCRIPT);
  const file = join(scratch, `${label}.heapsnapshot`);
  const r = spawnSync(process.execPath, ['--require', agent, script, file], { encoding: 'utf8', env: { ...process.env, ...env }, timeout: 120_000 });
  expect(r.stderr).toBe('');
  expect(r.status).toBe(0);
  const graph = new HeapGraph(await loadSnapshot(file));
  return { graph, view: readAgentRecords(graph) };
}

function byName(view: AgentRecords, name: string): AgentNameView {
  const entry = view.names.find((n) => n.name === name);
  if (!entry) throw new Error(`no agent entry for ${name}`);
  return entry;
}

function stringProp(graph: HeapGraph, node: number, name: string): string | undefined {
  const edge = graph.findEdge(node, 'property', name);
  return edge === NONE ? undefined : stringValue(graph, graph.edgeTarget(edge));
}

/** Name-entry node of `name` in the registry. */
function nameNode(graph: HeapGraph, registry: number, name: string): number {
  const names = graph.edgeTarget(graph.findEdge(registry, 'property', 'names'));
  for (let e = graph.firstEdge[names]!, end = graph.firstEdge[names + 1]!; e < end; e++) {
    const target = graph.edgeTarget(e);
    if (graph.edgeTypeName(e) === 'element' && stringProp(graph, target, 'name') === name) return target;
  }
  throw new Error(`no name node for ${name}`);
}

/** Per record: [stackCapture, first frame's function]. */
function recordKinds(graph: HeapGraph, entry: AgentNameView): Array<[string, string]> {
  return entry.records.map((record) => {
    const stack = stringProp(graph, record, 'stack') ?? '';
    return [stringProp(graph, record, 'stackCapture') ?? '?', stack.split(' ')[0]!];
  });
}

const tally = (pairs: Array<[string, string]>): Record<string, number> => {
  const out: Record<string, number> = {};
  for (const [kind, site] of pairs) out[`${kind} ${site}`] = (out[`${kind} ${site}`] ?? 0) + 1;
  return out;
};

describe('agent: creation-stack sampling', () => {
  it('default policy: first 1000 per name exact, then ~1 in 64; counts exact in a snapshot the program wrote', async () => {
    const { graph, view } = await runScript('default');
    expect(view.found).toBe(true);
    const registry = view.registry!.ordinal;
    expect(stringProp(graph, registry, 'stackSampling')).toBe('first=1000 every=64');
    expect(stringProp(graph, registry, 'stackSamplingNote')).toContain('1 in 64');

    // Hook counts: exact, although nobody refreshed them before the snapshot.
    const leak = byName(view, 'cost_leak');
    expect({ live: leak.live, ...leak.counters }).toEqual({ live: 3000, init: 3000, destroy: 0, before: 0, after: 0 });
    expect(byName(view, 'cost_ok').counters).toEqual({ init: 3000, destroy: 3000, before: 0, after: 0 });
    expect(byName(view, 'cost_ok').live).toBe(0);
    expect(byName(view, 'cost_last').counters).toEqual({ init: 1, destroy: 0, before: 0, after: 0 });

    // Records are named after their async type (DevTools' Summary), not after their constructor.
    expect(new Set(leak.records.map((record) => graph.nodeName(record)))).toEqual(new Set(['napi:cost_leak']));

    // Every record says how its stack was taken; the first 1000 are exact per site.
    const kinds = tally(recordKinds(graph, leak));
    expect(kinds['all siteA']).toBe(334);
    expect(kinds['all siteB']).toBe(666);
    const sampled = (kinds['sampled siteA'] ?? 0) + (kinds['sampled siteB'] ?? 0);
    const skipped = kinds[`skipped ${NOT_SAMPLED.split(' ')[0]}`] ?? 0;
    expect(sampled + skipped).toBe(2000);
    // Gaps of 1..127 records (mean 64): at least 15 samples in 2000 records, ~31 expected.
    expect(sampled).toBeGreaterThanOrEqual(15);
    expect(sampled).toBeLessThanOrEqual(80);
    expect(Object.keys(kinds).sort()).toEqual(
      ['all siteA', 'all siteB', 'sampled siteA', 'sampled siteB', `skipped ${NOT_SAMPLED.split(' ')[0]}`].filter((k) => kinds[k] !== undefined).sort(),
    );
    expect(stringProp(graph, nameNode(graph, registry, 'cost_leak'), 'stackCaptures')).toBe(`all=1000 sampled=${sampled}`);

    // What the reader makes of it: real stacks by site, the rest under the marker.
    const stackTotal = leak.stacks.reduce((n, s) => n + s.count, 0);
    expect(stackTotal).toBe(3000);
    expect(leak.stacks.find((s) => s.stack === NOT_SAMPLED)?.count).toBe(skipped);
    const siteA = leak.stacks.filter((s) => s.stack.startsWith('siteA ')).reduce((n, s) => n + s.count, 0);
    const siteB = leak.stacks.filter((s) => s.stack.startsWith('siteB ')).reduce((n, s) => n + s.count, 0);
    expect(siteA + siteB).toBe(1000 + sampled);
    // Two distinct creation stacks and the marker, whatever the counts.
    expect(new Set(leak.stacks.map((s) => s.stack)).size).toBe(3);
  });

  it('NAPI_HEAPDIFF_STACK_SAMPLING="first=0 every=1": every record has its stack, per-site counts exact', async () => {
    const { graph, view } = await runScript('every', { NAPI_HEAPDIFF_STACK_SAMPLING: 'first=0 every=1' });
    expect(stringProp(graph, view.registry!.ordinal, 'stackSampling')).toBe('first=0 every=1');
    const leak = byName(view, 'cost_leak');
    expect(tally(recordKinds(graph, leak))).toEqual({ 'sampled siteA': 1000, 'sampled siteB': 2000 });
    expect(leak.stacks.map((s) => [s.stack.split(' ')[0], s.count])).toEqual([
      ['siteB', 2000],
      ['siteA', 1000],
    ]);
  });

  it('NAPI_HEAPDIFF_STACK_SAMPLING="first=5000": all 3000 exact', async () => {
    const { graph, view } = await runScript('first5000', { NAPI_HEAPDIFF_STACK_SAMPLING: 'first=5000' });
    expect(stringProp(graph, view.registry!.ordinal, 'stackSampling')).toBe('first=5000 every=64');
    const leak = byName(view, 'cost_leak');
    expect(tally(recordKinds(graph, leak))).toEqual({ 'all siteA': 1000, 'all siteB': 2000 });
  });

  it('counts are a concatenated string after an event and flat after refreshCounts() (what settle() and command capture call)', async () => {
    const script = join(scratch, 'refresh.cjs');
    writeFileSync(
      script,
      `const { AsyncResource } = require('node:async_hooks');
      const { writeHeapSnapshot } = require('node:v8');
      const agent = require(${JSON.stringify(agent)});
      const kept = [new AsyncResource('refresh_a', { requireManualDestroy: true })];
      writeHeapSnapshot(process.argv[2]);
      agent.refreshCounts();
      writeHeapSnapshot(process.argv[3]);`,
    );
    const before = join(scratch, 'refresh-1.heapsnapshot');
    const after = join(scratch, 'refresh-2.heapsnapshot');
    const r = spawnSync(process.execPath, ['--require', agent, script, before, after], { encoding: 'utf8', timeout: 60_000 });
    expect(r.stderr).toBe('');
    const countsNode = async (file: string) => {
      const graph = new HeapGraph(await loadSnapshot(file));
      const view = readAgentRecords(graph);
      expect(byName(view, 'refresh_a').counters).toEqual({ init: 1, destroy: 0, before: 0, after: 0 });
      const node = nameNode(graph, view.registry!.ordinal, 'refresh_a');
      return graph.nodeTypeName(graph.edgeTarget(graph.findEdge(node, 'property', 'counts')));
    };
    expect(await countsNode(before)).toBe('concatenated string');
    expect(await countsNode(after)).toBe('string');
  });

  it('leaves Math.random alone (own PRNG): same sequence with --random-seed, with and without the agent', () => {
    const script = 'const { AsyncResource } = require("node:async_hooks"); const k = []; for (let i = 0; i < 3000; i++) k.push(new AsyncResource("rand_t", { requireManualDestroy: true })); console.log(Math.random(), Math.random())';
    const plain = spawnSync(process.execPath, ['--random-seed=7', '-e', script], { encoding: 'utf8' });
    const withAgent = spawnSync(process.execPath, ['--random-seed=7', '--require', agent, '-e', script], { encoding: 'utf8' });
    expect(plain.status).toBe(0);
    expect(withAgent.stdout).toBe(plain.stdout);
  });
});
