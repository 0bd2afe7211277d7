import { openSync, readSync, closeSync } from 'node:fs';
import type { Worker } from 'node:worker_threads';
import { startFunctionWorker } from '../threads/function-worker.js';
import { EDGE_CONVERSION_FIELDS, parseEdgesFromEnd, SPLIT_SLOTS as S, type EdgeConversion, type EdgesFromEndData } from './edges-from-end.js';
import { NODE_SCRATCH_MAX_NODES, NODE_SCRATCH_WORDS } from './heap-snapshot.js';

/** Below this size a second thread costs more to start than it saves. */
export const SPLIT_MIN_BYTES = 32 << 20;

export interface SplitOptions {
  /** Block size the two threads take turns on (tests use tiny ones to cross many boundaries). */
  blockSize?: number;
  /** How long to wait for the worker's conversion or locations (default: a minute plus a second per 20 MB). */
  taskTimeoutMs?: number;
  /** Have the worker first-touch the graph's node scratch (HeapSnapshot.nodeScratch) when it has nothing else to do. */
  nodeScratch?: boolean;
}

/**
 * Parses a plain file's `edges` array with two threads: a worker parses it
 * from the end backwards (edges-from-end.ts) while the main thread parses it
 * from the start. The `edges` section is over half of a snapshot and the
 * slowest to parse; the second core halves that.
 *
 * Once the halves meet, the worker stays for two more jobs while the main
 * thread parses on: converting to_node (convert/conversion) and parsing the
 * `locations` section (parseLocations/locations). Between and after them it
 * writes the first word of each page of the memory the dominator computation
 * will work in (nodeScratch): the first write to a page is a page fault, which
 * on a VM costs some 10 µs, and this way the idle core takes them, not the
 * main thread later.
 *
 * The split is only an optimisation. Whenever anything is not exactly as V8
 * writes it — the end marker missing, a malformed number or separator, a
 * count that does not add up, the worker failing — the result is "not done"
 * and the caller parses the array sequentially, which reports the fault
 * precisely.
 */
export class EdgeSplit {
  private worker: Worker | undefined;
  private workerGone = false;
  private values: Uint32Array | undefined;
  private scratch: Uint32Array | undefined;
  private readonly control = new Int32Array(new SharedArrayBuffer(4 * slotCount(S.control)));
  private readonly results = new Float64Array(new SharedArrayBuffer(8 * slotCount(S.results)));
  private converting = false;
  private ranThrough = false;
  /** The worker was asked to check `locations` (their range is in `results`). */
  private locationsAsked = false;
  private released = false;
  private readonly blockSize: number;

  constructor(
    private readonly file: string,
    private readonly fileSize: number,
    private readonly options: SplitOptions = {},
  ) {
    // The claim word packs block numbers in 15 bits.
    const requested = options.blockSize ?? 1 << 20;
    let blockSize = Number.isFinite(requested) && requested >= 16 ? Math.floor(requested) : 1 << 20;
    while (fileSize / blockSize > S.unknownMain - 2) blockSize *= 2;
    this.blockSize = blockSize;
    Atomics.store(this.control, S.control.claims, S.unknownMain << 16);
  }

  /**
   * Called as soon as the meta declares the edge count: allocates the shared
   * storage and starts the worker, which finds the end of the edges and starts
   * on them while the main thread is still parsing the nodes. `nodeCount`
   * (when declared) sizes the node scratch.
   */
  start(valueCount: number, nodeCount?: number): Uint32Array {
    const values = new Uint32Array(new SharedArrayBuffer(valueCount * 4));
    this.values = values;
    if (valueCount < 2) return values;
    // Address space only until the worker writes to it.
    if (this.options.nodeScratch && nodeCount !== undefined && nodeCount < NODE_SCRATCH_MAX_NODES) this.scratch = new Uint32Array(new SharedArrayBuffer((nodeCount + 1) * NODE_SCRATCH_WORDS * 4));
    const data: EdgesFromEndData = {
      file: this.file,
      fileSize: this.fileSize,
      valueCount,
      blockSize: this.blockSize,
      values: values.buffer as SharedArrayBuffer,
      control: this.control.buffer as SharedArrayBuffer,
      results: this.results.buffer as SharedArrayBuffer,
      firstTouch: this.scratch?.buffer as SharedArrayBuffer | undefined,
      slots: S,
    };
    let worker: Worker;
    try {
      // A small heap: the worker holds two buffers; the data is shared.
      worker = startFunctionWorker(parseEdgesFromEnd, data, 64).worker;
    } catch {
      // No worker here (e.g. a permission model without --allow-worker): run()
      // then leaves the edges to the sequential parser.
      return values;
    }
    worker.on('error', () => (this.workerGone = true));
    worker.on('exit', () => (this.workerGone = true));
    this.worker = worker;
    return values;
  }

