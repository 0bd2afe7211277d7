import type { HeapGraph } from './heap-graph.js';

export interface ClassAggregate {
  className: string;
  count: number;
  selfSize: number;
  /** Retained size of the class as DevTools' Summary shows it: nodes nested under another node of the same class are not counted twice. */
  retainedSize: number;
}

/**
 * Count, self size and retained size per class, like DevTools' Summary view.
 * Walks the dominator tree once, iteratively, tracking which classes are open
 * on the current path.
 */
export function aggregateByClass(graph: HeapGraph): ClassAggregate[] {
  const { nodeCount } = graph;
  // Dominators first: the class index is then built in memory they are done with.
  const { dominator, retainedSize } = graph.dominators();
  const { classOf, names } = graph.classes();
  const shallow = graph.shallowSizes();
  const count = new Float64Array(names.length);
  const self = new Float64Array(names.length);
  const retained = new Float64Array(names.length);
  for (let o = 0; o < nodeCount; o++) {
    const cls = classOf[o]!;
    count[cls]!++;
    self[cls]! += shallow[o]!;
  }

  // Children lists of the dominator tree (CSR), root excluded as a child:
  // counts, inclusive prefix sums (each slot then holds the end of its list),
  // and a fill from the last node down that moves each slot to its start, so
  // lists come out in ascending order with no second array of cursors.
  // In the snapshot's edge scratch when it is free (it holds both lists at
  // 2 words a node; edges outnumber nodes), else their own memory.
  const scratch = graph.borrowScratch(2 * nodeCount + 1);
  try {
    aggregateRetained(graph, scratch, classOf, names.length, dominator, retainedSize, shallow, retained);
  } finally {
    if (scratch) graph.returnScratch();
  }

  const result: ClassAggregate[] = [];
  for (let cls = 0; cls < names.length; cls++) {
    if (count[cls] === 0) continue;
    result.push({ className: names[cls]!, count: count[cls]!, selfSize: self[cls]!, retainedSize: retained[cls]! });
  }
  return result;
}

/** Adds each class's retained size (nested nodes of a class counted once) to `retained`, walking the dominator tree. */
function aggregateRetained(graph: HeapGraph, scratch: Uint32Array | undefined, classOf: Uint32Array, classCount: number, dominator: Uint32Array, retainedSize: Uint32Array | Float64Array, shallow: ArrayLike<number>, retained: Float64Array): void {
  const { nodeCount } = graph;
  const root = graph.rootOrdinal;
  const firstChild = scratch ? scratch.subarray(0, nodeCount + 1).fill(0) : new Uint32Array(nodeCount + 1);
  for (let o = 0; o < nodeCount; o++) if (o !== root) firstChild[dominator[o]!]!++;
  let sum = 0;
  for (let o = 0; o < nodeCount; o++) {
    sum += firstChild[o]!;
    firstChild[o] = sum;
  }
  firstChild[nodeCount] = sum;
  const children = scratch ? scratch.subarray(nodeCount + 1, nodeCount + 1 + sum) : new Uint32Array(sum);
  for (let o = nodeCount - 1; o >= 0; o--) if (o !== root) children[--firstChild[dominator[o]!]!] = o;

  // Depth-first over the dominator tree; a node counts for its class unless an
  // ancestor of the same class already counted it. A node that counted pushes
  // a mark to leave it by (node + nodeCount) under its children. The stack is
  // a typed array that grows: at 4 GB a node can have millions of children.
  const open = new Uint32Array(classCount);
  let stack = new Uint32Array(1 << 16);
  let top = 0;
  stack[top++] = root;
  while (top > 0) {
    const entry = stack[--top]!;
    if (entry >= nodeCount) {
      open[classOf[entry - nodeCount]!]!--;
      continue;
    }
    const cls = classOf[entry]!;
    const first = firstChild[entry]!;
    const end = firstChild[entry + 1]!;
    const counts = open[cls] === 0 && shallow[entry]! > 0;
    if (top + 1 + end - first > stack.length) {
      const bigger = new Uint32Array(Math.max(stack.length * 2, top + 1 + end - first));
      bigger.set(stack.subarray(0, top));
      stack = bigger;
    }
    if (counts) {
      retained[cls]! += retainedSize[entry]!;
      open[cls]!++;
      stack[top++] = entry + nodeCount;
    }
    for (let k = first; k < end; k++) stack[top++] = children[k]!;
  }
}
