import { lastIndexAtOrBelow } from '../util/sorted.js';
import type { AsyncTraceEvent } from './trace-events.js';

/** Contexts of one name created, destroyed and still open in one window. */
export interface LedgerWindow {
  created: number;
  destroyed: number;
  /** Open at the end of the window (from all time, not just this window). */
  open: number;
}

export interface NameLedger {
  name: string;
  created: number;
  destroyed: number;
  /** Created and never destroyed by the end of the trace. */
  open: number;
  /** One window per snapshot: from the previous snapshot (or the start) up to it. */
  windows: LedgerWindow[];
  /**
   * With iteration start times: how the contexts still open at the end spread
   * over the iterations that created them.
   */
  iterations: { measured: number; withOpenContexts: number; maxOpenPerIteration: number; openPerIteration: number } | undefined;
  /** Async ids of the contexts open at the last snapshot: joined with the agent's records by id. */
  openIdsAtLast: number[];
  /**
   * Ids that began, and ids that ended, after the last snapshot's time: a
   * snapshot of a running process (attach) is written a moment after its
   * clock was read, so its records can differ from the ledger by these.
   */
  idsBegunAfterLast: number[];
  idsEndedAfterLast: number[];
  /** Ids that ended at or before the last snapshot's time: a record of one in that heap outlived its destroy. */
  idsEndedBeforeLast: number[];
}

/** Every name's ledger, and what the trace says about itself. */
export interface Ledger {
  names: NameLedger[];
  /** The smallest async id seen to begin (any type, built-in ones too): contexts with smaller ids predate the trace. */
  firstAsyncId: number | undefined;
}

export interface LedgerOptions {
  /** Snapshot times (µs, trace clock), in order. */
  snapshotTimes: number[];
  /** Start time (µs) of each measured iteration, in order; the last ends at the last snapshot. */
  iterationStarts?: number[];
  /** Types to leave out (Node's own providers). */
  isBuiltin: (name: string) => boolean;
}

/**
 * The exact lifecycle of every async context by name, from Node's own trace
 * events: each init is a begin and each destroy an end with the same async id.
 * It sees contexts whose JS resource was collected (which no heap shows) and
 * keeps nothing alive.
 */
export function buildLedger(events: AsyncTraceEvent[], options: LedgerOptions): Ledger {
  const { snapshotTimes, iterationStarts, isBuiltin } = options;
  interface Open { name: string; ts: number }
  const open = new Map<string, Open>();
  const byName = new Map<string, NameLedger>();
  const openAtLast = new Map<string, Set<number>>();
  const lastSnapshot = snapshotTimes.at(-1) ?? Infinity;
  let firstAsyncId: number | undefined;
  const ledgerOf = (name: string): NameLedger => {
    let ledger = byName.get(name);
    if (!ledger) {
      ledger = { name, created: 0, destroyed: 0, open: 0, windows: snapshotTimes.map(() => ({ created: 0, destroyed: 0, open: 0 })), iterations: undefined, openIdsAtLast: [], idsBegunAfterLast: [], idsEndedAfterLast: [], idsEndedBeforeLast: [] };
      byName.set(name, ledger);
      openAtLast.set(name, new Set());
    }
    return ledger;
  };
  const windowOf = (ts: number): number => {
    for (let i = 0; i < snapshotTimes.length; i++) if (ts <= snapshotTimes[i]!) return i;
    return -1; // after the last snapshot
  };
  for (const event of events) {
    if (event.phase === 'b' && (firstAsyncId === undefined || event.asyncId < firstAsyncId)) firstAsyncId = event.asyncId;
    if (isBuiltin(event.name)) continue;
    const key = `${event.pid}:${event.asyncId}`;
    const ledger = ledgerOf(event.name);
    const window = windowOf(event.ts);
    if (event.phase === 'b') {
      ledger.created++;
      open.set(key, { name: event.name, ts: event.ts });
      if (window >= 0) ledger.windows[window]!.created++;
      if (event.ts <= lastSnapshot) openAtLast.get(event.name)!.add(event.asyncId);
      else ledger.idsBegunAfterLast.push(event.asyncId);
    } else if (open.delete(key)) {
      ledger.destroyed++;
      if (window >= 0) ledger.windows[window]!.destroyed++;
      if (event.ts <= lastSnapshot) {
        openAtLast.get(event.name)!.delete(event.asyncId);
        ledger.idsEndedBeforeLast.push(event.asyncId);
      } else {
        ledger.idsEndedAfterLast.push(event.asyncId);
      }
    }
  }
  // Open at each snapshot = created before it − destroyed before it.
  for (const ledger of byName.values()) {
    let running = 0;
    for (const window of ledger.windows) {
      running += window.created - window.destroyed;
      window.open = running;
    }
    ledger.open = ledger.created - ledger.destroyed;
    ledger.openIdsAtLast = [...openAtLast.get(ledger.name)!].sort((a, b) => a - b);
  }
  if (iterationStarts && iterationStarts.length > 0) spreadOverIterations([...open.values()], byName, iterationStarts, snapshotTimes.at(-1)!);
  return { names: [...byName.values()], firstAsyncId };
}

/** Which iterations created the contexts that stayed open: all of them, or some (an error path)? */
function spreadOverIterations(stillOpen: Array<{ name: string; ts: number }>, byName: Map<string, NameLedger>, starts: number[], end: number): void {
  const perName = new Map<string, Map<number, number>>();
  for (const { name, ts } of stillOpen) {
    if (ts < starts[0]! || ts > end) continue;
    // The last iteration that started at or before ts.
    const iteration = lastIndexAtOrBelow(starts, starts.length, ts);
    const counts = perName.get(name) ?? new Map<number, number>();
    counts.set(iteration, (counts.get(iteration) ?? 0) + 1);
    perName.set(name, counts);
  }
  for (const ledger of byName.values()) {
    const counts = perName.get(ledger.name) ?? new Map<number, number>();
    let total = 0;
    let max = 0;
    for (const count of counts.values()) {
      total += count;
      max = Math.max(max, count);
    }
    ledger.iterations = { measured: starts.length, withOpenContexts: counts.size, maxOpenPerIteration: max, openPerIteration: total / starts.length };
  }
}
