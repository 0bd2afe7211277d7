/**
 * napi-heapdiff as a library. Nothing here prints, reads argv or exits.
 *
 * @example
 *   import { analyzeSnapshots, resolveSnapshotInputs } from 'napi-heapdiff';
 *   const result = await analyzeSnapshots(resolveSnapshotInputs(['before.heapsnapshot', 'after.heapsnapshot'], { iterations: 1000 }));
 *   for (const row of result.asyncContexts) console.log(row.name, row.growth, row.verdict);
 */
export { loadSnapshot, parseSnapshotBytes, type LoadOptions, type LoadProgress } from './snapshot/load.js';
export type { HeapSnapshot } from './snapshot/heap-snapshot.js';
export type { StringTable } from './snapshot/string-table.js';
export { resolveLayout, type SnapshotLayout } from './snapshot/layout.js';
export { SnapshotFormatError, type SnapshotAnomaly } from './snapshot/errors.js';

export { HeapGraph } from './graph/heap-graph.js';
export { NONE } from './graph/none.js';
export { aggregateByClass, type ClassAggregate } from './graph/aggregate.js';
export { retainingPath, type PathStep as GraphPathStep } from './graph/distances.js';
export { findGlobalHandlesRoot, globalHandleGroups, type GlobalHandleGroup } from './graph/global-handles.js';
export { inspectSnapshot, type InspectResult } from './inspect/inspect-snapshot.js';

export { analyzeSnapshots, type AnalyzeOptions, type SnapshotInput } from './analysis/analyze.js';
export { resolveSnapshotInputs, InputError } from './analysis/snapshot-inputs.js';
export { readAgentRecords, type AgentRecords, type AgentNameView } from './analysis/agent-records.js';
export { takeCensus, type SnapshotCensus } from './analysis/census.js';
export { verdictOf, perIteration, type Verdict } from './analysis/trend.js';
export type { AnalysisResult, AsyncContextRow, ReferenceRow, PathStep, SnapshotRow, IdentityDiff } from './analysis/result.js';

export { captureScenario, captureCommand, CaptureInputError, type CaptureManifest, type CaptureResult } from './capture/index.js';

export { evaluateGate, type Budgets, type GateResult } from './analysis/budget.js';
export { parseConfig, readConfig, ConfigError } from './analysis/config.js';
export { REPORTERS, writeReport, readResultFile } from './report/index.js';
export { escapeHtml, escapeXml, escapeMarkdown, escapeAnnotationData, escapeAnnotationProperty, visible } from './report/escape.js';
export { buildLedger, type NameLedger } from './ledger/ledger.js';
export { readAsyncTraceEvents } from './ledger/trace-events.js';
export { LEAK_KINDS, classifyAsyncLeak, type LeakKind } from './analysis/leak-kinds.js';
export { attach, analyzeAttach, AttachInputError, type AttachOptions, type AttachResult, type AttachProgress, type AttachManifest } from './attach/index.js';

export { expectNoNapiLeaks, NapiLeakError, type NoLeakOptions } from './testing/expect-no-napi-leaks.js';
export { scenarioTemplate, guessAddonPath } from './testing/scenario-template.js';
