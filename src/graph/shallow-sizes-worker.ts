import { startFunctionWorker } from '../threads/function-worker.js';
import type { HeapGraph } from './heap-graph.js';
import { computeShallowSizes, fillShallowSizes, shallowSizeInput } from './shallow-sizes.js';

/** Below this many nodes the pass takes less time than starting a thread. */
const WORKER_MIN_NODES = 500_000;

export interface PendingShallowSizes {
  /** The sizes: from the worker, or computed here if the worker failed. */
  result(): Float64Array;
}

/**
 * Starts the shallow-size pass on a second thread so it runs beside the
 * essential-edge and retainer passes (it needs neither). Only when the graph's
 * arrays are shared memory (the loader allocates them so when the meta gives
 * their sizes) and the graph is big enough to gain; otherwise undefined.
 */
export function startShallowSizes(graph: HeapGraph, minNodes = WORKER_MIN_NODES): PendingShallowSizes | undefined {
  const shared = (a: Uint32Array): boolean => a.buffer instanceof SharedArrayBuffer;
  if (graph.nodeCount < minNodes || !shared(graph.nodes) || !shared(graph.edges) || !shared(graph.firstEdge)) return undefined;
  const sizes = new Float64Array(new SharedArrayBuffer(graph.nodeCount * 8));
  const running = startFunctionWorker(fillShallowSizes, shallowSizeInput(graph, sizes));
  return {
    result() {
      // Generous limits: the pass takes about a second per 10 million nodes.
      const done = running.waitSync(10_000, 60_000 + graph.nodeCount / 50);
      void running.stop();
      return done ? sizes : computeShallowSizes(graph);
    },
  };
}
