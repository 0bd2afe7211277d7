import { readFileSync } from 'node:fs';
import type { AnalysisResult } from '../analysis/result.js';

/** A saved result that cannot be re-rendered; the message is one line naming the file and the bad field. */
export class ResultFileError extends Error {
  override readonly name = 'ResultFileError';
}

const VERDICTS = ['leak', 'warm-up', 'stable', 'shrinking'];

/**
 * Reads a saved result (`--json`, or a report's result.json) and checks its
 * shape field by field, so that a damaged or hand-edited file gives one clear
 * line instead of a broken report: every field a report reads has the type
 * the renderers expect (strings are still untrusted and escaped there).
 */
export function readResultFile(file: string): AnalysisResult & { capture?: unknown } {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new ResultFileError(`${file}: ${code === 'ENOENT' ? 'no such file' : `cannot be read (${code ?? (error as Error).message.split('\n')[0]})`}`);
  }
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (error) {
    throw new ResultFileError(`${file}: not valid JSON (${(error as Error).message.split('\n')[0]})`);
  }
  return checkResult(data, file);
}

/** Checks a parsed result; see {@link readResultFile}. */
export function checkResult(data: unknown, file = 'result'): AnalysisResult & { capture?: unknown } {
  const fail = (where: string, expected: string): never => {
    throw new ResultFileError(`${file}: not an analysis result: ${where} must be ${expected}`);
  };
  const object = (value: unknown, where: string): Record<string, unknown> =>
    typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : fail(where, 'an object');
  const array = (value: unknown, where: string): unknown[] => (Array.isArray(value) ? value : fail(where, 'an array'));
  const string = (value: unknown, where: string): void => void (typeof value === 'string' || fail(where, 'a string'));
  const number = (value: unknown, where: string): void => void ((typeof value === 'number' && Number.isFinite(value)) || fail(where, 'a number'));
  const whole = (value: unknown, where: string): void => void ((typeof value === 'number' && Number.isSafeInteger(value)) || fail(where, 'a whole number'));
  const nullable = (check: (v: unknown, w: string) => void) => (value: unknown, where: string): void => void (value === null || check(value, where));
  const oneOf = (value: unknown, where: string, allowed: string[]): void =>
    void (allowed.includes(value as string) || fail(where, `one of ${allowed.map((a) => JSON.stringify(a)).join(', ')}`));
  const wholes = (value: unknown, where: string, length?: number): void => {
    const items = array(value, where);
    if (length !== undefined && items.length !== length) fail(where, `an array of ${length} whole numbers (one per snapshot)`);
    items.forEach((item, i) => whole(item, `${where}[${i}]`));
  };

  const root = object(data, 'the file');
  if (root.verdict === null && root.capture !== undefined) {
    throw new ResultFileError(`${file}: holds a capture without an analysis (fewer than 2 snapshots): nothing to report`);
  }
  if (root.schemaVersion !== 1) fail('schemaVersion', '1');
  const snapshots = array(root.snapshots, 'snapshots');
  if (snapshots.length < 1) fail('snapshots', 'a non-empty array');
  snapshots.forEach((s, i) => {
    const row = object(s, `snapshots[${i}]`);
    string(row.file, `snapshots[${i}].file`);
    string(row.label, `snapshots[${i}].label`);
    nullable(whole)(row.iterations, `snapshots[${i}].iterations`);
  });
  const k = snapshots.length;
  oneOf(root.comparison, 'comparison', ['identity', 'aggregate']);
  const agent = object(root.agent, 'agent');
  if (typeof agent.found !== 'boolean') fail('agent.found', 'true or false');
  nullable(string)(agent.node, 'agent.node');

  const group = (value: unknown, where: string): Record<string, unknown> => {
    const row = object(value, where);
    string(row.name, `${where}.name`);
    wholes(row.live, `${where}.live`, k);
    whole(row.growth, `${where}.growth`);
    nullable(number)(row.perIteration, `${where}.perIteration`);
    number(row.retainedSize, `${where}.retainedSize`);
    oneOf(row.verdict, `${where}.verdict`, VERDICTS);
    if (row.identity !== null) {
      const identity = object(row.identity, `${where}.identity`);
      for (const key of ['newAlive', 'freed', 'kept']) whole(identity[key], `${where}.identity.${key}`);
    }
    if (row.retainingPath !== null) {
      array(row.retainingPath, `${where}.retainingPath`).forEach((step, j) => {
        const s = object(step, `${where}.retainingPath[${j}]`);
        for (const key of ['edge', 'node', 'nodeType']) string(s[key], `${where}.retainingPath[${j}].${key}`);
        whole(s.id, `${where}.retainingPath[${j}].id`);
      });
    }
    // Added in later versions of the analysis (as are resourcesCollected, ledger,
    // memory below): optional here, checked when present.
    if (row.leakKind !== undefined && row.leakKind !== null) {
      const kind = object(row.leakKind, `${where}.leakKind`);
      for (const key of ['kind', 'label', 'hint']) string(kind[key], `${where}.leakKind.${key}`);
      if (kind.evidence !== undefined) string(kind.evidence, `${where}.leakKind.evidence`);
    }
    if (row.explanation !== undefined) nullable(string)(row.explanation, `${where}.explanation`);
    return row;
  };
  array(root.asyncContexts, 'asyncContexts').forEach((value, i) => {
    const where = `asyncContexts[${i}]`;
    const row = group(value, where);
    if (typeof row.named !== 'boolean') fail(`${where}.named`, 'true or false');
    array(row.creationSites, `${where}.creationSites`).forEach((site, j) => {
      const s = object(site, `${where}.creationSites[${j}]`);
      string(s.frame, `${where}.creationSites[${j}].frame`);
      whole(s.count, `${where}.creationSites[${j}].count`);
      if (s.original !== undefined) nullable(string)(s.original, `${where}.creationSites[${j}].original`);
    });
    if (row.counters !== null) {
      const counters = object(row.counters, `${where}.counters`);
      for (const key of ['init', 'destroy', 'before', 'after']) whole(counters[key], `${where}.counters.${key}`);
    }
    nullable(whole)(row.unclosedCallbackScopes, `${where}.unclosedCallbackScopes`);
    wholes(row.openAtWorkerTeardown, `${where}.openAtWorkerTeardown`, k);
    if (row.resourcesCollected !== undefined) whole(row.resourcesCollected, `${where}.resourcesCollected`);
    if (row.ledger !== undefined && row.ledger !== null) {
      const ledger = object(row.ledger, `${where}.ledger`);
      for (const key of ['created', 'destroyed', 'open']) wholes(ledger[key], `${where}.ledger.${key}`, k);
    }
  });
  array(root.references, 'references').forEach((value, i) => {
    const row = group(value, `references[${i}]`);
    nullable(string)(row.location, `references[${i}].location`);
    if (row.originalLocation !== undefined) nullable(string)(row.originalLocation, `references[${i}].originalLocation`);
  });
  whole(root.unchangedReferenceGroups, 'unchangedReferenceGroups');
  if (root.memory !== undefined) {
    const memory = object(root.memory, 'memory');
    const readings = array(memory.readings, 'memory.readings');
    if (readings.length !== k) fail('memory.readings', `an array of ${k} readings or nulls (one per snapshot)`);
    readings.forEach((reading, i) => {
      if (reading === null) return;
      const r = object(reading, `memory.readings[${i}]`);
      for (const key of ['rss', 'heapUsed', 'external', 'arrayBuffers']) number(r[key], `memory.readings[${i}].${key}`);
    });
    wholes(memory.globalHandles, 'memory.globalHandles', k);
    if (memory.cleanupHooksAdded !== undefined) wholes(memory.cleanupHooksAdded, 'memory.cleanupHooksAdded', k);
    if (memory.perIteration !== undefined && memory.perIteration !== null) {
      const rate = object(memory.perIteration, 'memory.perIteration');
      for (const key of ['rss', 'heapUsed', 'external']) number(rate[key], `memory.perIteration.${key}`);
    }
  }
  if (root.nativeSites !== undefined && root.nativeSites !== null) {
    array(root.nativeSites, 'nativeSites').forEach((value, i) => {
      const where = `nativeSites[${i}]`;
      const row = group(value, where);
      for (const key of ['pair', 'acquire', 'release']) string(row[key], `${where}.${key}`);
      nullable(string)(row.asyncName, `${where}.asyncName`);
      nullable(string)(row.shownBy, `${where}.shownBy`);
      wholes(row.acquired, `${where}.acquired`, k);
      wholes(row.released, `${where}.released`, k);
      if (row.weak !== null) wholes(row.weak, `${where}.weak`, k);
      array(row.frames, `${where}.frames`).forEach((frame, j) => {
        const f = object(frame, `${where}.frames[${j}]`);
        string(f.object, `${where}.frames[${j}].object`);
        string(f.text, `${where}.frames[${j}].text`);
      });
    });
  }
  if (root.nativeMemory !== undefined && root.nativeMemory !== null) {
    const row = group(root.nativeMemory, 'nativeMemory');
    oneOf(row.measure, 'nativeMemory.measure', ['malloc-in-use', 'rss']);
    string(row.explanation, 'nativeMemory.explanation');
    nullable(string)(row.valgrind, 'nativeMemory.valgrind');
  }
  if (root.ledger !== undefined && typeof object(root.ledger, 'ledger').found !== 'boolean') fail('ledger.found', 'true or false');
  array(root.notes, 'notes').forEach((note, i) => string(note, `notes[${i}]`));
  oneOf(root.verdict, 'verdict', ['leak', 'clean']);
  return root as unknown as AnalysisResult & { capture?: unknown };
}
