import type { HeapGraph } from '../graph/heap-graph.js';
import { NONE } from '../graph/none.js';

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
  // Built on the first lookup: many snapshots need none.
  private objectIndexes: Uint32Array | undefined;
  private order: Uint32Array | undefined;
  private scans = 0;

  constructor(private readonly graph: HeapGraph) {}

  /** objectIndexes ascending; order[k] is the entry of the k-th (undefined when already in order). */
  private build(): Uint32Array {
    const locations = this.graph.snapshot.locations ?? new Uint32Array(0);
    const { locationFieldCount, locationObjectIndexOffset } = this.graph.layout;
    const count = locationFieldCount > 0 && locationObjectIndexOffset >= 0 ? Math.floor(locations.length / locationFieldCount) : 0;
    const objectIndexes = new Uint32Array(count);
    let sorted = true;
    for (let i = 0; i < count; i++) {
      objectIndexes[i] = locations[i * locationFieldCount + locationObjectIndexOffset]!;
      if (i > 0 && objectIndexes[i]! < objectIndexes[i - 1]!) sorted = false;
    }
    if (sorted) return (this.objectIndexes = objectIndexes);
    const largest = objectIndexes.reduce((a, b) => Math.max(a, b), 0);
    if ((largest + 1) * count > Number.MAX_SAFE_INTEGER) {
      const order = Uint32Array.from({ length: count }, (_, i) => i).sort((a, b) => objectIndexes[a]! - objectIndexes[b]!);
      this.order = order;
      return (this.objectIndexes = order.map((i) => objectIndexes[i]!));
    }
    // Not in node order (common): sort (object index, entry) pairs packed into
    // one exact double with the native numeric sort, no comparator calls.
    const keys = new Float64Array(count);
    for (let i = 0; i < count; i++) keys[i] = objectIndexes[i]! * count + i;
    keys.sort();
    const order = new Uint32Array(count);
    for (let k = 0; k < count; k++) {
      const key = keys[k]!;
      order[k] = key % count;
      objectIndexes[k] = (key - order[k]!) / count;
    }
    this.order = order;
    return (this.objectIndexes = objectIndexes);
  }

  /** The location of a closure node, or undefined. */
  locationOf(node: number): SourceLocation | undefined {
    const entry = this.entryOf(node * this.graph.layout.fileNodeFieldCount);
    if (entry < 0) return undefined;
    const { locationFieldCount, locationLineOffset, locationColumnOffset } = this.graph.layout;
    const base = entry * locationFieldCount;
    const locations = this.graph.snapshot.locations!;
    return {
      script: scriptName(this.graph, node) ?? '<unknown script>',
      line: locations[base + locationLineOffset]! + 1,
      column: locations[base + locationColumnOffset]! + 1,
    };
  }

  /**
   * The locations entry whose object index is `wanted`, or -1. The first few
   * lookups scan the section (a fraction of a millisecond each); the sorted
   * index pays off only past that (it takes ~40 ms at 350k closures, and a
   * census typically asks a few dozen).
   */
  private entryOf(wanted: number): number {
    if (!this.objectIndexes && ++this.scans <= SCANS_BEFORE_INDEX) {
      const locations = this.graph.snapshot.locations ?? new Uint32Array(0);
      const { locationFieldCount, locationObjectIndexOffset } = this.graph.layout;
      if (locationFieldCount <= 0 || locationObjectIndexOffset < 0) return -1;
      const count = Math.floor(locations.length / locationFieldCount);
      for (let k = 0, i = locationObjectIndexOffset; k < count; k++, i += locationFieldCount) {
        if (locations[i] === wanted) return k;
      }
      return -1;
    }
    const objectIndexes = this.objectIndexes ?? this.build();
    let low = 0;
    let high = objectIndexes.length - 1;
    while (low <= high) {
      const mid = (low + high) >>> 1;
      const value = objectIndexes[mid]!;
      if (value === wanted) return this.order ? this.order[mid]! : mid;
      if (value < wanted) low = mid + 1;
      else high = mid - 1;
    }
    return -1;
  }
}

const SCANS_BEFORE_INDEX = 64;

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
