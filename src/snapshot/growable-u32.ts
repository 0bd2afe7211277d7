/**
 * A Uint32Array that is filled front to back. When the snapshot's meta gives
 * the final length, it is allocated once at that size (shared). Otherwise it
 * starts small; past that, when the file's size bounds the values, it moves
 * once to an array of that bound (doubling would leave a trail of copies for
 * the GC, all resident until it runs); without a bound it doubles.
 */
export class GrowableU32 {
  array: Uint32Array;
  length = 0;
  /** The array was sized by `bound`: it is mostly untouched pages, so its filled part is handed out without a copy. */
  private atBound = false;

  /** `bound`: at most this many values can come (n values take at least 2n - 1 bytes of the file). */
  constructor(initialCapacity: number, readonly fixed: boolean, private readonly bound?: number) {
    // Arrays of known size are shared memory, so worker threads can read the
    // graph without a copy (graph/graph-workers.ts).
    this.array = fixed ? new Uint32Array(new SharedArrayBuffer(initialCapacity * 4)) : new Uint32Array(Math.max(initialCapacity, 1024));
  }

  /** A fixed-size instance over storage allocated elsewhere (e.g. shared with a worker). */
  static over(storage: Uint32Array): GrowableU32 {
    const instance = new GrowableU32(0, true);
    instance.array = storage;
    return instance;
  }

  /** Makes room for at least one more value; false when the array is full for good (fixed, or at the file's bound). */
  grow(): boolean {
    if (this.fixed || this.atBound) return false;
    let next: Uint32Array | undefined;
    if (this.bound !== undefined && this.bound > this.array.length) {
      try {
        // Only the pages written to become resident.
        next = new Uint32Array(this.bound);
        this.atBound = true;
      } catch {
        // Address space refused: double instead.
      }
    }
    next ??= new Uint32Array(this.array.length * 2);
    next.set(this.array.subarray(0, this.length));
    this.array = next;
    return true;
  }

  /** The filled part, without copying when the array is exactly full or sized by the bound. */
  toArray(): Uint32Array {
    if (this.length === this.array.length) return this.array;
    return this.atBound ? this.array.subarray(0, this.length) : this.array.slice(0, this.length);
  }
}
