import { spawnSync } from 'node:child_process';
import { createReadStream, mkdtempSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { aggregateByClass } from '../../src/graph/aggregate.js';
import { HeapGraph } from '../../src/graph/heap-graph.js';
import { loadSnapshot } from '../../src/snapshot/load.js';

interface Generated { records: number; bytes: number; nodeCount: number; edgeCount: number; baseNodes: number; baseEdges: number; hubNodes: number }

/** Runs bench/gen-stream.mjs for exactly `records` records; its summary line. */
function generate(file: string, records: number, seed = 7): Generated {
  const result = spawnSync(process.execPath, ['bench/gen-stream.mjs', '1', file, '--records', String(records), '--seed', String(seed)], { encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`gen-stream failed: ${result.stderr}`);
  return JSON.parse(result.stdout.trim().split('\n').at(-1)!) as Generated;
}

// 3000 records are 100 periods of 30 (see gen-stream.mjs): 12 users, 6 orders with 2, 3, 3, 4, 4
// and 2 line items, 3 sessions, 3 handlers, 3 log records and 3 cache entries each.
const RECORDS = 3000;
const PERIODS = RECORDS / 30;

describe('bench/gen-stream.mjs: a snapshot written record by record', () => {
  let file: string;
  let generated: Generated;
  let graph: HeapGraph;
  beforeAll(async () => {
    file = join(mkdtempSync(join(tmpdir(), 'napi-heapdiff-gen-')), 'g.heapsnapshot');
    generated = generate(file, RECORDS);
    graph = new HeapGraph(await loadSnapshot(file));
  });

  it('holds exactly the records asked for on top of the real snapshot of the generating process', () => {
    // Nodes per period: users 12 × 8, orders 6 × 7 + 3 × 18 line items, sessions 3 × 6, handlers 3 × 4, logs 3 × 2, cache 3 × 3.
    expect(generated.nodeCount).toBe(generated.baseNodes + generated.hubNodes + PERIODS * 237);
    expect(graph.nodeCount).toBe(generated.nodeCount);
    expect(graph.edgeCount).toBe(generated.edgeCount);
    expect(statSync(file).size).toBe(generated.bytes);
    const count = (name: string) => aggregateByClass(graph).find((row) => row.className === name)?.count;
    expect([count('User'), count('Address'), count('Order'), count('LineItem'), count('Session'), count('Date')]).toEqual([
      PERIODS * 12, PERIODS * 12, PERIODS * 6, PERIODS * 18, PERIODS * 3, PERIODS * 6,
    ]);
    // Closures with their source locations, as V8 writes them for closures and for objects with a constructor.
    const { locationFieldCount, locationObjectIndexOffset, fileNodeFieldCount: nodeFieldCount } = graph.layout;
    const locations = graph.snapshot.locations!;
    const located = new Map<string, number>();
    for (let i = 0; i < locations.length; i += locationFieldCount) {
      const o = locations[i + locationObjectIndexOffset]! / nodeFieldCount;
      const key = `${graph.nodeTypeName(o)} ${graph.nodeName(o)}`;
      located.set(key, (located.get(key) ?? 0) + 1);
    }
    expect([located.get('closure handleEvent'), located.get('closure onExpire'), located.get('object User'), located.get('object LineItem')]).toEqual([
      PERIODS * 3, PERIODS * 3, PERIODS * 12, PERIODS * 18,
    ]);
  });

  it('is retained from the global object: every record is reachable from the root', () => {
    const { unreachable, retainedSize } = graph.dominators();
    // Only the generating process's own unreachable nodes (its base) are left over.
    const ownUnreachable = unreachable.examples.filter((o) => o >= generated.baseNodes);
    expect(ownUnreachable).toEqual([]);
    const users = graph.classes().names.indexOf('User');
    const { classOf } = graph.classes();
    let usersRetained = 0;
    for (let o = generated.baseNodes; o < graph.nodeCount; o++) if (classOf[o] === users && retainedSize[o]! > 0) usersRetained++;
    expect(usersRetained).toBe(PERIODS * 12);
  });

  it('loads in DevTools (heap-snapshot-toolkit) with the same counts, dominators and retained sizes for every node', async () => {
    const { parse } = await import('heap-snapshot-toolkit');
    const devtools = await parse(createReadStream(file));
    expect(devtools.nodeCount).toBe(graph.nodeCount);
    expect(devtools.containmentEdges.length / devtools.edgeFieldsCount).toBe(graph.edgeCount);
    const { dominator, retainedSize } = graph.dominators();
    const node = devtools.createNode(0);
    let mismatches = 0;
    for (let o = 0; o < graph.nodeCount; o++) {
      node.nodeIndex = o * devtools.nodeFieldCount;
      if (node.retainedSize() !== retainedSize[o] || node.dominatorIndex() / devtools.nodeFieldCount !== dominator[o]) mismatches++;
    }
    expect(mismatches).toBe(0);
    expect(devtools.totalSize).toBe(retainedSize[graph.rootOrdinal]);
  });

  it('is the same file for the same seed, and another for another seed', () => {
    const dir = mkdtempSync(join(tmpdir(), 'napi-heapdiff-gen-'));
    const again = generate(join(dir, 'a.heapsnapshot'), RECORDS);
    const other = generate(join(dir, 'b.heapsnapshot'), RECORDS, 8);
    // The base is this process's heap, which differs run to run; the records do not.
    expect(again.nodeCount - again.baseNodes).toBe(generated.nodeCount - generated.baseNodes);
    expect(again.edgeCount - again.baseEdges).toBe(generated.edgeCount - generated.baseEdges);
    expect(other.nodeCount - other.baseNodes).toBe(generated.nodeCount - generated.baseNodes);
  });
});
