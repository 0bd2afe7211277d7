import { basename } from 'node:path';
import { readNativeLedger, siteKey, type LedgerSite, type NativeLedger, type NativePair } from './read-ledger.js';
import { symbolizeNativeLedger, type SymbolizedFrame } from './symbolize.js';

export type { NativePair } from './read-ledger.js';

/** Each acquire/release pair's two Node-API functions. */
export const PAIR_FUNCTIONS: Record<NativePair, { acquire: string; release: string }> = {
  'async_init/async_destroy': { acquire: 'napi_async_init', release: 'napi_async_destroy' },
  'open_callback_scope/close_callback_scope': { acquire: 'napi_open_callback_scope', release: 'napi_close_callback_scope' },
  'create_reference/delete_reference': { acquire: 'napi_create_reference', release: 'napi_delete_reference' },
  'wrap/delete_reference': { acquire: 'napi_wrap (its result reference)', release: 'napi_delete_reference' },
  'add_finalizer/delete_reference': { acquire: 'napi_add_finalizer (its result reference)', release: 'napi_delete_reference' },
  'create_async_work/delete_async_work': { acquire: 'napi_create_async_work', release: 'napi_delete_async_work' },
  'create_threadsafe_function/release_threadsafe_function': { acquire: 'napi_create_threadsafe_function', release: 'napi_release_threadsafe_function' },
  'add_env_cleanup_hook/remove_env_cleanup_hook': { acquire: 'napi_add_env_cleanup_hook', release: 'napi_remove_env_cleanup_hook' },
  'add_async_cleanup_hook/remove_async_cleanup_hook': { acquire: 'napi_add_async_cleanup_hook', release: 'napi_remove_async_cleanup_hook' },
  'open_handle_scope/close_handle_scope': { acquire: 'napi_open_handle_scope', release: 'napi_close_handle_scope' },
  'open_escapable_handle_scope/close_escapable_handle_scope': { acquire: 'napi_open_escapable_handle_scope', release: 'napi_close_escapable_handle_scope' },
};

/** Pairs whose handles keep a JS value alive while their refcount is above 0. */
export const REFERENCE_PAIRS: ReadonlySet<NativePair> = new Set(['create_reference/delete_reference', 'wrap/delete_reference', 'add_finalizer/delete_reference']);
/** Pairs that make async contexts, each given a name (what async_hooks reports as type). */
export const NAMED_PAIRS: ReadonlySet<NativePair> = new Set(['async_init/async_destroy', 'create_async_work/delete_async_work', 'create_threadsafe_function/release_threadsafe_function']);

/** One frame of a site's native chain, symbolized. */
export interface SiteFrame {
  object: string;
  /** The return address minus the object's load bias. */
  offset: number;
  /** Demangled function, or symbol+offset; null when nothing names it. */
  function: string | null;
  file: string | null;
  line: number | null;
  /** "function (file.c:12)", "symbol+0x1f (object+0x4a2)" or "object+0x4a2". */
  text: string;
}

/** One acquisition site across the snapshots of a capture. */
export interface SiteSeries {
  pair: NativePair;
  /** The async resource name it gave (named pairs), when the ledger records it. */
  asyncName: string | null;
  /** Addon frames, innermost first: frames[0] called the Node-API function. */
  frames: SiteFrame[];
  /** Per snapshot: handles acquired here, how many of them were released, how many are open. */
  acquired: number[];
  released: number[];
  open: number[];
  /** Reference pairs: open handles at refcount 0 (weak) per snapshot; null for other pairs. */
  weak: number[] | null;
}

/**
 * What the ledger could not book, in words (empty when it booked everything):
 * acquisitions whose site found no room in the site table, and handles that
 * found none in the open-handle tables (counted as open, so never a missed leak).
 */
