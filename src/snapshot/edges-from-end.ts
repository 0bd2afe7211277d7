/**
 * The second thread's half of a split `edges` parse (see split-edges.ts).
 *
 * The edges array holds exactly edge_count × edge_fields values, so its last
 * value's index is known before anyone reaches it: this thread finds where the
 * array ends (from the end of the file) and parses it backwards, writing from
 * the last index down, while the main thread parses it forwards from the
 * start. They take 1 MiB blocks from opposite ends through one atomic word
 * until they meet. Then, while the main thread parses the rest of the file,
 * this thread serves two requests: checking the edges and turning to_node into
 * node ordinals, and parsing the `locations` section.
 *
 * Runs in a worker from its own source text (threads/function-worker.ts): it
 * must not refer to anything outside its body; constants come in `data`.
 */

/** What the worker gets: the file, the meta's count and the shared memory. */
export interface EdgesFromEndData {
  file: string;
  fileSize: number;
  /** Values the edges array holds: edge_count × edge fields (from the meta). */
  valueCount: number;
  blockSize: number;
  values: SharedArrayBuffer;
  control: SharedArrayBuffer;
  results: SharedArrayBuffer;
  /** Memory to write once a page when there is nothing else to do (see EdgeSplit), or undefined. */
  firstTouch: SharedArrayBuffer | undefined;
  slots: typeof SPLIT_SLOTS;
}

/** The layout of the shared words both threads use, and their values. */
export const SPLIT_SLOTS = {
  /** Int32 slots of `control`. */
  control: {
    /** Handshake: a `phase` value; "searching" until one side decides. */
    phase: 0,
    /** Packed claim word: (main's next block + 1) << 16 | worker's next block. */
    claims: 1,
    /** A `worker` value. */
    worker: 2,
    cancel: 3,
    /** A `task` value: main's go-ahead for the conversion, then its outcome. */
    convert: 4,
    /** A `task` value: main's go-ahead for parsing `locations`, then its outcome. */
    locations: 5,
    /** Main adds one after each request or cancellation, so this thread wakes for any of them. */
    bell: 6,
  },
  /** Float64 slots of `results`. */
  results: {
    edgesEnd: 0,
    edgesStart: 1,
    workerValues: 2,
    /** Commas between the start of the worker's lowest block and its first number. */
    workerLeadCommas: 3,
    workerLowest: 4,
    /** The conversion's input, from the meta (see EdgeConversion)… */
    conversion: 5,
    /** …and its output: the largest string index an edge names (-1: none). */
    maxName: 14,
    /** `locations`: its first byte, its closing "]", then how many values it holds. */
    locationsStart: 15,
    locationsEnd: 16,
    locationsCount: 17,
  },
  phase: { searching: 0, split: 1, sequential: 2, notFound: 3 },
  worker: { running: 0, done: 1, failed: 2 },
  task: { waiting: 0, go: 1, cancelled: 2, done: 3, fault: 4 },
  /** Main's next block + 1 before main knows where the edges start. */
  unknownMain: 0x7fff,
} as const;

/**
 * What turning the edges' to_node into node ordinals needs (validate.ts does
 * the same on the main thread when the split did not): the layout's numbers,
 * in this order in `results` from SPLIT_SLOTS.results.conversion.
 */
export interface EdgeConversion {
  edgeFieldCount: number;
  edgeTypeOffset: number;
  edgeNameOffset: number;
  edgeToNodeOffset: number;
  edgeTypeLimit: number;
  elementType: number;
  hiddenType: number;
  nodeFieldCount: number;
  nodesLength: number;
}

export const EDGE_CONVERSION_FIELDS = ['edgeFieldCount', 'edgeTypeOffset', 'edgeNameOffset', 'edgeToNodeOffset', 'edgeTypeLimit', 'elementType', 'hiddenType', 'nodeFieldCount', 'nodesLength'] as const;

