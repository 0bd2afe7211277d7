import type { AnalyzeOptions } from '../analysis/analyze.js';
import type { LoadProgress } from '../snapshot/load.js';

/**
 * Progress for long loads, on stderr only, and only when stderr is a terminal
 * (a CI log gets no carriage-return noise). One line, rewritten in place.
 */
export function loadProgressReporter(stream: NodeJS.WriteStream = process.stderr): ((p: LoadProgress) => void) | undefined {
  if (!stream.isTTY) return undefined;
  return ({ file, bytesRead, totalBytes }) => {
    const mb = (bytesRead / 1e6).toFixed(0);
    const of = totalBytes ? ` / ${(totalBytes / 1e6).toFixed(0)} MB` : ' MB';
    const done = totalBytes !== undefined && bytesRead >= totalBytes;
    stream.write(`\rreading ${file}: ${mb}${of}${done ? '\n' : ''}`);
  };
}

/** Per-snapshot progress of an analysis, on stderr when it is a terminal. */
export function analysisProgressReporter(stream: NodeJS.WriteStream = process.stderr): AnalyzeOptions['onProgress'] {
  if (!stream.isTTY) return undefined;
  const load = loadProgressReporter(stream)!;
  return (event) => {
    if (event.stage === 'load' && event.load) load(event.load);
    else if (event.stage === 'analyze') stream.write(`analysing snapshot ${event.index + 1}/${event.count}\n`);
  };
}