  /**
   * Parses the edges whose first byte is at `start`. Returns the offset of the
   * closing "]" when the whole array was parsed (the worker then waits for
   * convert() or stop()), or undefined when the caller must parse it
   * sequentially (the worker has stopped by then).
   */
  async run(start: number): Promise<number | undefined> {
    const values = this.values;
    if (!values || !this.worker) return undefined;
    const control = this.control;
    const results = this.results;
    // The worker is usually done searching long before the nodes are parsed;
    // on small files it may still be starting: its search is bounded, wait.
    while (Atomics.load(control, S.control.phase) === S.phase.searching && !this.workerGone) {
      await new Promise((resolve) => setTimeout(resolve, 1));
    }
    if (Atomics.compareExchange(control, S.control.phase, S.phase.searching, S.phase.sequential) !== S.phase.split) {
      await this.stop();
      return undefined;
    }
    const end = results[S.results.edgesEnd]!;
    if (end <= start) {
      await this.stop();
      return undefined;
    }
    results[S.results.edgesStart] = start;
    const blocks = Math.ceil((end - start) / this.blockSize);
    publishMainBlocks(control, blocks);

    let forward: ForwardResult | undefined;
    try {
      forward = parseForward(this.file, values, start, end, this.blockSize, control);
    } catch {
      forward = undefined; // e.g. no file descriptor left: the sequential parser reads on
    }
    if (!forward) {
      await this.stop();
      return undefined;
    }
    while (Atomics.load(control, S.control.worker) === S.worker.running && !this.workerGone) {
      await new Promise((resolve) => setTimeout(resolve, 1));
    }
    const workerDone = Atomics.load(control, S.control.worker) === S.worker.done;
    const workerValues = results[S.results.workerValues]!;
    const meetsWorker = forward.regionEnd === results[S.results.workerLowest]!;
    const commasAtMeeting = forward.tailCommas + (forward.regionEnd === end ? 0 : results[S.results.workerLeadCommas]!);
    // One comma between main's last number and the worker's first; none when
    // either side has no number (nothing may follow "[" or precede "]").
    const expectedCommas = forward.regionEnd === end || forward.count === 0 ? 0 : 1;
    if (!workerDone || !meetsWorker || commasAtMeeting !== expectedCommas || forward.count + workerValues !== values.length) {
      await this.stop();
      return undefined;
    }
    // The worker stays, waiting for convert(), parseLocations() or stop().
    this.ranThrough = true;
    return end;
  }

  /** Whether the worker is waiting for tasks (run() returned the end of the edges). */
  get serving(): boolean {
    return this.worker !== undefined && this.ranThrough;
  }

  /**
   * After run() returned the end: the worker checks the edges and turns
   * to_node into ordinals (see edges-from-end.ts) while this thread parses the
   * rest of the file; conversion() collects the outcome.
   */
  convert(conversion: EdgeConversion): void {
    if (!this.serving) return;
    EDGE_CONVERSION_FIELDS.forEach((field, k) => (this.results[S.results.conversion + k] = conversion[field]));
    this.converting = true;
    this.request(S.control.convert);
  }

  /**
   * Waits for the conversion convert() asked for. The largest string index an
   * edge names when every edge passed (and was converted); undefined when there
   * was none or a fault (the edges are then as parsed, for validation to
   * report); 'lost' when the worker never answered (the edges are then in an
   * unknown state: load again without the split).
   */
  conversion(): { maxName: number } | 'lost' | undefined {
    if (!this.converting) return undefined;
    this.converting = false;
    // The pass cannot stop half-way: it either finishes or turns its work back.
    const outcome = this.settle(S.control.convert);
    if (outcome === S.task.go) return 'lost';
    return outcome === S.task.done ? { maxName: this.results[S.results.maxName]! } : undefined;
  }

