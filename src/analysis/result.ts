import type { LeakKind } from './leak-kinds.js';
import type { Verdict } from './trend.js';

/** The kind of a leaking group and how to fix it. */
export interface LeakLabel {
  kind: LeakKind;
  label: string;
  hint: string;
}

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
  /** Top creation sites (first stack frame) of the live contexts in the last snapshot. */
  creationSites: Array<{ frame: string; count: number }>;
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
  /** Why heap and ledger disagree, when they do. */
  explanation: string | null;
}

export interface ReferenceRow extends GroupRow {
  /** script:line:column of the function held, when it is a function. */
  location: string | null;
}

/** process.memoryUsage() when a snapshot was taken (bytes). */
export interface MemoryReading {
  rss: number;
  heapUsed: number;
  external: number;
  arrayBuffers: number;
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
  /** Heap flat while RSS or external memory climbs. */
  nativeLeakSuspected: { names: string[]; message: string; valgrind: string } | null;
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
  /** Whether a trace-event ledger was joined in. */
  ledger: { found: boolean };
  notes: string[];
  verdict: 'leak' | 'clean';
}
