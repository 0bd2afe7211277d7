import { openByteSource, DEFAULT_CHUNK_SIZE, type ByteSource } from './byte-source.js';
import { hasSpareCpu } from '../threads/function-worker.js';
import { EdgeSplit, SPLIT_MIN_BYTES } from './split-edges.js';
import { NODE_SCRATCH_WORDS, type HeapSnapshot } from './heap-snapshot.js';
import type { EdgeConversion } from './edges-from-end.js';
import { resolveLayout, type SnapshotLayout } from './layout.js';
import { SnapshotParser } from './parser.js';
import { validateSections } from './validate.js';
import { readDeferredSection, type DeferredSection } from './deferred-section.js';

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
  /**
   * Parse the `edges` of a plain file with a second thread: "auto" (default)
   * from SPLIT_MIN_BYTES on when a second CPU is available, or always / never.
   * The result is the same.
   */
  splitEdges?: 'auto' | boolean;
  /** Block size of the split (tests use small ones to cross many block boundaries). */
  splitBlockSize?: number;
  /**
   * When the edges are split: have the second thread, once idle, first-touch
   * the memory the dominator computation will need (HeapSnapshot.nodeScratch,
   * 12 bytes a node). Default true: every analysis computes dominators. False
   * leaves it to be allocated then (a load that is never analysed keeps less).
   */
  nodeScratch?: boolean;
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
  const split = wantsSplit(source, options) ? new EdgeSplit(path, source.size!, { blockSize: options.splitBlockSize, nodeScratch: options.nodeScratch ?? true }) : undefined;
  // Only a plain file's size bounds the content (gzip and stdin are unknown).
  const parser = new SnapshotParser(source.name, source.compressed ? undefined : source.size, split && { prepareEdges: (values, nodes) => split.start(values, nodes), takesLocations: () => split.serving });
  const report = options.onProgress;
  let lastReport = 0;
  let converted: { maxName: number } | 'lost' | undefined;
  let locations: ReturnType<EdgeSplit['locations']>;
  let nodeScratch: Uint32Array | undefined;
  try {
    for await (const chunk of source.chunks()) {
      parser.write(chunk);
      const start = parser.pausedAt;
      if (start !== undefined) {
        // The parser stopped at the first byte of the edges (parse them with
        // two threads) or of the locations (the worker parses them while the
        // parser goes on after them), or lets the parser do it from there.
        const edges = parser.pausedSection === 'edges';
        const end = edges ? await split!.run(start) : split!.parseLocations(start);
        if (end === undefined) parser.parseSectionFrom(start);
        else parser.skipSectionTo(end);
        if (edges && end !== undefined) {
          const conversion = edgeConversion(parser, source.name);
          if (conversion) split!.convert(conversion);
        }
        source.seek!(end ?? start);
      }
      if (report) {
        const now = Date.now();
        if (now - lastReport >= 250) {
          lastReport = now;
          report({ file: source.name, bytesRead: source.bytesRead(), totalBytes: source.size });
        }
      }
    }
    // The worker has been checking the edges and converting their to_node,
    // and parsing the locations, meanwhile.
    converted = split?.conversion();
    locations = split?.locations();
    nodeScratch = split?.nodeScratch();
    if (locations !== 'fault' && converted !== 'lost') split?.release();
  } finally {
    await split?.stop();
  }
  // A malformed locations section (or a worker that never answered): load
  // again without the split, which reports any fault exactly where it is.
  if (locations === 'fault' || converted === 'lost') return loadSnapshot(path, { ...options, splitEdges: false });
  const snapshot = validateSections(source.name, parser.end(), converted);
  if (locations) deferLocations(snapshot, { file: path, name: 'locations', ...locations, size: source.size!, modifiedMs: source.modifiedMs! });
  if (nodeScratch && nodeScratch.length === (snapshot.nodeCount + 1) * NODE_SCRATCH_WORDS) snapshot.nodeScratch = nodeScratch;
  report?.({ file: source.name, bytesRead: source.bytesRead(), totalBytes: source.size });
  return snapshot;
}

/** `snapshot.locations` becomes the section read from the file on first use (see deferred-section.ts). */
function deferLocations(snapshot: HeapSnapshot, section: DeferredSection): void {
  let values: Uint32Array | undefined;
  Object.defineProperty(snapshot, 'locations', {
    enumerable: true,
    get: () => (values ??= readDeferredSection(section)),
  });
}

/** What the edges split's worker needs to convert to_node (undefined if the meta is not usable: validation reports it). */
function edgeConversion(parser: SnapshotParser, file: string): EdgeConversion | undefined {
  const { meta, nodeValues } = parser.parsedSoFar;
  if (!meta || nodeValues === undefined) return undefined;
  let layout: SnapshotLayout;
  try {
    layout = resolveLayout(meta, file);
  } catch {
    return undefined;
  }
  return {
    edgeFieldCount: layout.edgeFieldCount,
    edgeTypeOffset: layout.edgeTypeOffset,
    edgeNameOffset: layout.edgeNameOffset,
    edgeToNodeOffset: layout.edgeToNodeOffset,
    edgeTypeLimit: layout.edgeTypeNames.length,
    elementType: layout.edgeType.element,
    hiddenType: layout.edgeType.hidden,
    nodeFieldCount: layout.fileNodeFieldCount,
    nodesLength: nodeValues,
  };
}

function wantsSplit(source: ByteSource, options: LoadOptions): boolean {
  if (!source.seek || source.size === undefined) return false;
  const choice = options.splitEdges ?? 'auto';
  return choice === 'auto' ? source.size >= SPLIT_MIN_BYTES && hasSpareCpu() : choice;
}

/** Parses a snapshot held in memory (tests, small inputs), fed in chunks of the given size. */
export function parseSnapshotBytes(bytes: Uint8Array, name = '<memory>', chunkSize = DEFAULT_CHUNK_SIZE): HeapSnapshot {
  const parser = new SnapshotParser(name);
  for (let i = 0; i < bytes.length; i += chunkSize) parser.write(bytes.subarray(i, Math.min(bytes.length, i + chunkSize)));
  return validateSections(name, parser.end());
}