  /**
   * The parser stopped at the first byte of `locations`, which holds numbers
   * only, so its first "]" closes it: found here by reading ahead, the range is
   * handed to the worker and this thread goes on after it. The closing "]"'s
   * offset, or undefined (parse it here).
   */
  parseLocations(start: number): number | undefined {
    if (!this.serving) return undefined;
    const end = findClosingBracket(this.file, start, this.fileSize);
    if (end === undefined) return undefined;
    this.locationsAsked = true;
    this.results[S.results.locationsStart] = start;
    this.results[S.results.locationsEnd] = end;
    this.request(S.control.locations);
    return end;
  }

  /**
   * Waits for the check of the `locations` parseLocations() handed over: its
   * content's range and value count (the values are not kept: see
   * deferred-section.ts), 'fault' when they were not all well-formed (the
   * caller then loads the file again without the split, which reports the
   * fault), or undefined if none were asked for.
   */
  locations(): { start: number; end: number; count: number } | 'fault' | undefined {
    if (!this.locationsAsked) return undefined;
    this.locationsAsked = false;
    if (this.settle(S.control.locations) !== S.task.done) return 'fault';
    const { results } = this;
    return { start: results[S.results.locationsStart]!, end: results[S.results.locationsEnd]!, count: results[S.results.locationsCount]! };
  }

  /**
   * The node scratch for a file whose edges the split parsed, sized for the
   * declared node count (the caller checks it against the real one); zero,
   * and mostly resident already. Once only.
   */
  nodeScratch(): Uint32Array | undefined {
    const scratch = this.ranThrough ? this.scratch : undefined;
    this.scratch = undefined;
    return scratch;
  }

  /**
   * The load succeeded: no more tasks. The worker finishes first-touching the
   * node scratch and then ends by itself (it does not keep the process alive).
   */
  release(): void {
    this.cancelWaitingTasks();
    this.worker = undefined;
    this.released = true;
  }

  /** Stops the worker (idempotent; nothing after release()); safe to call on any path. */
  async stop(): Promise<void> {
    if (this.released) return;
    Atomics.store(this.control, S.control.cancel, 1);
    Atomics.notify(this.control, S.control.claims);
    this.cancelWaitingTasks();
    const worker = this.worker;
    this.worker = undefined;
    if (worker && !this.workerGone) await worker.terminate();
  }

  /** Tasks never asked for are cancelled, so the worker's serve() returns. */
  private cancelWaitingTasks(): void {
    for (const task of [S.control.convert, S.control.locations]) Atomics.compareExchange(this.control, task, S.task.waiting, S.task.cancelled);
    this.ring();
  }

  private request(task: number): void {
    Atomics.store(this.control, task, S.task.go);
    this.ring();
  }

  private ring(): void {
    Atomics.add(this.control, S.control.bell, 1);
    Atomics.notify(this.control, S.control.bell);
  }

  /**
   * Waits while the task runs (the worker finishes it or turns its work back);
   * its outcome, or still "go" when the worker did not answer in time (say it
   * was killed).
   */
  private settle(task: number): number {
    const deadline = Date.now() + (this.options.taskTimeoutMs ?? 60_000 + this.fileSize / 20_000);
    for (;;) {
      const state = Atomics.load(this.control, task);
      const left = deadline - Date.now();
      if (state !== S.task.go || left <= 0) return state;
      Atomics.wait(this.control, task, S.task.go, left);
    }
  }
}

/** Slots a group of SPLIT_SLOTS needs: one past the highest (the conversion's inputs run up to `maxName`). */
function slotCount(slots: Record<string, number>): number {
  return Math.max(...Object.values(slots)) + 1;
}

/** The offset of the first "]" at or after `start`, or undefined. */
function findClosingBracket(file: string, start: number, fileSize: number): number | undefined {
  const fd = openSync(file, 'r');
  try {
    const buffer = Buffer.allocUnsafe(1 << 20);
    for (let at = start; at < fileSize; at += buffer.length) {
      const got = readSync(fd, buffer, 0, buffer.length, at);
      if (got <= 0) return undefined;
      const found = buffer.subarray(0, got).indexOf(0x5d);
      if (found >= 0) return at + found;
    }
    return undefined;
  } finally {
    closeSync(fd);
  }
}

/** Sets main's first block (the lowest-addressed one) in the claim word and wakes the worker. */
function publishMainBlocks(control: Int32Array, blocks: number): void {
  for (;;) {
    const word = Atomics.load(control, S.control.claims);
    if (Atomics.compareExchange(control, S.control.claims, word, (blocks << 16) | (word & 0xffff)) === word) break;
  }
  Atomics.notify(control, S.control.claims);
}