export function parseEdgesFromEnd(data: EdgesFromEndData, load: (id: string) => unknown): void {
  const fs = load('node:fs') as typeof import('node:fs');
  const S = data.slots;
  const control = new Int32Array(data.control);
  const results = new Float64Array(data.results);
  const values = new Uint32Array(data.values);
  const { valueCount, blockSize, fileSize } = data;
  let fd = -1;
  const finish = (state: number): void => {
    Atomics.store(control, S.control.worker, state);
    Atomics.notify(control, S.control.worker);
  };
  const readAt = (buffer: Uint8Array, length: number, position: number): number => {
    let got = 0;
    while (got < length) {
      const n = fs.readSync(fd, buffer, got, length - got, position + got);
      if (n <= 0) break;
      got += n;
    }
    return got;
  };
  const isSpace = (c: number): boolean => c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09;

  /**
   * V8 writes `"edges":[...],\n"trace_function_infos":[` (heap-snapshot-generator.cc);
   * that key cannot occur inside a string element (a string is followed by
   * "," or "]", never ":"). Only the last 60 % of the file is searched: the
   * edges are ~55 % of a real snapshot and start after the nodes.
   */
  const findEdgesEnd = (): number => {
    const marker = Buffer.from('"trace_function_infos":[');
    const chunk = Buffer.allocUnsafe(4 << 20);
    const limit = Math.floor(fileSize * 0.4);
    let high = fileSize;
    while (high > limit) {
      const low = Math.max(limit, high - chunk.length);
      const n = readAt(chunk, high - low, low);
      const at = chunk.subarray(0, n).lastIndexOf(marker);
      if (at >= 0) {
        // Back over "," and whitespace to the "]" that closes the edges.
        const windowStart = Math.max(0, low + at - 64);
        const window = Buffer.allocUnsafe(low + at - windowStart);
        readAt(window, window.length, windowStart);
        let i = window.length - 1;
        while (i >= 0 && isSpace(window[i]!)) i--;
        if (i < 0 || window[i] !== 0x2c) return -1;
        i--;
        while (i >= 0 && isSpace(window[i]!)) i--;
        return i >= 0 && window[i] === 0x5d ? windowStart + i : -1;
      }
      if (low === limit) break;
      high = low + marker.length - 1; // overlap: a marker across two reads is still found
    }
    return -1;
  };

  /** The next block from the end, or -1 when the threads have met (or main cancelled). */
  const claim = (): number => {
    for (;;) {
      if (Atomics.load(control, S.control.cancel) !== 0) return -1;
      const word = Atomics.load(control, S.control.claims);
      const next = word & 0xffff;
      const mainNextPlus1 = word >>> 16;
      if (mainNextPlus1 === S.unknownMain) {
        // Until main knows where the edges start, only the bytes that are
        // surely edges: V values need at least 2V - 1 bytes.
        if ((next + 1) * blockSize > 2 * valueCount - 1) {
          Atomics.wait(control, S.control.claims, word, 100);
          continue;
        }
      } else if (next > mainNextPlus1 - 1) {
        return -1;
      }
      if (Atomics.compareExchange(control, S.control.claims, word, (mainNextPlus1 << 16) | (next + 1)) === word) return next;
    }
  };

  /**
   * Parses buffer[first, limit) backwards into values[index], values[index - 1]…
   * and returns the next index. counts gets: commas between the block's top
   * number and `limit` (tail), commas below its lowest number (lead; 1 when a
   * number runs in from below, checked here), numbers written (own). Each
   * number is found backwards and read forwards (integer arithmetic), in its
   * own short function called per block: V8 optimises that far better than a
   * loop inside this long one.
   */
  function parseBackward(buffer: Uint8Array, first: number, limit: number, values: Uint32Array, index: number, counts: Int32Array): number {
    let commas = 0; // since the last number written (going down)
    let own = 0;
    let tail = -1;
    let i = limit - 1;
    while (i >= first) {
      const c = buffer[i]!;
      if (c - 48 >>> 0 <= 9) {
        let start = i;
        while (start > first && buffer[start - 1]! - 48 >>> 0 <= 9) start--;
        if (start === first && buffer[first - 1]! - 48 >>> 0 <= 9) {
          // It started below: the block below owns it and stops right after
          // it, so the one comma between it and this block's lowest number
          // (checked here) is this block's lead.
          if (tail < 0 || commas !== 1) throw new Error('separator');
          counts[0] = tail;
          counts[1] = 1;
          counts[2] = own;
          return index;
        }
        if (tail < 0) tail = commas;
        else if (commas !== 1) throw new Error('separator');
        if (i - start >= 10 || index < 0) throw new Error('value');
        let value = 0;
        for (let k = start; k <= i; k++) value = value * 10 + (buffer[k]! - 48);
        if (value > 0xffffffff) throw new Error('value');
        values[index--] = value;
        own++;
        commas = 0;
        i = start - 1;
        continue;
      }
      if (c === 0x2c) commas++;
      else if (c !== 0x20 && c !== 0x0a && c !== 0x0d && c !== 0x09) throw new Error('character');
      i--;
    }
    counts[0] = tail;
    counts[1] = commas;
    counts[2] = own;
    return index;
  }

  /**
   * Once main has checked that the halves met (the array is whole), it may
   * ask this thread to check every edge's type and to_node and turn to_node
   * into a node ordinal, while it parses the rest of the file; string indexes
   * are only measured (main knows the string count later). On any fault the
   * converted edges are turned back, so that main's own pass reports the
   * fault exactly as it would have.
   */
  const convert = (): void => {
    const at = S.results.conversion;
    const fieldCount = results[at]! | 0;
    const toOffset = results[at + 3]! | 0;
    const nodeFieldCount = results[at + 7]! | 0;
    const edgeCount = Math.floor(valueCount / fieldCount);
    const maxName = new Float64Array(1).fill(-1);
    let converted = 0;
    let ok = true;
    try {
      for (let edge = 0; edge < edgeCount; edge += 16384) {
        const to = Math.min(edgeCount, edge + 16384);
        const bad = convertBlock(edge, to, fieldCount, results[at + 1]! | 0, results[at + 2]! | 0, toOffset, results[at + 4]! | 0, results[at + 5]! | 0, results[at + 6]! | 0, nodeFieldCount, results[at + 8]!, maxName);
        converted = bad < 0 ? to : bad;
        if (bad >= 0) {
          ok = false;
          break;
        }
      }
    } catch {
      ok = false;
    }
    if (!ok) for (let edge = 0, i = toOffset; edge < converted; edge++, i += fieldCount) values[i] = values[i]! * nodeFieldCount;
    results[S.results.maxName] = maxName[0]!;
    Atomics.store(control, S.control.convert, ok ? S.task.done : S.task.fault);
    Atomics.notify(control, S.control.convert);
  };

  /**
   * Main has found where `locations` ends and skipped it. Its numbers are
   * checked here, backwards as the edges are, and counted, not kept: the
   * section is read again from the file when it is first asked for
   * (deferred-section.ts). Any fault: main loads the file again without the
   * split, and reports it.
   */
  const parseLocations = (): void => {
    let count = -1;
    try {
      count = countRangeBackwards(results[S.results.locationsStart]!, results[S.results.locationsEnd]!);
    } catch {
      count = -1;
    }
    results[S.results.locationsCount] = count;
    Atomics.store(control, S.control.locations, count >= 0 ? S.task.done : S.task.fault);
    Atomics.notify(control, S.control.locations);
  };

  /** How many numbers the array whose content is [start, end) (end: its "]") holds; each block is parsed into the same scratch. Throws on any fault. */
  const countRangeBackwards = (start: number, end: number): number => {
    fd = fs.openSync(data.file, 'r');
    const buffer = Buffer.allocUnsafe(blockSize + 12);
    // A block (and the up to 11 digits read past its top) holds at most one number every two bytes.
    const scratch = new Uint32Array(((blockSize + 12) >>> 1) + 2);
    const counts = new Int32Array(3);
    let count = 0;
    let aboveLead = -1;
    let lead = 0;
    for (let high = end; high > start; ) {
      const low = Math.max(high - blockSize, start);
      const readFrom = low - 1;
      const readTo = Math.min(high + 11, end);
      if (readAt(buffer, readTo - readFrom, readFrom) !== readTo - readFrom) throw new Error('short read');
      let limit = high - readFrom;
      if (high < end && buffer[limit - 1]! - 48 >>> 0 <= 9) {
        while (limit < readTo - readFrom && buffer[limit]! - 48 >>> 0 <= 9) limit++;
      }
      parseBackward(buffer, 1, limit | 0, scratch, scratch.length - 1, counts);
      if (counts[2] === 0 || (high === end ? counts[0] !== 0 : counts[0]! + aboveLead !== 1)) throw new Error('separator');
      count += counts[2]!;
      aboveLead = lead = counts[1]!;
      high = low;
    }
    fs.closeSync(fd);
    fd = -1;
    // Nothing may follow "[" but a number.
    if (lead !== 0) throw new Error('separator');
    return count;
  };

  // One word a page (4 kB, the smallest page size), by an atomic add of 0:
  // a write, so the page is faulted in here, that never changes a value. The
  // loader hands the memory over while this may still be at it, and the
  // graph's writes to it then cannot be lost.
  const touch = data.firstTouch === undefined ? undefined : new Int32Array(data.firstTouch);
  let touched = 0;
  /** Writes the next 64 pages of `firstTouch`; false once all are written or main stopped the split. */
  const touchSome = (): boolean => {
    if (!touch || touched >= touch.length || Atomics.load(control, S.control.cancel) !== 0) return false;
    const end = Math.min(touch.length, touched + 64 * 1024);
    for (; touched < end; touched += 1024) Atomics.add(touch, touched, 0);
    return true;
  };

  /** Serves main's requests (conversion, locations) until both are settled, first-touching memory while none is pending. */
  const serve = (): void => {
    for (;;) {
      const bell = Atomics.load(control, S.control.bell);
      const conversion = Atomics.load(control, S.control.convert);
      const locations = Atomics.load(control, S.control.locations);
      if (conversion === S.task.go) convert();
      else if (locations === S.task.go) parseLocations();
      else if (conversion !== S.task.waiting && locations !== S.task.waiting) return;
      else if (!touchSome()) Atomics.wait(control, S.control.bell, bell);
    }
  };

  /** Edges [from, to): the first bad one, or -1; the largest string index named goes to maxName[0]. */
  function convertBlock(from: number, to: number, fieldCount: number, typeOffset: number, nameOffset: number, toOffset: number, typeLimit: number, elementType: number, hiddenType: number, nodeFieldCount: number, nodesLength: number, maxName: Float64Array): number {
    let max = maxName[0]!;
    for (let edge = from, i = from * fieldCount; edge < to; edge++, i += fieldCount) {
      const type = values[i + typeOffset]!;
      if (type >= typeLimit) return edge;
      if (type !== elementType && type !== hiddenType) {
        const name = values[i + nameOffset]!;
        if (name > max) max = name;
      }
      const target = values[i + toOffset]!;
      if (target >= nodesLength || target % nodeFieldCount !== 0) return edge;
      values[i + toOffset] = target / nodeFieldCount;
    }
    maxName[0] = max;
    return -1;
  }

  try {
    fd = fs.openSync(data.file, 'r');
    const end = findEdgesEnd();
    const phase = end < 0 ? S.phase.notFound : S.phase.split;
    if (end >= 0) results[S.results.edgesEnd] = end;
    if (Atomics.compareExchange(control, S.control.phase, S.phase.searching, phase) !== S.phase.searching || end < 0) {
      finish(S.worker.done);
      return;
    }

    const buffer = Buffer.allocUnsafe(blockSize + 12);
    let index = valueCount - 1; // next value to write, going down
    let aboveLead = -1; // lead commas of the block above the current one
    let lowest = end;
    let lowestLead = 0;
    const counts = new Int32Array(3);
    for (let block = claim(); block >= 0; block = claim()) {
      const high = end - block * blockSize;
      // Main publishes the edges start before it lets this thread past the
      // bytes that are surely edges (see claim()); until then it reads 0.
      const low = Math.max(high - blockSize, results[S.results.edgesStart]!, 1);
      const readFrom = low - 1; // one byte below: does a number run into this block from below?
      const readTo = Math.min(high + 11, end); // a number starting below `high` ends within 10 digits
      const got = readAt(buffer, readTo - readFrom, readFrom);
      if (got !== readTo - readFrom) throw new Error('short read');
      // Buffer indices from here on: buffer[i] is the byte at readFrom + i.
      const first = 1;
      let limit = high - readFrom;
      // A number that starts in this block and runs past `high` is this block's.
      if (high < end && buffer[limit - 1]! - 48 >>> 0 <= 9) {
        while (limit < got && buffer[limit]! - 48 >>> 0 <= 9) limit++;
        if (limit === got && readTo < end) throw new Error('number too long');
      }
      // limit | 0: block-relative, a small integer (positions past 2 GB are
      // doubles, and a double where the optimised code expects a small integer
      // throws that code away).
      index = parseBackward(buffer, first, limit | 0, values, index, counts);
      const tail = counts[0]!;
      const lead = counts[1]!;
      const own = counts[2]!;
      if (own === 0) throw new Error('a block without a number of its own');
      // Exactly one comma between this block's top number and the next one up;
      // none before the closing "]".
      if (block === 0 ? tail !== 0 : tail + aboveLead !== 1) throw new Error('separator');
      aboveLead = lead;
      lowest = low;
      lowestLead = lead;
    }
    results[S.results.workerValues] = valueCount - 1 - index;
    results[S.results.workerLeadCommas] = lowestLead;
    results[S.results.workerLowest] = lowest;
    fs.closeSync(fd);
    fd = -1;
    finish(S.worker.done);
    serve();
    while (touchSome());
  } catch {
    // Any fault: main parses the whole array itself and reports it precisely;
    // a task main is waiting for is answered, never left hanging.
    for (const task of [S.control.convert, S.control.locations]) {
      if (Atomics.compareExchange(control, task, S.task.go, S.task.fault) === S.task.go) Atomics.notify(control, task);
    }
    finish(S.worker.failed);
  } finally {
    if (fd >= 0) fs.closeSync(fd);
  }
}
