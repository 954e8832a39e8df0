// Tensor storage in wasm linear memory. Every float32 tensor of the wasm backend lives in the kernels' memory, so a
// kernel reads its inputs and writes its output in place: a training step makes no round trips through JS arrays.
// The heap hands out storages and runs kernel calls on them; the work is split by job:
//   allocator.ts  malloc and free of blocks (bump pointer, free lists, size classes, memory growth)
//   lifetimes.ts  when a storage is freed (scopes, training steps, the garbage collector)
//   spill.ts      what happens when memory runs short (copies to JS arrays, the adaptive budget)
// Views of the memory are re-derived whenever it has grown.
import { Allocator, blockBytes, MAX_PAGES } from './allocator.js';
import { Lifetimes } from './lifetimes.js';
import { Spiller } from './spill.js';
import { type Block, freedError, WasmStorage } from './storage.js';

export { MAX_PAGES, WasmStorage };

/** What the heap holds, for tests and benchmarks. */
export interface HeapStats {
  /** Bytes of blocks in use (resident storages and scratch). */
  usedBytes: number;
  /** Bytes of the heap that have ever been handed out (the bump pointer). */
  topBytes: number;
  /** The size past which the next kernel call spills. */
  budgetBytes: number;
  /** Storages in wasm memory. */
  residentStorages: number;
  spills: number;
  /** Blocks freed by scopes, by the end of training steps, and by the garbage collector. */
  freedByScope: number;
  freedByStep: number;
  freedByGc: number;
}

/** The pattern setWriteChecks puts after every block of a kernel call (a NaN no kernel computes). */
const GUARD_BITS = 0x7fc0dead;

export class Heap {
  private readonly allocator: Allocator;
  readonly lifetimes: Lifetimes;
  private readonly spiller: Spiller;
  private view = new Float32Array(0);
  /** While a kernel call holds pointers, nothing may allocate or spill. */
  private pinned = false;
  /**
   * Whether each kernel call checks that it wrote nothing past its outputs and scratch (setWriteChecks): the room
   * after a block's floats is filled with a pattern before the call and must hold it after.
   */
  checkWrites = false;

  /**
   * `zero(ptr, floats)` zero-fills memory; the backend passes its (threaded) wasm fill, because filling a shared
   * memory from JS takes V8's slow path (measured 7× slower than an unshared one).
   */
  constructor(
    readonly memory: WebAssembly.Memory,
    heapBase: number,
    private readonly zero: (ptr: number, floats: number) => void = (ptr, floats) =>
      this.f32.fill(0, ptr >>> 2, (ptr >>> 2) + floats),
  ) {
    this.allocator = new Allocator(memory, heapBase);
    this.lifetimes = new Lifetimes((b, because) => this.spiller.release(b, because));
    this.spiller = new Spiller(this.allocator, this.lifetimes, () => this.f32);
  }

  /** A float32 view of the whole memory (a new one after growth: growing detaches the old buffer). */
  get f32(): Float32Array {
    const buffer = this.memory.buffer;
    // A grown memory detaches old views (or, when shared, leaves them at the old length): re-derive.
    if (this.view.buffer !== buffer || this.view.byteLength !== buffer.byteLength) this.view = new Float32Array(buffer);
    return this.view;
  }

  /** A new storage of `floats` floats; zero-filled when `zero`. `kept`: outlives scopes and steps (see lifetimes.ts). */
  create(floats: number, zero: boolean, kept = false, what = 'zeros()'): WasmStorage {
    this.checkUnpinned(what);
    this.spiller.ensureRoom(blockBytes(floats));
    const s = this.adopt(what, floats, kept);
    if (zero) this.zero(s.block.ptr, floats);
    return s;
  }

  /** A new storage holding a copy of `data`. */
  fromArray(data: ArrayLike<number>, kept = false): WasmStorage {
    const s = this.create(data.length, false, kept, 'a copy of JS data (tensor(), clone(), a batch)');
    this.f32.set(data, s.block.ptr >>> 2);
    return s;
  }

  /** A view of a storage's floats; valid until the next allocation. Writes go through. */
  viewOf(s: WasmStorage): Float32Array {
    const b = s.block;
    if (b.ptr >= 0) return this.f32.subarray(b.ptr >>> 2, (b.ptr >>> 2) + b.floats);
    if (b.spilled) return b.spilled;
    throw freedError('wasm backend', s);
  }

