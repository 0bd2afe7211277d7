import { startFunctionWorker, type FunctionWorker } from '../threads/function-worker.js';
import { essentialBitmapBytes } from './essential-edges.js';
import type { HeapGraph } from './heap-graph.js';
import { buildRetainers, fillRetainers, retainerInput, type Retainers } from './retainers.js';
import { computeShallowSizes, fillShallowSizes, shallowSizeInput, type ShallowSizes } from './shallow-sizes.js';

// The dominator computation on big graphs, spread over threads:
//   this thread:   essential edges → DFS → semi-dominators … retained sizes
//   worker 1:      shallow sizes (needs nothing else)
//   worker 2:      waits for the essential edges → retainers (needed after the DFS)
// Only when the graph's arrays are shared memory (the loader allocates them so
// when the meta gives their sizes); a failed worker means the pass runs here.

/** Below this many nodes a pass takes less time than starting a thread. */
const WORKER_MIN_NODES = 500_000;

/** Generous limits: the passes take about a second per 10 million nodes. */
const START_MS = 10_000;
const runMs = (graph: HeapGraph): number => 60_000 + graph.edgeCount / 50;

export interface PendingShallowSizes {
  /** The sizes: from the worker, or computed here if the worker failed. */
  result(): ShallowSizes;
}

export interface PendingRetainers {
  /** Fill this (computeEssentialEdges), then call essentialDone(true); essentialDone(false) if that failed. */
  essential: Uint8Array;
  essentialDone(filled: boolean): void;
  result(): Retainers;
}

/** A worker, or undefined where none can be started (e.g. a permission model without --allow-worker). */
function tryStart(start: () => FunctionWorker): FunctionWorker | undefined {
  try {
    return start();
  } catch {
    return undefined;
  }
}

function isBigAndShared(graph: HeapGraph, minNodes: number): boolean {
  const shared = (a: Uint32Array): boolean => a.buffer instanceof SharedArrayBuffer;
  return graph.nodeCount >= minNodes && shared(graph.nodes) && shared(graph.edges) && shared(graph.firstEdge);
}

export function startShallowSizes(graph: HeapGraph, minNodes = WORKER_MIN_NODES): PendingShallowSizes | undefined {
  if (!isBigAndShared(graph, minNodes)) return undefined;
  // Uint32: a size past 2^32 makes the worker fail, and the pass runs here in Float64.
  const sizes = new Uint32Array(new SharedArrayBuffer(graph.nodeCount * 4));
  const running = tryStart(() => startFunctionWorker(fillShallowSizes, shallowSizeInput(graph, sizes)));
  if (!running) return undefined;
  return {
    result() {
      const done = running.waitSync(START_MS, runMs(graph));
      void running.stop();
      return done ? sizes : computeShallowSizes(graph);
    },
  };
}

export function startRetainers(graph: HeapGraph, minNodes = WORKER_MIN_NODES): PendingRetainers | undefined {
  if (!isBigAndShared(graph, minNodes)) return undefined;
  const essential = new Uint8Array(new SharedArrayBuffer(essentialBitmapBytes(graph.edgeCount)));
  const ready = new Int32Array(new SharedArrayBuffer(4));
  const firstRetainer = new Uint32Array(new SharedArrayBuffer((graph.nodeCount + 1) * 4));
  // Room for every edge: the essential count is not known until the worker
  // has counted. The unused tail (non-retaining edges, typically a few
  // percent) stays allocated: cutting it would cost a copy of the rest.
  const retainingNode = new Uint32Array(new SharedArrayBuffer(graph.edgeCount * 4));
  const running = tryStart(() => startFunctionWorker(fillRetainers, retainerInput(graph, firstRetainer, retainingNode, essential, ready)));
  if (!running) return undefined;
  let abandoned = false;
  return {
    essential,
    essentialDone(filled) {
      abandoned = !filled;
      // 1: go ahead; 2: the essential edges were not computed, give up (the
      // worker must not wait forever holding the graph).
      Atomics.store(ready, 0, filled ? 1 : 2);
      Atomics.notify(ready, 0);
    },
    result() {
      const done = running.waitSync(START_MS, runMs(graph));
      void running.stop();
      return done && !abandoned ? { firstRetainer, retainingNode: retainingNode.subarray(0, firstRetainer[graph.nodeCount]) } : buildRetainers(graph);
    },
  };
}
