import { startStepsWorker, workerStep, type FunctionWorker, type WorkerStep } from '../threads/function-worker.js';
import { essentialBitmapBytes } from './essential-edges.js';
import type { HeapGraph } from './heap-graph.js';
import { buildRetainers, fillRetainers, retainerInput, type Retainers } from './retainers.js';
import { computeShallowSizes, fillShallowSizes, shallowSizeInput, type ShallowSizes } from './shallow-sizes.js';
import { NODE_SCRATCH_MAX_NODES } from '../snapshot/heap-snapshot.js';

// The dominator computation on big graphs, spread over two threads:
//   this thread:   essential edges (counting each node's retainers) → DFS → semi-dominators … retained sizes
//   the worker:    shallow sizes → waits for the essential edges → retainer lists (needed after the DFS)
// Only when the graph's arrays are shared memory (the loader allocates them so
// when the meta gives their sizes); a failed step means the pass runs here.

/**
 * Below this many nodes (a snapshot of ~340 MB) the passes run on this
 * thread. A worker costs ~13 MB of resident memory while it lives, plus the
 * shallow sizes and their scratch it cannot take from the dominator
 * computation's spent arrays (dominators.ts lends them when the passes run
 * here): ~25 MB, a fifth of a 127 MB snapshot's peak, for ~60 ms there (load
 * + dominators 0.97 → 1.03 s, peak 201 → 192 MiB). From a few million nodes
 * on, the time saved grows and the memory is a few percent.
 */
// The loader's node scratch (snapshot/heap-snapshot.ts) stops where this worker starts: one or the other.
const WORKER_MIN_NODES = NODE_SCRATCH_MAX_NODES;

/** Generous limits: the passes take about a second per 10 million nodes. */
const START_MS = 10_000;
const runMs = (graph: HeapGraph): number => 60_000 + graph.edgeCount / 50;

export interface PendingShallowSizes {
  /** The sizes: from the worker, or computed here if the worker failed. */
  result(): ShallowSizes;
}

export interface PendingRetainers {
  /** Fill these (computeEssentialEdges), then call essentialDone(true); essentialDone(false) if that failed. */
  essential: Uint8Array;
  counts: Uint32Array;
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

export interface GraphPasses {
  shallow: PendingShallowSizes | undefined;
  retainers: PendingRetainers | undefined;
}

/**
 * Starts one worker for the passes asked for: shallow sizes first (they need
 * nothing else, and are done while this thread computes the essential edges),
 * then the retainer lists (they wait for the essential edges and their
 * counts). One thread, not one per pass: each costs some 15 MB while alive.
 * Undefined handles: run the pass here.
 */
export function startGraphPasses(graph: HeapGraph, wanted: { shallow: boolean; retainers: boolean }, minNodes = WORKER_MIN_NODES, retainerScratch?: Uint32Array): GraphPasses {
  const none: GraphPasses = { shallow: undefined, retainers: undefined };
  if (!isBigAndShared(graph, minNodes) || (!wanted.shallow && !wanted.retainers)) return none;
  const steps: WorkerStep[] = [];
  // Uint32: a size past 2^32 makes the step fail, and the pass runs here in Float64.
  const sizes = wanted.shallow ? new Uint32Array(new SharedArrayBuffer(graph.nodeCount * 4)) : undefined;
  if (sizes) steps.push(workerStep(fillShallowSizes, shallowSizeInput(graph, sizes)));
  const shallowStep = steps.length;
  let lists: { essential: Uint8Array; ready: Int32Array; firstRetainer: Uint32Array; retainingNode: Uint32Array } | undefined;
  if (wanted.retainers) {
    lists = {
      essential: new Uint8Array(new SharedArrayBuffer(essentialBitmapBytes(graph.edgeCount))),
      ready: new Int32Array(new SharedArrayBuffer(4)),
      firstRetainer: new Uint32Array(new SharedArrayBuffer((graph.nodeCount + 1) * 4)),
      // Room for every edge: the count is not known until the counts are in.
      // The unused tail (non-retaining edges) is never touched, so it costs
      // address space, not memory. Shared scratch the graph lends (the word an
      // edge that packing freed) costs nothing at all.
      retainingNode: retainerScratch?.buffer instanceof SharedArrayBuffer ? retainerScratch : new Uint32Array(new SharedArrayBuffer(graph.edgeCount * 4)),
    };
    // The counts come with the essential edges (computeEssentialEdges): the step only fills the lists.
    steps.push(workerStep(fillRetainers, retainerInput(graph, lists.firstRetainer, lists.retainingNode, lists.essential, lists.ready, true)));
  }
  const running = tryStart(() => startStepsWorker(steps));
  if (!running) return none;
  // The worker ends by itself after its last step; it is stopped early only when a wait gives up on it.
  const collect = (step: number): boolean => {
    const done = running.waitSync(START_MS, runMs(graph), step);
    if (!done) void running.stop();
    return done;
  };
  let abandoned = false;
  return {
    shallow: sizes && { result: () => (collect(shallowStep) ? sizes : computeShallowSizes(graph)) },
    retainers: lists && {
      essential: lists.essential,
      counts: lists.firstRetainer,
      essentialDone(filled) {
        abandoned = !filled;
        // 1: go ahead; 2: the essential edges were not computed, give up (the
        // worker must not wait forever holding the graph).
        Atomics.store(lists!.ready, 0, filled ? 1 : 2);
        Atomics.notify(lists!.ready, 0);
      },
      result() {
        const { firstRetainer, retainingNode } = lists!;
        return collect(steps.length) && !abandoned ? { firstRetainer, retainingNode: retainingNode.subarray(0, firstRetainer[graph.nodeCount]) } : buildRetainers(graph, retainerScratch);
      },
    },
  };
}
