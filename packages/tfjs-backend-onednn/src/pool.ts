/**
 * Recycles the Float32Arrays of disposed kernel outputs.
 *
 * A fresh large Float32Array costs far more than the kernel that fills it: the runtime
 * zero-fills it, every page faults on first touch, and the garbage collector has to
 * find it again. A training step allocates the same shapes every time, so outputs of
 * native kernels come from this pool and go back to it when tfjs disposes their tensor.
 *
 * An array is only reused when nothing else can still see it: it must have been
 * handed to exactly one tensor (`adopt`), and never read out (`escape`: dataSync(),
 * data(), a move to another backend) nor sliced (the cpu Slice kernel, and the kernels
 * built on it, return subarray views; the backend escapes their inputs first). Such
 * arrays are simply left to the garbage collector.
 *
 * Arrays are tracked by identity, never through `.buffer`: reading `.buffer` of a small
 * typed array makes V8 move it off its heap, which costs more than a small kernel.
 */

/** Arrays below this size are cheap to allocate; pooling them is not worth the book-keeping. */
const MIN_POOLED_LENGTH = 4096;

interface Entry {
  array: Float32Array;
  /** The dataId of the one tensor that owns the array, or null while it is free or fresh. */
  owner: object | null;
  /** Seen outside its owner: never reuse. */
  escaped: boolean;
}

export interface BufferPoolStats {
  freeArrays: number;
  freeBytes: number;
  reused: number;
  allocated: number;
}

export class BufferPool {
  private readonly entries = new WeakMap<object, Entry>();
  private readonly free = new Map<number, Float32Array[]>();
  private freeBytes = 0;
  private reused = 0;
  private allocated = 0;

  constructor(
    /** Upper bound on the bytes kept idle in the pool. */
    private readonly maxFreeBytes = 256 * 2 ** 20,
    /** Upper bound on idle arrays of one length. */
    private readonly maxPerLength = 32,
  ) {}

  /** An array of n floats with undefined contents (a kernel must write all of it). */
  take(n: number): Float32Array {
    if (n < MIN_POOLED_LENGTH) return new Float32Array(n);
    const reused = this.free.get(n)?.pop();
    if (reused) {
      this.freeBytes -= reused.byteLength;
      this.reused++;
      return reused;
    }
    const array = new Float32Array(n);
    this.entries.set(array, { array, owner: null, escaped: false });
    this.allocated++;
    return array;
  }

  /** `values` became the storage of tensor `dataId` (backend.write / move). */
  adopt(values: unknown, dataId: object): void {
    const entry = this.entryOf(values);
    if (!entry) return;
    if (entry.owner === null) entry.owner = dataId;
    else entry.escaped = true; // the same array handed to a second tensor
  }

  /** `values` left the backend's control (read by the user, moved elsewhere). */
  escape(values: unknown): void {
    const entry = this.entryOf(values);
    if (entry) entry.escaped = true;
  }

  /** Tensor `dataId`, stored in `values`, was released by the backend. */
  release(values: unknown, dataId: object): void {
    const entry = this.entryOf(values);
    if (!entry || entry.escaped || entry.owner !== dataId) return;
    entry.owner = null;
    const n = entry.array.length;
    let list = this.free.get(n);
    if (!list) this.free.set(n, (list = []));
    if (list.length >= this.maxPerLength || this.freeBytes + entry.array.byteLength > this.maxFreeBytes) {
      entry.escaped = true; // dropped: let the garbage collector have it
      return;
    }
    list.push(entry.array);
    this.freeBytes += entry.array.byteLength;
  }

  /** Forget every idle array. */
  clear(): void {
    for (const list of this.free.values()) for (const a of list) this.escape(a);
    this.free.clear();
    this.freeBytes = 0;
  }

  stats(): BufferPoolStats {
    let freeArrays = 0;
    for (const list of this.free.values()) freeArrays += list.length;
    return { freeArrays, freeBytes: this.freeBytes, reused: this.reused, allocated: this.allocated };
  }

  private entryOf(values: unknown): Entry | undefined {
    return typeof values === 'object' && values !== null ? this.entries.get(values) : undefined;
  }
}
