import { closeSync, openSync, renameSync, rmSync, writeSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import type { InspectorClient } from './inspector-client.js';

export interface StreamedSnapshot {
  bytes: number;
  chunks: number;
}

/** `.<name>.<pid>.tmp` beside the final file: what removeTemporaryFiles() cleans up. */
export function temporaryPathFor(file: string): string {
  return join(dirname(file), `.${basename(file)}.${process.pid}.tmp`);
}

/**
 * Takes a heap snapshot of the attached process (HeapProfiler.takeHeapSnapshot)
 * and writes its HeapProfiler.addHeapSnapshotChunk chunks, as they arrive, to a
 * temporary file that is renamed to `file` once the snapshot is complete. Each
 * chunk is written synchronously from the socket's message handler, so at most
 * a few chunks (V8 sends about 100 kB each) are ever in this process; reading
 * from the socket waits while the disk is slow.
 *
 * Whatever happens before the end (the target exits, the connection drops, a
 * write fails, `signal` aborts) removes the temporary file and rejects; no
 * partial snapshot is ever left under `file`.
 */
export async function streamHeapSnapshot(client: InspectorClient, file: string, options: { signal?: AbortSignal } = {}): Promise<StreamedSnapshot> {
  const temporary = temporaryPathFor(file);
  let fd: number | undefined = openSync(temporary, 'w');
  let bytes = 0;
  let chunks = 0;
  let writeError: unknown;
  const stop = client.on('HeapProfiler.addHeapSnapshotChunk', (params) => {
    const chunk = (params as { chunk?: unknown } | undefined)?.chunk;
    if (writeError !== undefined || fd === undefined || typeof chunk !== 'string') return;
    try {
      const data = Buffer.from(chunk, 'utf8');
      for (let offset = 0; offset < data.length;) offset += writeSync(fd, data, offset, data.length - offset);
      bytes += data.length;
      chunks++;
    } catch (error) {
      writeError = error;
    }
  });
  let onAbort: (() => void) | undefined;
  try {
    const taken = client.send('HeapProfiler.takeHeapSnapshot', { reportProgress: false }, { timeoutMs: 0 });
    if (options.signal) {
      const signal = options.signal;
      await Promise.race([
        taken,
        new Promise<never>((_, reject) => {
          onAbort = () => reject(signal.reason instanceof Error ? signal.reason : new Error('aborted'));
          if (signal.aborted) onAbort();
          else signal.addEventListener('abort', onAbort, { once: true });
        }),
      ]);
    } else {
      await taken;
    }
    if (writeError !== undefined) throw writeError;
    if (bytes === 0) throw new Error('the inspector sent an empty heap snapshot');
    closeSync(fd);
    fd = undefined;
    renameSync(temporary, file);
    return { bytes, chunks };
  } catch (error) {
    if (fd !== undefined) closeSync(fd);
    fd = undefined;
    rmSync(temporary, { force: true });
    throw error;
  } finally {
    stop();
    if (onAbort) options.signal?.removeEventListener('abort', onAbort);
  }
}