  /**
   * Runs one kernel call: makes the inputs resident, allocates the outputs (zero-filled where `zeroOut`) and the
   * scratch, hands their byte offsets to `body`, then frees the scratch. Nothing moves while `body` runs, so the
   * offsets stay valid. Returns the output storages.
   */
  call(
    what: string,
    inputs: readonly WasmStorage[],
    outFloats: readonly number[],
    scratchFloats: readonly number[],
    body: (inPtrs: number[], outPtrs: number[], scratchPtrs: number[]) => void,
    zeroOut = false,
  ): WasmStorage[] {
    this.checkUnpinned(what);
    let need = 0;
    for (const s of inputs) if (s.block.ptr < 0) need += s.block.bytes;
    for (const f of outFloats) need += blockBytes(f);
    for (const f of scratchFloats) need += blockBytes(f);
    this.spiller.ensureRoom(need);
    this.pinned = true;
    const scratch: number[] = [];
    try {
      const inPtrs = inputs.map((s) => this.spiller.makeResident(what, s));
      const outs = outFloats.map((f) => this.adopt(what, f, false));
      for (const f of scratchFloats) scratch.push(this.allocator.malloc(what, blockBytes(f)));
      const outPtrs = outs.map((s) => s.block.ptr);
      if (zeroOut) for (const s of outs) this.zero(s.block.ptr, s.block.floats);
      const guarded = this.checkWrites ? this.guard(outs, scratch, scratchFloats) : null;
      body(inPtrs, outPtrs, scratch);
      if (guarded) this.checkGuards(what, guarded);
      return outs;
    } finally {
      // Last first, so that blocks at the top go back to the bump pointer.
      for (let i = scratch.length - 1; i >= 0; i--) this.allocator.free(scratch[i], blockBytes(scratchFloats[i]));
      this.pinned = false;
    }
  }

  heapStats(): HeapStats {
    return {
      usedBytes: this.allocator.used,
      topBytes: this.allocator.topBytes,
      budgetBytes: this.spiller.budget,
      residentStorages: this.spiller.resident.size,
      spills: this.spiller.spills,
      ...this.lifetimes.stats,
    };
  }

  /** Sets the spill budget (bytes); the default starts at 128 MiB and adapts. */
  setBudget(bytes: number): void {
    this.spiller.setBudget(bytes);
  }

  /** Fills the room after a call's outputs and scratch areas with GUARD_BITS; returns them as [name, ptr, floats]. */
  private guard(outs: WasmStorage[], scratch: number[], scratchFloats: readonly number[]): [string, number, number][] {
    const blocks: [string, number, number][] = [
      ...outs.map((s, i): [string, number, number] => [`output ${i}`, s.block.ptr, s.block.floats]),
      ...scratch.map((ptr, i): [string, number, number] => [`scratch area ${i}`, ptr, scratchFloats[i]]),
    ];
    for (const [, ptr, floats] of blocks) this.roomAfter(ptr, floats).fill(GUARD_BITS);
    return blocks;
  }

  /** Throws, naming the kernel call `what`, if it changed the room after any of `blocks`. */
  private checkGuards(what: string, blocks: [string, number, number][]): void {
    for (const [name, ptr, floats] of blocks) {
      const at = this.roomAfter(ptr, floats).findIndex((bits) => bits !== GUARD_BITS);
      if (at >= 0)
        throw new Error(`wasm ${what}: the kernel wrote past its ${name} (${floats} floats), at float ${floats + at}`);
    }
  }

  /** The words of a block of `floats` floats at `ptr` that lie after its floats, up to the block's end. */
  private roomAfter(ptr: number, floats: number): Uint32Array {
    return new Uint32Array(this.memory.buffer, ptr + 4 * floats, (blockBytes(floats) - 4 * floats) >>> 2);
  }

  private adopt(what: string, floats: number, kept: boolean): WasmStorage {
    const bytes = blockBytes(floats);
    const block: Block = {
      ptr: this.allocator.malloc(what, bytes),
      bytes,
      floats,
      spilled: null,
      watched: false,
      madeBy: what,
      step: 0,
      freedBecause: null,
    };
    const s = new WasmStorage(block);
    this.spiller.resident.add(block);
    this.lifetimes.adopt(s, kept);
    return s;
  }

  private checkUnpinned(what: string): void {
    if (this.pinned) throw new Error(`wasm ${what}: allocation inside a kernel call (internal error)`);
  }
}

/** Throws (instead of letting a kernel read past a buffer) when a storage is not the size its shapes say. */
export function expectSize(kernel: string, name: string, s: { size?: number; length?: number }, size: number): void {
  const have = s instanceof WasmStorage ? s.size : (s as ArrayLike<number>).length;
  if (have !== size) throw new Error(`wasm ${kernel}: ${name} has ${have} elements, the shapes need ${size}`);
}
