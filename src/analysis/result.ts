import type { SiteFrame } from '../native-ledger/sites.js';
import type { LeakLabel } from './leak-kinds.js';
import type { Verdict } from './trend.js';

export type { LeakLabel } from './leak-kinds.js';

/** One step of a retaining path, root first. */
export interface PathStep {
  /** How the previous node holds this one: "type:name", empty for the root. */
  edge: string;
  node: string;
  nodeType: string;
  id: number;
}

/** How objects of a group changed between the first and the last snapshot, by V8 object id (same process only). */
export interface IdentityDiff {
  /** Members in the last snapshot that were not in the first: created and still alive. */
  newAlive: number;
  /** Members of the first snapshot gone by the last. */
  freed: number;
  /** Members present in both. */
  kept: number;
}

interface GroupRow {
  name: string;
  /** Live count per snapshot. */
  live: number[];
  /** Last live − first live. */
  growth: number;
  /** Least-squares growth per iteration; null without iteration counts. */
  perIteration: number | null;
  /** Retained size (bytes, DevTools semantics) of the group's objects in the last snapshot. */
  retainedSize: number;
  verdict: Verdict;
  identity: IdentityDiff | null;
  /** A shortest retaining path from a GC root to one member, for growing groups. */
  retainingPath: PathStep[] | null;
  /** For leaking groups: the kind of leak and a fix hint. */
  leakKind: LeakLabel | null;
}

export interface AsyncContextRow extends GroupRow {
  /** False for groups found from heap shape alone (no agent, or not matched to a name). */
  named: boolean;
  /**
   * Top creation sites (first stack frame) of the live contexts in the last
   * snapshot; `original` is the frame mapped through the script's source map
   * (TypeScript, bundles), null when it has none.
   */
  creationSites: Array<{ frame: string; count: number; original: string | null }>;
  /** The agent's hook counters in the last snapshot (named groups only). */
  counters: { init: number; destroy: number; before: number; after: number } | null;
  /** before − after: callback scopes opened and never closed (named groups only). */
  unclosedCallbackScopes: number | null;
  /** Contexts still open when a worker thread ended, per snapshot (included in `live`). */
  openAtWorkerTeardown: number[];
  /** Live contexts (in the last snapshot) whose JS resource was collected: a native-only leak the heap cannot show. */
  resourcesCollected: number;
  /** From Node's trace events (exact), when the capture recorded them: per snapshot, cumulative. */
  ledger: { created: number[]; destroyed: number[]; open: number[] } | null;
  /** Which series decided growth, rate and verdict: the heap's live count, or the ledger's open count (when only it grew at every step). */
  basis: 'heap' | 'ledger';
  /**
   * Node 22+: context frames (strong handles to `undefined` or an
   * AsyncContextFrame, one per open context and per open callback scope)
   * this row accounts for, per snapshot; their bytes are in retainedSize.
   */
  contextFrames: number[] | null;
  /** Without agent records: unnamed NULL-resource objects this ledger-named row accounts for by count, per snapshot. */
  unnamedResources: number[] | null;
  /** Why heap and ledger disagree, when they do: built from the numbers beside it. */
  explanation: string | null;
  /** Native call sites (native ledger) that acquired contexts of this name: their row names. */
  nativeSites: string[];
}

/**
 * A native call site (the capture's native call-site ledger): where an addon
 * called a Node-API acquire function, with what it acquired, what of that was
 * released and what is still open at each snapshot. `live` is the open count.
 */
export interface NativeSiteRow extends GroupRow {
  /** "<acquire function> at <innermost frame>": what budgets and ignores match. */
  name: string;
  /** The acquire/release pair, e.g. "async_init/async_destroy". */
  pair: string;
  acquire: string;
  release: string;
  /** The async resource name given (napi_async_init, async work, threadsafe functions), when recorded. */
  asyncName: string | null;
  /** The addon's frames, innermost first (frames[0] made the call): function, file:line when built with -g. */
  frames: SiteFrame[];
  /** Per snapshot, cumulative. */
  acquired: number[];
  released: number[];
  /** Reference pairs: open references at refcount 0 (weak: only native memory holds them) per snapshot. */
  weak: number[] | null;
  /** What shows these handles in the heap already (then this site is detail, not a finding of its own); null: native only. */
  shownBy: string | null;
}

/**
 * Native memory as a group: bytes per snapshot, leaking when it grows at
 * every step beyond what the capture itself holds. Budgets are in bytes per
 * iteration.
 */
export interface NativeMemoryRow extends GroupRow {
  /** malloc-in-use: the C allocator's bytes in use less ArrayBuffer memory (the capture's memory probe); rss: resident set size. */
  measure: 'malloc-in-use' | 'rss';
  /** Bytes per step the capture's own trace-event buffer may account for (left out of the verdict). */
  traceAllowance: number[] | null;
  /** What grew, by how much, and what it is beside. */
  explanation: string;
  /** For a leak: the command that would confirm it under valgrind. */
  valgrind: string | null;
  /** Native sites whose open handles account for this growth (it is their finding, not a second one). */
  accountedFor: string[] | null;
}

export interface ReferenceRow extends GroupRow {
  /** script:line:column of the function held, when it is a function (the running JavaScript). */
  location: string | null;
  /** The same through the script's source map (file:line:column of the original source), when it has one. */
  originalLocation: string | null;
}

/** process.memoryUsage() when a snapshot was taken (bytes). */
export interface MemoryReading {
  rss: number;
  heapUsed: number;
  external: number;
  arrayBuffers: number;
  /** Bytes the C allocator had handed out (mallinfo2), when the capture's memory probe ran. */
  mallocInUse?: number;
}

export interface MemoryReport {
  /** Per snapshot; null where the snapshot came without a reading. */
  readings: Array<MemoryReading | null>;
  /** (Global handles) edges per snapshot. */
  globalHandles: number[];
  /** Env cleanup hooks added since the first snapshot (CleanupQueue bytes / 24), per snapshot. */
  cleanupHooksAdded: number[];
  /** Bytes per iteration (least squares), with iteration counts and readings. */
  perIteration: { rss: number; heapUsed: number; external: number } | null;
}

export interface SnapshotRow {
  file: string;
  label: string;
  /** Cumulative iterations when it was taken; null when unknown. */
  iterations: number | null;
}

/** The result of `diff` (and the end of `capture`); `schemaVersion` changes only with incompatible changes. */
export interface AnalysisResult {
  schemaVersion: 1;
  snapshots: SnapshotRow[];
  /** identity: same process, compared by object id; aggregate: per-group counts only. */
  comparison: 'identity' | 'aggregate';
  agent: { found: boolean; node: string | null };
  asyncContexts: AsyncContextRow[];
  references: ReferenceRow[];
  /** Reference groups that never changed (Node's own handles and the like), not listed. */
  unchangedReferenceGroups: number;
  memory: MemoryReport;
  /** Native memory as a group of its own (null without memory readings). */
  nativeMemory: NativeMemoryRow | null;
  /** The native call-site ledger's acquisition sites (null when the capture ran without it). */
  nativeSites: NativeSiteRow[] | null;
  /** Whether a trace-event ledger was joined in. */
  ledger: { found: boolean };
  notes: string[];
  verdict: 'leak' | 'clean';
}
