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
  const { classOf, names } = graph.classes();
  const { dominator, retainedSize } = graph.dominators();
  const shallow = graph.shallowSizes();
  const count = new Float64Array(names.length);
  const self = new Float64Array(names.length);
  const retained = new Float64Array(names.length);
  for (let o = 0; o < nodeCount; o++) {
    const cls = classOf[o]!;
    count[cls]!++;
    self[cls]! += shallow[o]!;
  }

  // Children lists of the dominator tree (CSR), root excluded as a child.
  const root = graph.rootOrdinal;
  const firstChild = new Uint32Array(nodeCount + 1);
  for (let o = 0; o < nodeCount; o++) if (o !== root) firstChild[dominator[o]!]!++;
  let sum = 0;
  for (let o = 0; o < nodeCount; o++) {
    const c = firstChild[o]!;
    firstChild[o] = sum;
    sum += c;
  }
  firstChild[nodeCount] = sum;
  const fill = firstChild.slice(0, nodeCount);
  const children = new Uint32Array(sum);
  for (let o = 0; o < nodeCount; o++) if (o !== root) children[fill[dominator[o]!]!++] = o;

  // Depth-first over the dominator tree; a node counts for its class unless an
  // ancestor of the same class already counted it. A stack entry ≥ nodeCount
  // marks leaving node (entry - nodeCount).
  const open = new Uint32Array(names.length);
  const counted = new Uint8Array(nodeCount);
  const stack: number[] = [root];
  while (stack.length > 0) {
    const entry = stack.pop()!;
    if (entry >= nodeCount) {
      const o = entry - nodeCount;
      if (counted[o]) open[classOf[o]!]!--;
      continue;
    }
    const cls = classOf[entry]!;
    if (open[cls] === 0 && shallow[entry]! > 0) {
      retained[cls]! += retainedSize[entry]!;
      counted[entry] = 1;
      open[cls]!++;
    }
    stack.push(entry + nodeCount);
    for (let k = firstChild[entry]!, end = firstChild[entry + 1]!; k < end; k++) stack.push(children[k]!);
  }

  const result: ClassAggregate[] = [];
  for (let cls = 0; cls < names.length; cls++) {
    if (count[cls] === 0) continue;
    result.push({ className: names[cls]!, count: count[cls]!, selfSize: self[cls]!, retainedSize: retained[cls]! });
  }
  return result;
}
