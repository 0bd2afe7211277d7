import { NAMED_PAIRS, PAIR_FUNCTIONS, type NativePair, type SiteSeries } from '../native-ledger/sites.js';
import { certain, type LeakKind } from './leak-kinds.js';
import type { NativeSiteRow } from './result.js';
import { perIteration, verdictOf } from './trend.js';

/** The leak an unbalanced pair is: exact, from which Node-API pair was left open. */
const PAIR_KINDS: Record<NativePair, LeakKind> = {
  'async_init/async_destroy': 'missing-destroy',
  'open_callback_scope/close_callback_scope': 'unclosed-callback-scope',
  'create_reference/delete_reference': 'leaked-reference',
  'wrap/delete_reference': 'leaked-reference',
  'add_finalizer/delete_reference': 'leaked-reference',
  'create_async_work/delete_async_work': 'async-work-not-deleted',
  'create_threadsafe_function/release_threadsafe_function': 'tsfn-not-released',
  'add_env_cleanup_hook/remove_env_cleanup_hook': 'cleanup-hook-not-removed',
  'add_async_cleanup_hook/remove_async_cleanup_hook': 'cleanup-hook-not-removed',
  'open_handle_scope/close_handle_scope': 'unclosed-handle-scope',
  'open_escapable_handle_scope/close_escapable_handle_scope': 'unclosed-handle-scope',
};

/** The kind of leak a pair is. */
export function kindOfPair(pair: NativePair): LeakKind {
  return PAIR_KINDS[pair];
}

/** A native site as a row: its open count is its live count; a leak's kind is its pair's. */
export function nativeSiteRow(series: SiteSeries, iterations: number[] | undefined): NativeSiteRow {
  const functions = PAIR_FUNCTIONS[series.pair];
  // The whole chain: a helper called from two places is two sites, and their names must differ too.
  const where = series.frames.length > 0 ? series.frames.map((frame) => frame.text).join(' ← ') : '(no addon frame)';
  const named = series.asyncName !== null ? ` ${JSON.stringify(series.asyncName)}` : '';
  const live = series.open;
  const row: NativeSiteRow = {
    name: `${functions.acquire}${named} at ${where}`,
    pair: series.pair,
    acquire: functions.acquire,
    release: functions.release,
    asyncName: series.asyncName,
    frames: series.frames,
    acquired: series.acquired,
    released: series.released,
    live,
    weak: series.weak,
    growth: live.at(-1)! - live[0]!,
    perIteration: iterations ? Math.round((perIteration(iterations, live) ?? 0) * 1e4) / 1e4 : null,
    retainedSize: 0,
    verdict: verdictOf(live),
    identity: null,
    retainingPath: null,
    leakKind: null,
    shownBy: null,
  };
  if (row.verdict === 'leak') row.leakKind = certain(PAIR_KINDS[series.pair], kindEvidence(row));
  return row;
}

/**
 * Names are keys (budgets, JUnit test cases, the reports' anchors): sites the
 * ledger tells apart only by what a name cannot show (a chain cut short by
 * the depth limit, say) get " #2", " #3"… in the order they come.
 */
export function makeNamesUnique(rows: NativeSiteRow[]): void {
  const seen = new Map<string, number>();
  for (const row of rows) {
    const count = (seen.get(row.name) ?? 0) + 1;
    seen.set(row.name, count);
    if (count > 1) row.name = `${row.name} #${count}`;
  }
}

/** The exact counts behind a site's kind, in words. */
function kindEvidence(row: NativeSiteRow): string {
  const counts = `${row.acquire} returned ${row.acquired.at(-1)} handles at this site, ${row.released.at(-1)} of them released by ${row.release}; open ${row.live.join(' → ')} at the snapshots`;
  const weak = row.weak?.at(-1);
  return weak ? `${counts}, ${weak} of them weak (refcount 0: nothing in the JS heap holds them, only native memory)` : counts;
}

/**
 * Decides which native sites the heap already shows, so one bug is one row:
 * a site of a named pair whose async name is an async-context row is shown
 * by that row; references all still strong are shown by the heap's reference
 * groups (which hold their values); callback scopes left open are counted by
 * the agent on their context's row. Everything else (weak references, handle
 * scopes, cleanup hooks, contexts no row names) is the site's own finding.
 */
export function markShownByHeap(rows: NativeSiteRow[], asyncNames: ReadonlySet<string>, unclosedScopeGrowth: number): void {
  for (const row of rows) {
    const pair = row.pair as NativePair;
    if (NAMED_PAIRS.has(pair)) {
      if (row.asyncName !== null && asyncNames.has(row.asyncName)) row.shownBy = `the async-context row ${row.asyncName}`;
    } else if (row.weak !== null) {
      if (row.weak.every((n) => n === 0)) row.shownBy = 'the heap\'s reference groups (a strong reference keeps its value)';
    } else if (pair === 'open_callback_scope/close_callback_scope') {
      if (unclosedScopeGrowth >= row.growth) row.shownBy = 'the agent\'s count of callbacks entered and never left, on the context\'s row';
    }
  }
}
