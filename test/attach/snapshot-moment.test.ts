import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { InspectorClient } from '../../src/attach/inspector-client.js';
import { snapshotAtMoment } from '../../src/attach/snapshot-moment.js';
import { HeapGraph } from '../../src/graph/heap-graph.js';
import { loadSnapshot } from '../../src/snapshot/load.js';
import { repoRoot } from '../helpers/run-cli.js';

// A real target (test/scenarios/clock-ticks.cjs) and the real inspector: the
// clock reading that comes with each snapshot is checked against the heap
// itself, tick by tick.

const scratch = mkdtempSync(join(tmpdir(), 'napi-heapdiff-moment-'));
const children: ChildProcess[] = [];
afterAll(() => {
  for (const child of children) child.kill('SIGKILL');
  rmSync(scratch, { recursive: true, force: true });
});

async function startTarget(args: string[] = []): Promise<InspectorClient> {
  const child = spawn(process.execPath, [join(repoRoot, 'test', 'scenarios', 'clock-ticks.cjs'), ...args], { stdio: ['ignore', 'pipe', 'ignore'] });
  children.push(child);
  const url = await new Promise<string>((resolve) => child.stdout!.once('data', (chunk: Buffer) => resolve(chunk.toString().trim())));
  return InspectorClient.connect(url);
}

function ticksInHeap(graph: HeapGraph): number {
  let count = 0;
  for (let node = 0; node < graph.nodeCount; node++) {
    if (graph.nodeType(node) === graph.layout.nodeType.object && graph.nodeName(node) === 'Tick') count++;
  }
  return count;
}

async function tickTimes(client: InspectorClient): Promise<number[]> {
  const reply = await client.send<{ result: { value: number[] } }>('Runtime.evaluate', { expression: 'globalThis.clockTickTimes', returnByValue: true });
  return reply.result.value;
}

describe('snapshotAtMoment: the clock reading is the heap\'s moment', () => {
  it('10 snapshots of a program that adds an object every millisecond: the heap holds exactly the objects created up to the reading', async () => {
    const client = await startTarget();
    const file = join(scratch, 'ticks.heapsnapshot');
    const mismatches: string[] = [];
    for (let i = 0; i < 10; i++) {
      const taken = await snapshotAtMoment(client, file, { requestTimeoutMs: 30_000, holdTimeoutMs: 5_000 });
      expect(taken).toMatchObject({ exact: true, attempts: 1 });
      expect(statSync(file).size).toBe(taken.bytes);
      const heap = ticksInHeap(new HeapGraph(await loadSnapshot(file)));
      const upToReading = (await tickTimes(client)).filter((us) => us <= taken.reading.us).length;
      if (heap !== upToReading) mismatches.push(`snapshot ${i + 1}: heap ${heap}, up to the reading ${upToReading}`);
      await new Promise((resolve) => setTimeout(resolve, 3 + i * 7));
    }
    expect(mismatches).toEqual([]);
    await client.close();
  });

  it('a blocked event loop: the snapshot is taken where the program is, without waiting for it, and the target runs on', async () => {
    const client = await startTarget(['block']);
    await new Promise((resolve) => setTimeout(resolve, 600));
    const started = Date.now();
    const taken = await snapshotAtMoment(client, join(scratch, 'blocked.heapsnapshot'), { requestTimeoutMs: 30_000, holdTimeoutMs: 0 });
    // Well inside the 3 s block: nothing waited for the loop.
    expect(Date.now() - started).toBeLessThan(2_000);
    // The program was in its own loop, not in an async hook: the reading still stands.
    expect(taken).toMatchObject({ exact: true, attempts: 1 });
    // Once the block is over, the program's timer runs again: nothing of ours holds it.
    await new Promise((resolve) => setTimeout(resolve, 4_000));
    const reply = await client.send<{ result: { value: [number, number] } }>('Runtime.evaluate', { expression: '[globalThis.clockTickTimes.at(-1), Number(process.hrtime.bigint() / 1000n)]', returnByValue: true });
    const [lastTick, now] = reply.result.value;
    expect(now - lastTick).toBeLessThan(200_000);
    await client.close();
  });
});
