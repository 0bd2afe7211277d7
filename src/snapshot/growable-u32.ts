/**
 * A Uint32Array that is filled front to back. When the snapshot's meta gives
 * the final length, it is allocated once at that size (shared); otherwise it doubles.
 */
export class GrowableU32 {
  array: Uint32Array;
  length = 0;

  constructor(initialCapacity: number, readonly fixed: boolean) {
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

  /** Makes room for at least one more value; false when a fixed array is full. */
  grow(): boolean {
    if (this.fixed) return false;
    const next = new Uint32Array(this.array.length * 2);
    next.set(this.array);
    this.array = next;
    return true;
  }

  /** The filled part, without copying when the array is exactly full. */
  toArray(): Uint32Array {
    return this.length === this.array.length ? this.array : this.array.slice(0, this.length);
  }
}
