import type { AnalysisResult, AsyncContextRow, NativeMemoryRow, NativeSiteRow, ReferenceRow } from './result.js';
import type { Verdict } from './trend.js';

/**
 * What a run may leak before it fails: per-name allowances of growth per
 * iteration, and names that never fail. Budgets and ignores apply to async
 * contexts, reference groups and native memory alike, by exact name (the
 * native-memory group is "(native memory)", its budget in bytes per
 * iteration).
 */
export interface Budgets {
  /** name → the most growth per iteration (live objects added per iteration) allowed. */
  maxPerIteration: ReadonlyMap<string, number>;
  /** Names that never fail. */
  ignore: ReadonlySet<string>;
}

export const NO_BUDGETS: Budgets = { maxPerIteration: new Map(), ignore: new Set() };

export type GroupKind = 'async-context' | 'reference' | 'native-site' | 'native-memory';

/**
 * Why a group passed or failed:
 * - `leak`: verdict leak, no budget (or a budget that could not be checked);
 * - `over-budget`: grew faster per iteration than its budget, whatever its verdict;
 * - `within-budget`: has a budget and stayed within it (even if its verdict is leak);
 * - `ignored`: its name is ignored;
 * - `accounted`: its growth is another failing group's (native memory that the
 *   native ledger's open handles account for), so it does not fail twice;
 * - `no-leak`: no budget, and its verdict is not leak.
 */
export type GateReason = 'leak' | 'over-budget' | 'within-budget' | 'ignored' | 'accounted' | 'no-leak';

export interface GroupOutcome {
  kind: GroupKind;
  /** Index in `result.asyncContexts`, `result.references` or `result.nativeSites` (0 for native memory). */
  index: number;
  name: string;
  verdict: Verdict;
  /** The group's growth per iteration (null without iteration counts). */
  perIteration: number | null;
  /** Its budget, when it has one. */
  maxPerIteration: number | null;
  status: 'fail' | 'pass' | 'ignored';
  reason: GateReason;
  /** True when a budget was set but there were no iteration counts to check it against (the verdict decides). */
  budgetUnchecked: boolean;
}

/** The CI gate: which groups fail the run. */
export interface GateResult {
  failed: boolean;
  /** Every async-context group, then every listed reference group, in the result's order, then native memory. */
  groups: GroupOutcome[];
  /** Budget names that matched no group (often a typo). */
  unmatchedBudgets: string[];
  /** Ignored names that matched no group. */
  unmatchedIgnores: string[];
}

/**
 * Decides which groups fail. A group fails when it is not ignored and either
 * grows faster per iteration than its budget (even if its verdict is not
 * `leak`), or has no budget and its verdict is `leak`. A budget needs
 * iteration counts; without them a budgeted group falls back to its verdict.
 *
 * @example
 *   const gate = evaluateGate(result, { maxPerIteration: new Map([['my_work', 0.5]]), ignore: new Set(['noisy']) });
 *   if (gate.failed) for (const g of gate.groups) if (g.status === 'fail') console.log(g.name, g.reason);
 */
export function evaluateGate(result: AnalysisResult, budgets: Budgets = NO_BUDGETS): GateResult {
  const groups: GroupOutcome[] = [
    ...result.asyncContexts.map((row, index) => outcome('async-context', row, index, budgets)),
    ...result.references.map((row, index) => outcome('reference', row, index, budgets)),
    // Native sites the heap already shows are detail of those groups, not groups of their own.
    ...(result.nativeSites ?? []).flatMap((row, index) => (row.shownBy === null ? [outcome('native-site', row, index, budgets)] : [])),
    // Results saved before native memory was a group have no such row.
    ...(result.nativeMemory ? [outcome('native-memory', result.nativeMemory, 0, budgets)] : []),
  ];
  const names = new Set(groups.map((g) => g.name));
  return {
    failed: groups.some((g) => g.status === 'fail'),
    groups,
    unmatchedBudgets: [...budgets.maxPerIteration.keys()].filter((name) => !names.has(name)),
    unmatchedIgnores: [...budgets.ignore].filter((name) => !names.has(name)),
  };
}

function outcome(kind: GroupKind, row: AsyncContextRow | ReferenceRow | NativeSiteRow | NativeMemoryRow, index: number, budgets: Budgets): GroupOutcome {
  const max = budgets.maxPerIteration.get(row.name);
  const base = { kind, index, name: row.name, verdict: row.verdict, perIteration: row.perIteration, maxPerIteration: max ?? null, budgetUnchecked: false };
  if (budgets.ignore.has(row.name)) return { ...base, status: 'ignored', reason: 'ignored' };
  if ('accountedFor' in row && row.accountedFor && row.accountedFor.length > 0) return { ...base, status: 'pass', reason: 'accounted' };
  if (max !== undefined && row.perIteration !== null) {
    return row.perIteration > max ? { ...base, status: 'fail', reason: 'over-budget' } : { ...base, status: 'pass', reason: 'within-budget' };
  }
  const budgetUnchecked = max !== undefined;
  return row.verdict === 'leak'
    ? { ...base, budgetUnchecked, status: 'fail', reason: 'leak' }
    : { ...base, budgetUnchecked, status: 'pass', reason: 'no-leak' };
}

/**
 * Parses one `--max-per-iteration` value, `<name>=<n>`: the name is
 * everything before the last `=` (names may hold `=`), n a number ≥ 0.
 * Throws a RangeError with a one-line message otherwise.
 *
 * @example parseBudgetAssignment('my_work=0.5') // { name: 'my_work', max: 0.5 }
 */
export function parseBudgetAssignment(text: string): { name: string; max: number } {
  const at = text.lastIndexOf('=');
  if (at <= 0) throw new RangeError(`expected <name>=<n> (got ${JSON.stringify(text)})`);
  const name = text.slice(0, at);
  const value = text.slice(at + 1).trim();
  const max = /^\d+(\.\d+)?$/.test(value) ? Number(value) : NaN;
  if (!Number.isFinite(max)) throw new RangeError(`the allowance of ${JSON.stringify(name)} must be a number ≥ 0 (got ${JSON.stringify(value)})`);
  return { name, max };
}

/**
 * Budgets from a config file and the command line; a name given on the
 * command line overrides the file's allowance.
 */
export function mergeBudgets(config: Budgets | undefined, cli: ReadonlyArray<{ name: string; max: number }>): Budgets {
  const maxPerIteration = new Map(config?.maxPerIteration ?? []);
  for (const { name, max } of cli) maxPerIteration.set(name, max);
  return { maxPerIteration, ignore: new Set(config?.ignore ?? []) };
}
