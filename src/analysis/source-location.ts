import { NONE, type HeapGraph } from '../graph/heap-graph.js';

/** Where a function was defined, 1-based like editors and stack traces. */
export interface SourceLocation {
  script: string;
  line: number;
  column: number;
}

export function formatLocation(location: SourceLocation): string {
  return `${location.script}:${location.line}:${location.column}`;
}

/**
 * Source positions of closures from the snapshot's `locations` section (V8
 * writes them for functions; 0-based line and column) and the script name from
 * the function's SharedFunctionInfo → Script node. Built once per graph.
 */
export class LocationIndex {
  private readonly objectIndexes: Uint32Array;
  private readonly order: Uint32Array | undefined;

  constructor(private readonly graph: HeapGraph) {
    const locations = graph.snapshot.locations ?? new Uint32Array(0);
    const { locationFieldCount, locationObjectIndexOffset } = graph.layout;
    const count = locationFieldCount > 0 && locationObjectIndexOffset >= 0 ? Math.floor(locations.length / locationFieldCount) : 0;
    this.objectIndexes = new Uint32Array(count);
    let sorted = true;
    for (let i = 0; i < count; i++) {
      this.objectIndexes[i] = locations[i * locationFieldCount + locationObjectIndexOffset]!;
      if (i > 0 && this.objectIndexes[i]! < this.objectIndexes[i - 1]!) sorted = false;
    }
    // V8 writes locations in node order; sort a permutation only if not.
    this.order = sorted ? undefined : Uint32Array.from({ length: count }, (_, i) => i).sort((a, b) => this.objectIndexes[a]! - this.objectIndexes[b]!);
  }

  /** The location of a closure node, or undefined. */
  locationOf(node: number): SourceLocation | undefined {
    const { graph } = this;
    const { locationFieldCount, locationLineOffset, locationColumnOffset, nodeFieldCount } = graph.layout;
    const wanted = node * nodeFieldCount;
    let low = 0;
    let high = this.objectIndexes.length - 1;
    const at = (k: number) => (this.order ? this.order[k]! : k);
    while (low <= high) {
      const mid = (low + high) >>> 1;
      const value = this.objectIndexes[at(mid)]!;
      if (value === wanted) {
        const base = at(mid) * locationFieldCount;
        const locations = graph.snapshot.locations!;
        return {
          script: scriptName(graph, node) ?? '<unknown script>',
          line: locations[base + locationLineOffset]! + 1,
          column: locations[base + locationColumnOffset]! + 1,
        };
      }
      if (value < wanted) low = mid + 1;
      else high = mid - 1;
    }
    return undefined;
  }
}

/** closure -shared-> SharedFunctionInfo -script…-> Script, which V8 names by its URL. */
function scriptName(graph: HeapGraph, closure: number): string | undefined {
  const shared = graph.findEdge(closure, 'internal', 'shared');
  if (shared === NONE) return undefined;
  const info = graph.edgeTarget(shared);
  for (let e = graph.firstEdge[info]!, end = graph.firstEdge[info + 1]!; e < end; e++) {
    // "script" on older V8, "script_or_debug_info" on newer.
    if (graph.edgeName(e).startsWith('script')) {
      const name = graph.nodeName(graph.edgeTarget(e));
      if (name !== '') return name;
    }
  }
  return undefined;
}
