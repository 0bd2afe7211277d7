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
