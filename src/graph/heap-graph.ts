import type { HeapSnapshot } from '../snapshot/heap-snapshot.js';
import type { SnapshotLayout } from '../snapshot/layout.js';
import { lastIndexAtOrBelow } from '../util/sorted.js';
import { NONE } from './none.js';
import type { StringTable } from '../snapshot/string-table.js';
import { computeClassIndex, type ClassIndex } from './class-index.js';
import { computeDistances, type Distances } from './distances.js';
import { computeDominators, type Dominators } from './dominators.js';
import { computeEssentialEdges, type EssentialScratch } from './essential-edges.js';
import { buildIdIndex, type IdIndex } from './id-index.js';
import { buildRetainers, type Retainers } from './retainers.js';
import { computeShallowSizes, type ShallowSizeMemory, type ShallowSizes } from './shallow-sizes.js';
import { hasSpareCpu } from '../threads/function-worker.js';
import { startGraphPasses, type PendingRetainers, type PendingShallowSizes } from './graph-workers.js';

/**
 * The heap as a graph over node and edge ordinals. The forward edge index is
 * built at once (it is needed by everything); the essential-edge bitmap,
 * distances, dominators and the id lookup are built on first use and kept.
 * All are flat typed arrays: no object per node or edge.
 *
 * @example
 *   const graph = new HeapGraph(await loadSnapshot('app.heapsnapshot'));
 *   for (let e = graph.firstEdge[0]!; e < graph.firstEdge[1]!; e++) console.log(graph.edgeName(e));
 */
export class HeapGraph {
  readonly nodeCount: number;
  readonly edgeCount: number;
  readonly layout: SnapshotLayout;
  readonly nodes: Uint32Array;
  readonly edges: Uint32Array;
  readonly strings: StringTable;
  /** Edge ordinals of node i are firstEdge[i] .. firstEdge[i + 1] - 1 (n + 1 entries). */
  readonly firstEdge: Uint32Array;
  readonly rootOrdinal = 0;

  private cachedEssential: Uint8Array | undefined;
  private cachedDistances: Distances | undefined;
  private cachedDominators: Dominators | undefined;
  private cachedIds: IdIndex | undefined;
  private cachedClasses: ClassIndex | undefined;
  private cachedShallow: ShallowSizes | undefined;
  private pendingShallow: PendingShallowSizes | undefined;
  private pendingRetainers: PendingRetainers | undefined;
  /** Edge scratch (HeapSnapshot.edgeScratch) taken for the retainer lists while dominators are computed. */
  private retainerScratch: Uint32Array | undefined;
  /**
   * A node-sized array the dominator computation is done with (resident
   * already): the class index is built in it, so that it adds nothing to the
   * peak. Taken once.
   */
  private spareNodeWords: Uint32Array | undefined;

  constructor(readonly snapshot: HeapSnapshot) {
    this.nodeCount = snapshot.nodeCount;
    this.edgeCount = snapshot.edgeCount;
    this.layout = snapshot.layout;
    this.nodes = snapshot.nodes;
    this.edges = snapshot.edges;
    this.strings = snapshot.strings;
    this.firstEdge = snapshot.firstEdge;
  }

  nodeType(node: number): number {
    return this.nodes[node * this.layout.nodeFieldCount + this.layout.nodeTypeOffset]! & this.layout.nodeTypeMask;
  }

  nodeTypeName(node: number): string {
    return this.layout.nodeTypeNames[this.nodeType(node)]!;
  }

  nodeNameIndex(node: number): number {
    return this.nodes[node * this.layout.nodeFieldCount + this.layout.nodeNameOffset]! >>> this.layout.nodeNameShift;
  }

  nodeName(node: number): string {
    return this.strings.get(this.nodeNameIndex(node));
  }

  nodeId(node: number): number {
    return this.nodes[node * this.layout.nodeFieldCount + this.layout.nodeIdOffset]!;
  }

  selfSize(node: number): number {
    return this.nodes[node * this.layout.nodeFieldCount + this.layout.nodeSelfSizeOffset]!;
  }

  edgeType(edge: number): number {
    return this.edges[edge * this.layout.edgeFieldCount + this.layout.edgeTypeOffset]! & this.layout.edgeTypeMask;
  }

  edgeTypeName(edge: number): string {
    return this.layout.edgeTypeNames[this.edgeType(edge)]!;
  }

  /** The target node's ordinal. */
  edgeTarget(edge: number): number {
    return this.edges[edge * this.layout.edgeFieldCount + this.layout.edgeToNodeOffset]! >>> this.layout.edgeToNodeShift;
  }

  /** Element and hidden edges are named by an index, every other type by a string. */
  edgeName(edge: number): string {
    const raw = this.edges[edge * this.layout.edgeFieldCount + this.layout.edgeNameOffset]!;
    const type = this.edgeType(edge);
    return type === this.layout.edgeType.element || type === this.layout.edgeType.hidden ? String(raw) : this.strings.get(raw);
  }

