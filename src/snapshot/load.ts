import { openByteSource, DEFAULT_CHUNK_SIZE } from './byte-source.js';
import type { HeapSnapshot } from './heap-snapshot.js';
import { SnapshotParser } from './parser.js';
import { validateSections } from './validate.js';

export interface LoadProgress {
  file: string;
  bytesRead: number;
  /** Size on disk, when known. */
  totalBytes: number | undefined;
}

export interface LoadOptions {
  /** Called now and then while reading; the library itself never prints. */
  onProgress?: (progress: LoadProgress) => void;
  chunkSize?: number;
}

/**
 * Loads a `.heapsnapshot` (optionally gzip-compressed) file, or "-" for stdin,
 * by streaming it through the parser. Throws SnapshotFormatError for any
 * structural fault.
 *
 * @example
 *   const snapshot = await loadSnapshot('before.heapsnapshot');
 *   console.log(snapshot.nodeCount, snapshot.edgeCount);
 */
export async function loadSnapshot(path: string, options: LoadOptions = {}): Promise<HeapSnapshot> {
  const source = openByteSource(path, options.chunkSize ?? DEFAULT_CHUNK_SIZE);
  // Only a plain file's size bounds the content (gzip and stdin are unknown).
  const parser = new SnapshotParser(source.name, source.compressed ? undefined : source.size);
  const report = options.onProgress;
  let lastReport = 0;
  for await (const chunk of source.chunks()) {
    parser.write(chunk);
    if (report) {
      const now = Date.now();
      if (now - lastReport >= 250) {
        lastReport = now;
        report({ file: source.name, bytesRead: source.bytesRead(), totalBytes: source.size });
      }
    }
  }
  const snapshot = validateSections(source.name, parser.end());
  report?.({ file: source.name, bytesRead: source.bytesRead(), totalBytes: source.size });
  return snapshot;
}

/** Parses a snapshot held in memory (tests, small inputs), fed in chunks of the given size. */
export function parseSnapshotBytes(bytes: Uint8Array, name = '<memory>', chunkSize = DEFAULT_CHUNK_SIZE): HeapSnapshot {
  const parser = new SnapshotParser(name);
  for (let i = 0; i < bytes.length; i += chunkSize) parser.write(bytes.subarray(i, Math.min(bytes.length, i + chunkSize)));
  return validateSections(name, parser.end());
}
