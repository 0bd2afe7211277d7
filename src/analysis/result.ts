import type { Verdict } from './trend.js';

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
}

export interface ReferenceRow extends GroupRow {
  /** script:line:column of the function held, when it is a function. */
  location: string | null;
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
  notes: string[];
  verdict: 'leak' | 'clean';
}