  /** The node an edge belongs to (binary search over firstEdge; for paths, not hot loops). */
  edgeSource(edge: number): number {
    return lastIndexAtOrBelow(this.firstEdge, this.nodeCount, edge);
  }

  /** The first edge of `node` with this type name and edge name, or NONE. */
  findEdge(node: number, typeName: string, name: string): number {
    const type = this.layout.edgeTypeNames.indexOf(typeName);
    for (let e = this.firstEdge[node]!, end = this.firstEdge[node + 1]!; e < end; e++) {
      if (this.edgeType(e) === type && this.edgeName(e) === name) return e;
    }
    return NONE;
  }

  /**
   * Self sizes with exclusively owned internals moved onto their owner, as DevTools shows them (Float64 only if one passes 2^32).
   * `memory`: what the first computation may use (the dominator computation lends arrays it is done with).
   */
  shallowSizes(memory?: ShallowSizeMemory): ShallowSizes {
    if (!this.cachedShallow) {
      this.cachedShallow = this.pendingShallow ? this.pendingShallow.result() : computeShallowSizes(this, memory);
      this.pendingShallow = undefined;
    }
    return this.cachedShallow;
  }

  /**
   * Bitmap over edge ordinals: bit e & 7 of byte e >>> 3 is set where edge e retains its target (see essential-edges.ts).
   * `scratch`: node-sized memory the first computation may use.
   */
  essentialEdges(scratch?: EssentialScratch): Uint8Array {
    if (!this.cachedEssential) {
      let filled = false;
      try {
        this.cachedEssential = computeEssentialEdges(this, this.pendingRetainers?.essential, this.pendingRetainers?.counts, scratch);
        filled = true;
      } finally {
        this.pendingRetainers?.essentialDone(filled);
        if (!filled) this.pendingRetainers = undefined;
      }
    }
    return this.cachedEssential;
  }

  /**
   * The reverse index of the essential edges, built on each call (or taken
   * from the worker that built it): only the dominator computation needs it,
   * and it renumbers the lists in place, so it is not kept (25 MB at 1.5M
   * nodes that nobody reads afterwards). `offsets`: nodeCount + 1 words (any
   * content) for firstRetainer, when they are built here.
   */
  retainers(offsets?: Uint32Array): Retainers {
    this.essentialEdges();
    const pending = this.pendingRetainers;
    this.pendingRetainers = undefined;
    return pending ? pending.result() : buildRetainers(this, this.retainerScratch, offsets);
  }

  distances(): Distances {
    return (this.cachedDistances ??= computeDistances(this));
  }

  dominators(): Dominators {
    if (!this.cachedDominators) {
      // On big graphs, shallow sizes and retainer lists are computed by a
      // worker thread while this one does the essential edges and the DFS
      // (graph-workers.ts); the getters above collect the results.
      // The retainer lists go into the memory edge packing freed, when no
      // other pass is using it: nothing new at the peak.
      this.retainerScratch = this.borrowScratch(this.edgeCount);
      try {
        if (hasSpareCpu() && !this.pendingShallow && !this.pendingRetainers) {
          const passes = startGraphPasses(this, { shallow: !this.cachedShallow, retainers: !this.cachedEssential }, undefined, this.retainerScratch);
          this.pendingShallow = passes.shallow;
          this.pendingRetainers = passes.retainers;
        }
        // The loader's node scratch, once: its pages are resident already.
        const scratch = this.snapshot.nodeScratch;
        this.snapshot.nodeScratch = undefined;
        const { dominators, spare } = computeDominators(this, scratch);
        this.cachedDominators = dominators;
        this.spareNodeWords = spare;
      } finally {
        if (this.retainerScratch) this.returnScratch();
        this.retainerScratch = undefined;
      }
    }
    return this.cachedDominators;
  }

  /**
   * `words` words of the snapshot's edge scratch (memory edge packing freed,
   * resident already) when it is that big and no other pass holds it; give it
   * back with returnScratch(). Undefined: allocate your own.
   */
  borrowScratch(words: number): Uint32Array | undefined {
    const scratch = this.snapshot.edgeScratch;
    if (!scratch || scratch.inUse || scratch.words.length < words) return undefined;
    scratch.inUse = true;
    return scratch.words.subarray(0, words);
  }

  returnScratch(): void {
    if (this.snapshot.edgeScratch) this.snapshot.edgeScratch.inUse = false;
  }

  /** Node ordinal for a V8 object id, or NONE. */
  ordinalOfId(id: number): number {
    return (this.cachedIds ??= buildIdIndex(this)).lookup(id);
  }

  classes(): ClassIndex {
    if (!this.cachedClasses) {
      this.cachedClasses = computeClassIndex(this, this.spareNodeWords);
      this.spareNodeWords = undefined;
    }
    return this.cachedClasses;
  }
}
