/**
 * How replicas exchange gradients and statistics. Every replica calls allReduce with the same sizes in the same
 * order; all get back the element-wise sum over replicas, added in rank order (so every replica gets identical bits).
 */
export interface Comm {
  readonly rank: number;
  readonly world: number;
  allReduce(values: Float32Array): Float32Array;
}

/** A single replica: the sum is the input. */
export class LocalComm implements Comm {
  readonly rank = 0;
  readonly world = 1;
  allReduce(values: Float32Array): Float32Array {
    return values;
  }
}

/** Shared buffers of a {@link SharedComm}: two slot sets (by call parity) of `capacity` floats per replica. */
export interface SharedCommBuffers {
  control: SharedArrayBuffer;
  slots: SharedArrayBuffer;
  capacity: number;
}

const ABORT = 2;

export function createSharedCommBuffers(world: number, capacity: number): SharedCommBuffers {
  return { control: new SharedArrayBuffer(16), slots: new SharedArrayBuffer(2 * world * capacity * 4), capacity };
}

/** Tells replicas blocked in allReduce to give up (a sibling failed). */
export function abortShared(buffers: SharedCommBuffers): void {
  const ctrl = new Int32Array(buffers.control);
  Atomics.store(ctrl, ABORT, 1);
  Atomics.add(ctrl, 1, 1);
  Atomics.notify(ctrl, 1);
}

/** Replicas in worker threads: each writes its slot, waits at a barrier (Atomics.wait), then sums all slots. */
export class SharedComm implements Comm {
  private readonly ctrl: Int32Array;
  private readonly slots: Float32Array;
  private calls = 0;
  constructor(
    readonly rank: number,
    readonly world: number,
    private readonly buffers: SharedCommBuffers,
  ) {
    this.ctrl = new Int32Array(buffers.control);
    this.slots = new Float32Array(buffers.slots);
  }

  private barrier(): void {
    const gen = Atomics.load(this.ctrl, 1);
    if (Atomics.add(this.ctrl, 0, 1) === this.world - 1) {
      Atomics.store(this.ctrl, 0, 0);
      Atomics.add(this.ctrl, 1, 1);
      Atomics.notify(this.ctrl, 1);
    } else {
      while (Atomics.load(this.ctrl, 1) === gen) Atomics.wait(this.ctrl, 1, gen, 1000);
    }
    if (Atomics.load(this.ctrl, ABORT)) throw new Error('another training worker failed');
  }

  allReduce(values: Float32Array): Float32Array {
    const cap = this.buffers.capacity;
    if (values.length > cap) throw new Error(`allReduce of ${values.length} floats exceeds the ${cap} reserved`);
    const set = (this.calls++ & 1) * this.world * cap;
    this.slots.set(values, set + this.rank * cap);
    this.barrier();
    const out = new Float32Array(values.length);
    for (let r = 0; r < this.world; r++) {
      const base = set + r * cap;
      for (let i = 0; i < out.length; i++) out[i] += this.slots[base + i];
    }
    return out;
  }
}
