import type { NameLedger } from '../ledger/ledger.js';

/** What one named async-context row shows, for the sentence that explains it. */
export interface RowFacts {
  /** The agent's records in this heap, per snapshot (worker teardown reports excluded). */
  records: number[];
  /** Async ids of the records in the last snapshot. */
  recordIds: number[];
  /** Records in the last snapshot whose JS resource was collected. */
  resourcesCollected: number;
  /** Whether any snapshot carries the agent's registry. */
  agentFound: boolean;
  ledger: NameLedger | undefined;
  /** The smallest async id the trace-event ledger saw begin (any type): anything older predates it. */
  ledgerFirstId: number | undefined;
  /** Unnamed NULL-resource objects this row accounts for (no agent), per snapshot. */
  unnamedResources: number[] | null;
}

/**
 * The sentence beside a row when heap and ledger show different things,
 * built from the very numbers the row shows: the records and the ledger's
 * open contexts are joined by async id, so every count it states is a count
 * of contexts on one side and not the other. Null when there is nothing to
 * explain.
 */
export function explainRow(f: RowFacts): string | null {
  if (f.resourcesCollected > 0) {
    return `resource collected: native-only leak — ${f.resourcesCollected} open context(s) whose JS resource was garbage-collected; the heap keeps nothing for them, only the native AsyncContext (and async_hooks' never-destroyed id) remain`;
  }
  const ledger = f.ledger;
  if (!ledger) return null;
  const open = ledger.windows.map((w) => w.open);
  const last = open.at(-1)!;
  if (!f.agentFound || f.records.every((n) => n === 0)) {
    if (last === 0 && open.every((n) => n === 0)) return null;
    const folded = f.unnamedResources?.at(-1) ?? 0;
    const heap = folded > 0
      ? `; ${folded} of the heap's unnamed empty objects (NULL resources) are counted here by number, as many as the ledger has open`
      : '';
    const why = f.agentFound ? 'the agent has no record of them (opened before it started, or in a worker thread)' : 'no agent records in these snapshots, so the heap carries no names';
    return `open ${open.join(' → ')} per the trace-event ledger; ${why}${heap}`;
  }
  const inHeap = new Set(f.recordIds);
  const inLedger = new Set(ledger.openIdsAtLast);
  const begunAfter = new Set(ledger.idsBegunAfterLast);
  const endedAfter = new Set(ledger.idsEndedAfterLast);
  const endedBefore = new Set(ledger.idsEndedBeforeLast);
  const heapOnly = { beforeLedger: 0, afterCut: 0, destroyed: 0, notInTrace: 0 };
  for (const id of inHeap) {
    if (inLedger.has(id)) continue;
    if (f.ledgerFirstId === undefined || id < f.ledgerFirstId) heapOnly.beforeLedger++;
    else if (begunAfter.has(id)) heapOnly.afterCut++;
    else if (endedBefore.has(id)) heapOnly.destroyed++;
    else heapOnly.notInTrace++;
  }
  const ledgerOnly = { endedAfterCut: 0, other: 0 };
  for (const id of inLedger) {
    if (inHeap.has(id)) continue;
    if (endedAfter.has(id)) ledgerOnly.endedAfterCut++;
    else ledgerOnly.other++;
  }
  const parts: string[] = [];
  if (heapOnly.beforeLedger > 0) {
    parts.push(`${heapOnly.beforeLedger} records in the heap were opened before the trace-event ledger started (async id below ${f.ledgerFirstId ?? 'its first'}), so the ledger does not count them`);
  }
  if (heapOnly.afterCut > 0) {
    parts.push(`${heapOnly.afterCut} were opened after the ledger was cut for this snapshot, while the running process was being snapshotted`);
  }
  if (heapOnly.destroyed > 0) parts.push(`${heapOnly.destroyed} records in the heap are not open per the ledger (destroyed per the trace before the snapshot)`);
  // Node writes trace events in chunks as the process runs: a begin from
  // the moment before the trace was stopped can be missing from the file.
  if (heapOnly.notInTrace > 0) parts.push(`${heapOnly.notInTrace} records in the heap have no event in the trace (their begin did not reach the trace file), so the ledger does not count them`);
  if (ledgerOnly.endedAfterCut > 0) {
    parts.push(`${ledgerOnly.endedAfterCut} open per the ledger were destroyed after its cut and before the snapshot (no record left)`);
  }
  if (ledgerOnly.other > 0) {
    parts.push(`${ledgerOnly.other} open per the ledger have no record in this heap (opened before the agent started, or in a worker thread: the ledger covers every thread)`);
  }
  if (parts.length === 0) return null;
  return `heap ${inHeap.size}, ledger ${ledger.windows.at(-1)!.open} open at the last snapshot: ${parts.join('; ')}`;
}
