/**
 * The kinds of Node-API leak the field knows, each with a short fix, and the
 * rules that pick them. A kind rests on evidence tied to the group itself
 * (its own hook counters, its own ledger, its own records and heap objects),
 * plus facts that rule a kind out for every group alike (Node's cleanup queue
 * did not grow: no threadsafe function leaked). Where that evidence cannot
 * separate two kinds the label says so and lists each candidate with its fix:
 * a wrong fix printed with confidence costs a user more than an honest "one
 * of these".
 */
export type LeakKind =
  | 'missing-destroy'
  | 'error-path'
  | 'shared-context'
  | 'no-env-cleanup-hook'
  | 'leaked-reference'
  | 'async-work-not-deleted'
  | 'tsfn-not-released'
  | 'unclosed-callback-scope'
  | 'unclosed-handle-scope'
  | 'cleanup-hook-not-removed'
  | 'native-memory';

export interface LeakKindInfo {
  label: string;
  hint: string;
}

export const LEAK_KINDS: Record<LeakKind, LeakKindInfo> = {
  'missing-destroy': {
    label: 'missing destroy',
    hint: 'pair every napi_async_init with napi_async_destroy when the operation completes (for a JavaScript AsyncResource: call emitDestroy())',
  },
  'error-path': {
    label: 'error path only',
    hint: 'release on the error path too: every early return must undo what the call acquired (napi_async_destroy, napi_delete_async_work, napi_release_threadsafe_function); one cleanup label',
  },
  'shared-context': {
    label: 'one context shared by several operations',
    hint: 'use one context (or work item) per operation; re-initialising a shared slot loses the earlier ones without releasing them',
  },
  'no-env-cleanup-hook': {
    label: 'no env cleanup hook (grows per worker thread)',
    hint: 'register napi_add_env_cleanup_hook to destroy contexts and delete references when the environment (a worker) shuts down',
  },
  'leaked-reference': {
    label: 'leaked napi_ref',
    hint: 'call napi_delete_reference once the value is no longer needed; a weak reference (refcount 0) too: it outlives its value until deleted (napi_wrap\'s result reference: delete it in the finalizer)',
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
  'unclosed-handle-scope': {
    label: 'handle scope never closed (every later local stays alive)',
    hint: 'close every napi_open_handle_scope (and escapable one) with its close call on every path, LIFO',
  },
  'cleanup-hook-not-removed': {
    label: 'env cleanup hook never removed',
    hint: 'call napi_remove_env_cleanup_hook (or napi_remove_async_cleanup_hook) when the resource it would clean up is released earlier',
  },
  'native-memory': {
    label: 'native memory grows (nothing in the JS heap accounts for it)',
    hint: 'look for Node-API references never deleted (a napi_ref or the reference napi_wrap returns: weak ones leave no heap trace), napi_wrap without a finalizer, and the addon\'s own allocations; confirm with valgrind',
  },
};

/** The kind of a leaking group, how sure the analysis is, and why. */
export interface LeakLabel {
  /** The most likely kind: the first candidate. */
  kind: LeakKind;
  /** One kind, or "a or b (cannot tell …)". */
  label: string;
  /** Its fix, or each candidate's fix. */
  hint: string;
  /** True when the evidence leaves one kind. */
  certain: boolean;
  /** Every kind the evidence leaves, most likely first. */
  candidates: LeakKind[];
  /** What the kind rests on, with the numbers. */
  evidence: string;
}

/** What the classifier looks at for one leaking async-context group. Everything but `cleanupHooksGrowth` is the group's own. */
export interface AsyncEvidence {
  /** Its open count grew this much over the series (heap or ledger). */
  growth: number;
  /** Growth per iteration of open contexts (heap or ledger). */
  perIteration: number | null;
  /** The agent's hook counts for the name at the last snapshot (null: no agent). */
  counters: { init: number; destroy: number; before: number; after: number } | null;
  /** Growth of before − after across the series. */
  unclosedScopesGrowth: number;
  /** Growth of contexts left open by ended worker threads. */
  workerTeardownGrowth: number;
  /** From the ledger: iterations measured and how many left a context open. */
  iterations: { measured: number; withOpenContexts: number; maxOpenPerIteration: number } | undefined;
  /** Init events per iteration, when known. */
  initsPerIteration: number | null;
  /** Open contexts whose JS resource was garbage-collected (only napi_async_init holds a resource weakly, and only up to Node 24). */
  resourcesCollected: number;
  /**
   * Env cleanup hooks added over the series (Node's CleanupQueue): every live
   * threadsafe function holds one, so a group that grew by more than this
   * cannot be threadsafe functions. Null when unknown.
   */
  cleanupHooksGrowth: number | null;
}

/**
 * Names the kind of a leaking async-context group. The order matters: the
 * most specific signals first; the API that was not released is certain
 * only when the group's own evidence leaves one.
 */
export function classifyAsyncLeak(e: AsyncEvidence): LeakLabel {
  const c = e.counters;
  if (e.unclosedScopesGrowth > 0) {
    return certain('unclosed-callback-scope', `before − after grew by ${e.unclosedScopesGrowth}: callbacks were entered and never left`);
  }
  if (e.workerTeardownGrowth > 0) {
    return certain('no-env-cleanup-hook', `${e.workerTeardownGrowth} more contexts were still open when their worker threads ended`);
  }
  // Some were released: the pattern of which ones were not is the finding,
  // whatever the API (the hints name every release function).
  if (c && c.destroy > 0) {
    const counts = `init ${c.init}, destroy ${c.destroy}`;
    if (e.iterations && e.iterations.withOpenContexts < e.iterations.measured) {
      return certain('error-path', `${counts}; ${e.iterations.withOpenContexts} of ${e.iterations.measured} iterations left a context open (trace-event ledger)`);
    }
    if (e.initsPerIteration !== null && e.perIteration !== null && e.initsPerIteration > 1 && e.perIteration < e.initsPerIteration) {
      return certain('shared-context', `${counts}; ${round(e.initsPerIteration)} inits per iteration, ${round(e.perIteration)} of them left open`);
    }
    if (e.perIteration !== null && e.perIteration < 1) {
      return certain('error-path', `${counts}; ${round(e.perIteration)} left open per iteration: some iterations release, others do not`);
    }
  }
  if (e.resourcesCollected > 0) {
    return certain('missing-destroy', `${e.resourcesCollected} open contexts whose JS resource was collected: napi_async_init holds its resource weakly (and nothing holds a JavaScript AsyncResource), while async work and threadsafe functions hold theirs strongly`);
  }
  // Nothing of this name was ever released. napi_async_init, async work and
  // threadsafe functions all leave an init without destroy and a strongly
  // held resource; only the cleanup queue and the callback counts tell them
  // apart, and only partly.
  const tsfnPossible = e.cleanupHooksGrowth === null || e.cleanupHooksGrowth >= e.growth;
  const completed = c !== null && c.before > 0 && c.before === c.after;
  const candidates: LeakKind[] = completed ? ['async-work-not-deleted', 'missing-destroy'] : ['missing-destroy', 'async-work-not-deleted'];
  // A cleanup queue that grew as much is a sign for threadsafe functions (or
  // for cleanup hooks of something else): first when it grew, last when unknown.
  if (tsfnPossible && e.cleanupHooksGrowth !== null && e.cleanupHooksGrowth > 0) candidates.unshift('tsfn-not-released');
  else if (tsfnPossible) candidates.push('tsfn-not-released');
  const facts = [
    c ? `init ${c.init}, destroy ${c.destroy}, before ${c.before}, after ${c.after} (this name's hook counts)` : 'no hook counts (no agent)',
    e.cleanupHooksGrowth === null
      ? 'env cleanup hooks not measured'
      : tsfnPossible
        ? `Node's cleanup queue grew by ${e.cleanupHooksGrowth} hooks, enough for threadsafe functions`
        : `Node's cleanup queue grew by ${e.cleanupHooksGrowth} hooks, fewer than the ${e.growth} that threadsafe functions would add`,
  ];
  const why = completed
    ? 'a queued and completed async work item looks the same as a context used with napi_make_callback'
    : 'napi_async_init, async work never queued and threadsafe functions never called look the same from JavaScript';
  return uncertain(candidates, `${facts.join('; ')}; ${why}`);
}

/** A strong global handle to a JS value that grew: a napi_ref, or the function a threadsafe function holds. */
export function classifyReferenceLeak(growth: number, isFunction: boolean, cleanupHooksGrowth: number | null): LeakLabel {
  const tsfnPossible = isFunction && (cleanupHooksGrowth === null || cleanupHooksGrowth >= growth);
  if (!tsfnPossible) {
    const why = isFunction ? `Node's cleanup queue grew by ${cleanupHooksGrowth} hooks, fewer than the ${growth} that threadsafe functions would add` : 'a threadsafe function holds only functions';
    return certain('leaked-reference', `${growth} more ${isFunction ? 'functions' : 'values'} held by strong global handles; ${why}`);
  }
  return uncertain(cleanupHooksGrowth !== null && cleanupHooksGrowth > 0 ? ['tsfn-not-released', 'leaked-reference'] : ['leaked-reference', 'tsfn-not-released'], `${growth} more functions held by strong global handles; ${cleanupHooksGrowth === null ? 'env cleanup hooks not measured' : `Node's cleanup queue grew by ${cleanupHooksGrowth} hooks`}, so they may be the JavaScript functions of threadsafe functions never released`);
}

/** A label resting on evidence that leaves one kind. */
export function certain(kind: LeakKind, evidence: string): LeakLabel {
  return { kind, ...LEAK_KINDS[kind], certain: true, candidates: [kind], evidence };
}

function uncertain(candidates: LeakKind[], evidence: string): LeakLabel {
  const infos = candidates.map((kind) => LEAK_KINDS[kind]);
  return {
    kind: candidates[0]!,
    label: `${infos.map((info) => info.label).join(' or ')} (cannot tell which from this evidence)`,
    hint: infos.map((info) => `if ${info.label}: ${info.hint}`).join('; '),
    certain: false,
    candidates,
    evidence,
  };
}

function round(n: number): string {
  return String(Math.round(n * 100) / 100);
}
