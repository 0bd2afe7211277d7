import { readFileSync } from 'node:fs';

/** One async_hooks trace event: a begin on init, an end on destroy. */
export interface AsyncTraceEvent {
  /** 'b' = init, 'e' = destroy. */
  phase: 'b' | 'e';
  /** The async type: for native contexts, the name given to napi_async_init. */
  name: string;
  asyncId: number;
  /** Microseconds on the same clock as process.hrtime() / 1000. */
  ts: number;
  pid: number;
}

const CALLBACK_SUFFIX = '_CALLBACK';

export class TraceFileError extends Error {
  override readonly name = 'TraceFileError';
}

/** What a set of trace files holds for the ledger. */
export interface TraceContents {
  /** Lifetime events (init/destroy) in time order. */
  events: AsyncTraceEvent[];
  /**
   * The time of every event in the files, callbacks and Node's own types
   * included, sorted: each one sat in Node's trace buffer (C++ memory of the
   * traced process) until it was written out.
   */
  allTimes: Float64Array;
}

/**
 * Reads Node's trace-event files (`--trace-event-categories node.async_hooks`)
 * and returns their async_hooks events in time order. Node writes each file as
 * one JSON object `{"traceEvents": [...]}` when it exits; a file cut short by a
 * crash is reported, not half-read.
 */
export function readAsyncTraceEvents(files: string[]): AsyncTraceEvent[] {
  return readTraceFiles(files).events;
}

export function readTraceFiles(files: string[]): TraceContents {
  const events: AsyncTraceEvent[] = [];
  const times: number[] = [];
  for (const file of files) {
    const text = readFileSync(file, 'utf8');
    let parsed: { traceEvents?: unknown } | undefined;
    try {
      parsed = JSON.parse(text) as { traceEvents?: unknown };
    } catch {
      // Node writes async type names into the file without JSON escaping, so a
      // name holding a quote or a control character breaks the JSON; read the
      // events by their fixed layout instead.
      if (!text.startsWith('{"traceEvents":[') || !text.trimEnd().endsWith(']}')) {
        throw new TraceFileError(`${file}: not a complete trace-event file (the process did not exit normally?)`);
      }
      for (const match of text.matchAll(ANY_EVENT_TIME)) times.push(Number(match[1]));
      for (const match of text.matchAll(EVENT_LAYOUT)) {
        const [, pid, ts, phase, cat, name, id] = match;
        if (!cat!.includes('node.async_hooks') || name!.endsWith(CALLBACK_SUFFIX)) continue;
        events.push({ phase: phase as 'b' | 'e', name: name!, asyncId: Number.parseInt(id!, 16), ts: Number(ts), pid: Number(pid) });
      }
      continue;
    }
    if (!Array.isArray(parsed.traceEvents)) throw new TraceFileError(`${file}: no "traceEvents" array`);
    for (const raw of parsed.traceEvents as Array<Record<string, unknown>>) {
      if (typeof raw.ts === 'number') times.push(raw.ts);
      const phase = raw.ph;
      if ((phase !== 'b' && phase !== 'e') || typeof raw.cat !== 'string' || !raw.cat.includes('node.async_hooks')) continue;
      // "<type>_CALLBACK" spans wrap each callback (before/after), not a lifetime.
      if (typeof raw.name === 'string' && raw.name.endsWith(CALLBACK_SUFFIX)) continue;
      events.push({ phase, name: String(raw.name), asyncId: Number.parseInt(String(raw.id), 16), ts: Number(raw.ts), pid: Number(raw.pid) });
    }
  }
  return { events: events.sort((a, b) => a.ts - b.ts), allTimes: Float64Array.from(times).sort() };
}

/** The time of any event, in the same layout. */
const ANY_EVENT_TIME = /\{"pid":\d+,"tid":\d+,"ts":(\d+),/g;

/** One async_hooks event as Node lays it out; the name runs up to the fixed fields after it. */
const EVENT_LAYOUT = /\{"pid":(\d+),"tid":\d+,"ts":(\d+),"tts":\d+,"ph":"([be])","cat":"([^"]*)","name":"(.*?)","dur":0,"tdur":0,"id":"(0x[0-9a-f]+)"/gs;