export function ledgerShortfalls(ledger: NativeLedger): string[] {
  const sum = (perPair: Partial<Record<NativePair, number>>) => Object.values(perPair).reduce((a, b) => a + (b ?? 0), 0);
  const notes: string[] = [];
  const noSite = sum(ledger.totals.noSite);
  if (noSite > 0) notes.push(`native ledger: ${noSite} acquisition(s) found no room in its site table (${ledger.stats.siteCapacity} sites; NAPI_HEAPDIFF_NATIVE_SITES raises it): their call sites are missing above.`);
  const untracked = sum(ledger.totals.untracked);
  if (untracked > 0) notes.push(`native ledger: ${untracked} handle(s) found no room in its open-handle tables (NAPI_HEAPDIFF_NATIVE_OPEN raises it): they count as open at their site, released or not.`);
  return notes;
}

/**
 * The native call-site ledger across a series of snapshots: every site where
 * an addon acquired something, its counts in each snapshot's cut (a snapshot
 * without a cut counts as nothing acquired yet), symbolized once; and what the
 * last cut could not book.
 */
export async function readSiteSeries(cuts: Array<string | undefined>): Promise<{ sites: SiteSeries[]; shortfalls: string[] }> {
  const ledgers = cuts.map((path) => (path ? readNativeLedger(path, { handles: true }) : undefined));
  const last = ledgers.findLast((l): l is NativeLedger => l !== undefined);
  if (!last) return { sites: [], shortfalls: [] };
  const sites = new Map<string, LedgerSite>();
  for (const ledger of [last, ...ledgers]) for (const site of ledger?.sites ?? []) if (site.role === 'acquire' && !sites.has(siteKey(site))) sites.set(siteKey(site), site);
  const symbolized = await symbolizeNativeLedger({ ...last, sites: [...sites.values()] });
  const series = symbolized.sites.map((site) => {
    const key = siteKey(site);
    const at = ledgers.map((ledger) => ledger?.sites.find((s) => s.role === 'acquire' && siteKey(s) === key));
    return {
      pair: site.pair,
      asyncName: site.asyncName ?? null,
      frames: site.frames.map(siteFrame),
      acquired: at.map((s) => s?.acquired ?? 0),
      released: at.map((s) => s?.released ?? 0),
      open: at.map((s) => s?.open ?? 0),
      weak: REFERENCE_PAIRS.has(site.pair) ? at.map((s) => (s?.refcounts ?? []).filter((count) => count === 0).length) : null,
    };
  });
  return { sites: series, shortfalls: ledgerShortfalls(last) };
}

function siteFrame(frame: SymbolizedFrame): SiteFrame {
  const raw = `${basename(frame.object)}+0x${frame.offset.toString(16)}`;
  const named = frame.function && frame.function !== '?' && frame.function !== raw ? frame.function : null;
  const where = frame.file && frame.line ? `${basename(frame.file)}:${frame.line}` : null;
  return { object: frame.object, offset: frame.offset, function: named, file: frame.file ?? null, line: frame.line ?? null, text: named ? `${withoutParameters(named)} (${where ?? raw})` : raw };
}

/**
 * A demangled C++ name without its parameter list (`ns::Class::method(int, char const*) const`
 * → `ns::Class::method`): the text is a site's name and a table cell; `function` keeps it whole.
 * Template arguments stay: they tell instantiations apart.
 */
export function withoutParameters(name: string): string {
  // A symbol without debug info comes as symbol+offset: the offset stays.
  const offset = /\+0x[0-9a-f]+$/.exec(name)?.[0] ?? '';
  const trimmed = name.slice(0, name.length - offset.length).replace(/\s+(?:const|volatile|&&?)$/, '');
  if (!trimmed.endsWith(')')) return name;
  let depth = 0;
  for (let i = trimmed.length - 1; i >= 0; i--) {
    const c = trimmed[i];
    if (c === ')') depth++;
    else if (c === '(' && --depth === 0) return i > 0 ? trimmed.slice(0, i) + offset : name;
  }
  return name;
}
