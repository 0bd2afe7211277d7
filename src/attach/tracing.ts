import { join } from 'node:path';
import { ATTACH_TRACE_FILE } from '../capture-folder/files.js';
import { writeFileAtomic } from '../util/atomic-write.js';
import type { InspectorClient } from './inspector-client.js';


export interface TraceRecorder {
  /** Stops tracing and writes what was collected; resolves when the target said it is complete. */
  stop(outDir: string, timeoutMs: number): Promise<number>;
}

/**
 * Switches on Node's async_hooks trace events in the target over the same
 * inspector connection (NodeTracing domain): a begin per init and an end per
 * destroy for every async type, native context names included — the exact
 * lifecycle ledger. Events arrive in `NodeTracing.dataCollected` chunks and
 * end with `NodeTracing.tracingComplete` after stop.
 */
export async function startTracing(client: InspectorClient, timeoutMs: number): Promise<TraceRecorder> {
  const events: unknown[] = [];
  let lastData = 0;
  let complete = false;
  const offData = client.on('NodeTracing.dataCollected', (params) => {
    lastData = Date.now();
    const value = (params as { value?: unknown[] }).value;
    if (Array.isArray(value)) for (const event of value) events.push(event);
  });
  const offComplete = client.on('NodeTracing.tracingComplete', () => {
    complete = true;
  });
  await client.send('NodeTracing.start', { traceConfig: { includedCategories: ['node.async_hooks'] } }, { timeoutMs });
  return {
    async stop(outDir, stopTimeoutMs) {
      const stoppedAt = Date.now();
      await client.send('NodeTracing.stop', {}, { timeoutMs: stopTimeoutMs });
      // Node announces tracingComplete and then sends the buffered chunks from
      // its tracing thread: wait for completion and a quiet spell after the last chunk.
      while (Date.now() - stoppedAt < stopTimeoutMs && client.isOpen) {
        if (complete && Date.now() - Math.max(lastData, stoppedAt) >= QUIET_MS) break;
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      offData();
      offComplete();
      writeFileAtomic(join(outDir, ATTACH_TRACE_FILE), JSON.stringify({ traceEvents: events }));
      return events.length;
    },
  };
}

/** Chunks of one flush follow each other within milliseconds. */
const QUIET_MS = 500;