/** Main's next block (going towards the end of the file), or -1 once the worker has it. */
function claimMainBlock(control: Int32Array): number {
  for (;;) {
    const word = Atomics.load(control, S.control.claims);
    const workerNext = word & 0xffff;
    const mainNext = (word >>> 16) - 1;
    if (mainNext < workerNext) return -1;
    if (Atomics.compareExchange(control, S.control.claims, word, (mainNext << 16) | workerNext) === word) return mainNext;
  }
}

interface ForwardResult {
  count: number;
  /** Where main's blocks end: the worker's lowest block starts here. */
  regionEnd: number;
  /** Commas between main's last number and regionEnd. */
  tailCommas: number;
}

/**
 * Main's half: blocks from the start of the edges, in file order, each read
 * with one positioned read plus up to 11 bytes past it (a number that starts
 * in a block is that block's, wherever it ends). Checks exactly one comma
 * between numbers and none after "[". Undefined on any fault.
 */
function parseForward(file: string, values: Uint32Array, start: number, end: number, blockSize: number, control: Int32Array): ForwardResult | undefined {
  const fd = openSync(file, 'r');
  try {
    const buffer = Buffer.allocUnsafe(blockSize + 12);
    let count = 0;
    // Commas since the last number, a number seen, position reached. Int32: a
    // Float64Array hands back doubles where the parser's loop expects small
    // integers, and V8 throws its optimised code away (270 → 380 MB/s).
    const state = new Int32Array(3);
    let skip = 0; // bytes at the start of a block already consumed by the previous block's last number
    let regionEnd = start;
    for (let block = claimMainBlock(control); block >= 0; block = claimMainBlock(control)) {
      const high = end - block * blockSize;
      const low = regionEnd;
      regionEnd = high;
      const readTo = Math.min(high + 11, end);
      const length = readTo - low;
      let got = 0;
      while (got < length) {
        const n = readSync(fd, buffer, got, length - got, low + got);
        if (n <= 0) return undefined;
        got += n;
      }
      const limit = high - low;
      // Block-relative numbers as small integers (| 0): the positions above are doubles past 2 GB, and
      // a double where the optimised code expects a small integer throws that code away.
      count = parseForwardBlock(buffer, skip | 0, limit | 0, got | 0, readTo === end, values, count, state);
      if (count < 0) return undefined;
      skip = state[STATE_POSITION]! - limit;
    }
    return { count, regionEnd, tailCommas: state[STATE_COMMAS]! };
  } finally {
    closeSync(fd);
  }
}

const STATE_COMMAS = 0;
const STATE_SEEN = 1;
const STATE_POSITION = 2;

/**
 * Parses the numbers that start in buffer[from, limit) (the last may run on
 * up to `got`) into values[count…]; returns the new count, or -1 on a fault.
 * Its own short function called per block: V8 optimises that far better than
 * the same loop inside the long caller.
 */
function parseForwardBlock(buffer: Uint8Array, from: number, limit: number, got: number, atEnd: boolean, values: Uint32Array, count: number, state: Int32Array): number {
  const capacity = values.length;
  let commas = state[STATE_COMMAS]!;
  let seen = state[STATE_SEEN] === 1;
  let i = from;
  while (i < limit) {
    let c = buffer[i]!;
    if (c - 48 >>> 0 <= 9) {
      if (commas !== (seen ? 1 : 0)) return -1;
      let value = c - 48;
      i++;
      while (i < got && (c = buffer[i]!) - 48 >>> 0 <= 9) {
        value = value * 10 + (c - 48);
        i++;
      }
      if ((i === got && !atEnd) || value > 0xffffffff || count === capacity) return -1;
      values[count++] = value;
      seen = true;
      commas = 0;
      // The common case: a comma right after the number.
      if (c === 0x2c && i < limit) {
        commas = 1;
        i++;
      }
      continue;
    }
    if (c === 0x2c) commas++;
    else if (c !== 0x20 && c !== 0x0a && c !== 0x0d && c !== 0x09) return -1;
    i++;
  }
  state[STATE_COMMAS] = commas;
  state[STATE_SEEN] = seen ? 1 : 0;
  state[STATE_POSITION] = i;
  return count;
}
