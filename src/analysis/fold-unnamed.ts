import type { AsyncContextRow } from './result.js';
import { CONTEXT_FRAMES, UNNAMED_ASYNC_RESOURCE } from './rules/index.js';

/**
 * One bug, one row. Two unnamed groups count objects that belong to contexts
 * a named row already counts:
 * - on Node 22+ every open async context, async work item and threadsafe
 *   function holds one context frame (a strong handle to `undefined`, or to
 *   an AsyncContextFrame), and every callback scope left open one more;
 * - without the agent's records, a context the trace-event ledger names
 *   still leaves its NULL resource as an unnamed empty object.
 * The heap cannot say which frame or which empty object is whose (they carry
 * no name), so they are accounted for by count: each named row takes as many
 * as it has open contexts (and open callback scopes, for frames), in row
 * order; what no named row accounts for stays as the unnamed row, whose
 * verdict is then judged on that residue alone. The folded objects' retained
 * bytes go to the rows that took them, pro rata.
 */
export interface FoldInput {
  rows: AsyncContextRow[];
  /** Per named row (same order): open contexts in this heap per snapshot. */
  openInHeap: Map<AsyncContextRow, number[]>;
  /** Per named row: callback scopes opened and not closed, per snapshot. */
  openScopes: Map<AsyncContextRow, number[]>;
  /** Retained bytes of an unnamed group's distinct objects in the last snapshot. */
  retainedOf: (row: AsyncContextRow) => number;
}

export interface FoldResult {
  /** Unnamed rows reduced to what nothing named accounts for (empty rows removed). */
  rows: AsyncContextRow[];
  /** Rows that took frames or unnamed objects: how many per snapshot. */
  folded: Map<AsyncContextRow, { contextFrames: number[] | null; unnamedResources: number[] | null }>;
}

export function foldUnnamedGroups(input: FoldInput): FoldResult {
  const { rows, openInHeap, openScopes } = input;
  const folded: FoldResult['folded'] = new Map();
  const named = rows.filter((row) => row.named);
  const resources = rows.find((row) => !row.named && row.name === UNNAMED_ASYNC_RESOURCE);
  const frames = rows.find((row) => !row.named && row.name === CONTEXT_FRAMES);
  const drop = new Set<AsyncContextRow>();

  // Named rows with no heap objects of their own (no agent: the ledger named
  // them) take unnamed resources first.
  if (resources) {
    const takers = named.filter((row) => row.live.every((n) => n === 0));
    const taken = share(resources, takers, (row) => openInHeap.get(row)!, input.retainedOf(resources));
    for (const [row, counts] of taken) folded.set(row, { contextFrames: null, unnamedResources: counts });
    if (resources.live.every((n) => n === 0) && taken.size > 0) drop.add(resources);
  }
  // Every open context holds a frame: the named rows, then what is left of the unnamed resources.
  if (frames) {
    const takers = [...named, ...(resources && !drop.has(resources) ? [resources] : [])];
    const need = (row: AsyncContextRow): number[] => {
      const own = row === resources ? row.live : openInHeap.get(row)!;
      const scopes = openScopes.get(row);
      return own.map((n, i) => n + (scopes?.[i] ?? 0));
    };
    const taken = share(frames, takers, need, input.retainedOf(frames));
    for (const [row, counts] of taken) {
      const entry = folded.get(row) ?? { contextFrames: null, unnamedResources: null };
      entry.contextFrames = counts;
      folded.set(row, entry);
    }
    // What stays is Node's own frame (one on Node 22+) or frames of contexts
    // no row names; listed only when it changes.
    if (frames.live.every((n) => n === frames.live[0])) drop.add(frames);
  }
  return { rows: rows.filter((row) => !drop.has(row)), folded };
}

/**
 * Hands the members of `group` to `takers`, each up to its need at every
 * snapshot, shrinking the group's live counts (and retained bytes) by what
 * was taken. Returns what each taker got, for those that got something.
 */
function share(group: AsyncContextRow, takers: AsyncContextRow[], need: (row: AsyncContextRow) => number[], retained: number): Map<AsyncContextRow, number[]> {
  const taken = new Map<AsyncContextRow, number[]>();
  const left = [...group.live];
  const total = group.live.at(-1)!;
  for (const row of takers) {
    const wanted = need(row);
    const counts = left.map((available, i) => Math.min(available, Math.max(0, wanted[i] ?? 0)));
    if (counts.every((n) => n === 0)) continue;
    counts.forEach((n, i) => { left[i]! -= n; });
    taken.set(row, counts);
    if (total > 0) row.retainedSize += Math.round((retained * counts.at(-1)!) / total);
  }
  group.live = left;
  if (total > 0) group.retainedSize = Math.round((retained * left.at(-1)!) / total);
  return taken;
}
