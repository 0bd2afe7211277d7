/**
 * The kinds of Node-API leak the field knows, each with a short fix. Labels and
 * hints appear in the terminal, JSON, HTML and Markdown reports.
 */
export type LeakKind =
  | 'missing-destroy'
  | 'error-path'
  | 'shared-context'
  | 'no-env-cleanup-hook'
  | 'leaked-reference'
  | 'async-work-not-deleted'
  | 'tsfn-not-released'
  | 'unclosed-callback-scope';

export interface LeakKindInfo {
  label: string;
  hint: string;
}

export const LEAK_KINDS: Record<LeakKind, LeakKindInfo> = {
  'missing-destroy': {
    label: 'missing destroy',
    hint: 'pair every napi_async_init with napi_async_destroy when the operation completes',
  },
  'error-path': {
    label: 'error path only',
    hint: 'close on the error path too: call napi_async_destroy before every early return (one cleanup label)',
  },
  'shared-context': {
    label: 'one context shared by several operations',
    hint: 'use one napi_async_context per operation; re-initialising a shared slot loses the earlier contexts',
  },
  'no-env-cleanup-hook': {
    label: 'no env cleanup hook (grows per worker thread)',
    hint: 'register napi_add_env_cleanup_hook to destroy contexts and delete references when the environment (a worker) shuts down',
  },
  'leaked-reference': {
    label: 'leaked napi_ref',
    hint: 'call napi_delete_reference once the value is no longer needed (or use refcount 0 for a weak link)',
  },
  'async-work-not-deleted': {
    label: 'async work never deleted',
    hint: 'call napi_delete_async_work in the complete callback (also when the work was cancelled)',
  },
  'tsfn-not-released': {
    label: 'threadsafe function never released',
    hint: 'call napi_release_threadsafe_function from every thread that acquired it; the last release frees it',
  },
  'unclosed-callback-scope': {
    label: 'unbalanced callback scope (before without after; executionAsyncId() not restored)',
    hint: 'close every napi_open_callback_scope with napi_close_callback_scope before the libuv callback returns',
  },
};

/** What the classifier looks at for one leaking async-context name. */
export interface AsyncEvidence {
  /** Growth per iteration of open contexts (heap or ledger). */
  perIteration: number | null;
  counters: { init: number; destroy: number; before: number; after: number } | null;
  /** Growth of before − after across the series. */
  unclosedScopesGrowth: number;
  /** Growth of contexts left open by ended worker threads. */
  workerTeardownGrowth: number;
  /** From the ledger: iterations measured and how many left a context open. */
  iterations: { measured: number; withOpenContexts: number; maxOpenPerIteration: number } | undefined;
  /** Init events per iteration, when known. */
  initsPerIteration: number | null;
  /** A strong-handle function group grew at the same rate (a threadsafe function's JS callback). */
  functionHeldAtSameRate: boolean;
}

/**
 * Names the kind of a leaking async-context group from its evidence. The
 * order matters: the most specific signals first.
 */
export function classifyAsyncLeak(e: AsyncEvidence): LeakKind {
  if (e.unclosedScopesGrowth > 0) return 'unclosed-callback-scope';
  if (e.workerTeardownGrowth > 0) return 'no-env-cleanup-hook';
  const c = e.counters;
  if (c && c.destroy === 0 && c.before > 0 && c.before === c.after) return 'async-work-not-deleted';
  if (c && c.destroy === 0 && e.functionHeldAtSameRate) return 'tsfn-not-released';
  if (c && c.destroy > 0) {
    if (e.iterations && e.iterations.withOpenContexts < e.iterations.measured) return 'error-path';
    if (e.initsPerIteration !== null && e.perIteration !== null && e.initsPerIteration > 1 && e.perIteration < e.initsPerIteration) return 'shared-context';
    if (e.perIteration !== null && e.perIteration < 1) return 'error-path';
  }
  return 'missing-destroy';
}
