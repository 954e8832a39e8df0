// Tensor storage in wasm linear memory. Every float32 tensor of the wasm backend lives in the kernels' memory, so
// a kernel reads its inputs and writes its output in place: a training step makes no round trips through JS arrays.
//
// Allocation: a bump pointer plus free lists of exact block sizes. A training loop allocates the same sizes every
// step, so freed blocks are reused exactly and the memory stops growing after the first steps.
//
// Freeing, with no dispose() for users to call. Three ways a block comes back, from the most to the least precise:
//  1. Scopes: backward() opens one; every storage allocated inside it (the intermediate gradients, which only the
//     engine ever sees) is freed when it closes, except the storages it hands out (the leaves' .grad). Those are
//     freed in turn when zeroGrad() drops them (autograd/engine.ts: clearGrad).
//  2. The garbage collector: a FinalizationRegistry watches each storage handle that no open scope owns and frees
//     its block once the handle has been collected. Its callbacks only run between tasks, so a loop that never
//     yields frees nothing this way. (A storage a scope owns is registered only if it outlives every scope: a
//     registration costs about half a microsecond, and a training step makes a few hundred storages.)
//  3. Spilling, which bounds the memory whatever the loop does: when a kernel call would take the heap past its
//     budget, the oldest blocks in use (a quarter of the budget's worth) are copied to JS arrays owned by their
//     handles and freed. Handles nobody holds die with their copy as ordinary garbage; live ones are copied back
//     in the next time a kernel reads them. The budget doubles when spills thrash (much of what was spilled is
//     read back in); a heap whose free blocks are too fragmented to reuse is spilled whole and starts over.
// The wasm memory thus stays under the budget (unless a single kernel call needs more) and JS memory holds only
// what is reachable. Views of the memory are re-derived whenever it has grown.

const PAGE = 65536;
/** Maximum pages of a wasm32 memory (4 GiB). */
export const MAX_PAGES = 65536;
/** Blocks are multiples of this (bytes): 16-byte alignment for v128 loads, fewer distinct sizes. */
const ALIGN = 64;
/** Blocks up to this size (bytes) are sized exactly (in ALIGN steps); larger ones in size classes. */
const SIZE_CLASS_MIN = 4096;
/** Bytes after each block's data, so a kernel's full-vector tail load never runs past the end of the memory. */
const TAIL = 16;
const INITIAL_BUDGET = 128 * 2 ** 20;
const MAX_BUDGET = 2 ** 31;

const mib = (b: number) => `${(b / 2 ** 20).toFixed(1)} MiB`;

/** Where a storage's floats are: at `ptr` in the heap, or (after a spill) in `spilled`; both empty once released. */
interface Block {
  ptr: number;
  /** Bytes reserved at ptr. */
  bytes: number;
  floats: number;
  spilled: Float32Array | null;
  /** Whether the FinalizationRegistry watches its handle. */
  watched: boolean;
}

/** A float32 tensor storage of the wasm backend. Its lifetime decides when its block is free. */
export class WasmStorage {
  /** @internal The open scope that will free this storage (null: none, or already freed). */
  owner: WasmStorage[] | null = null;

  /** @internal */
  constructor(readonly block: Block) {}

  /** Number of floats. */
  get size(): number {
    return this.block.floats;
  }
}

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
  /** Blocks freed by scopes and by the garbage collector. */
  freedByScope: number;
  freedByGc: number;
}

export class Heap {
  private readonly base: number;
  private top: number;
  private used = 0;
  private budget = INITIAL_BUDGET;
  private readonly freeLists = new Map<number, number[]>();
  /** Blocks of storages in wasm memory (so a spill can reach them without keeping their handles alive). */
  private readonly resident = new Set<Block>();
  private readonly scopes: WasmStorage[][] = [];
  private readonly finalizer = new FinalizationRegistry<Block>((block) => {
    block.watched = false;
    if (block.ptr >= 0) {
      this.release(block);
      this.stats.freedByGc++;
    }
  });
  /**
   * Bytes spilled and copied back in since the budget last changed: when much of what is spilled is read back, the
   * working set does not fit and the budget doubles.
   */
  private spilledBytes = 0;
  private reloadedBytes = 0;
  private view = new Float32Array(0);
  /** While a kernel call holds pointers, no spill may move its inputs. */
  private pinned = false;
  private readonly stats = { spills: 0, freedByScope: 0, freedByGc: 0 };

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
    this.base = Math.ceil(heapBase / ALIGN) * ALIGN;
    this.top = this.base;
  }

  /** A float32 view of the whole memory (a new one after growth: growing detaches the old buffer). */
  get f32(): Float32Array {
    const buffer = this.memory.buffer;
    // A grown memory detaches old views (or, when shared, leaves them at the old length): re-derive.
    if (this.view.buffer !== buffer || this.view.byteLength !== buffer.byteLength) this.view = new Float32Array(buffer);
    return this.view;
  }

  // ---- storages ----

  /** A new storage of `floats` floats; zero-filled when `zero`. `outlivesScopes`: not recorded by an open scope. */
  create(floats: number, zero: boolean, outlivesScopes = false): WasmStorage {
    this.ensureRoom('alloc', blockBytes(floats));
    const s = this.adopt(this.newBlock('alloc', floats), outlivesScopes);
    if (zero) this.zero(s.block.ptr, floats);
    return s;
  }

  /** A new storage holding a copy of `data`. */
  fromArray(data: ArrayLike<number>, outlivesScopes = false): WasmStorage {
    const s = this.create(data.length, false, outlivesScopes);
    this.f32.set(data, s.block.ptr >>> 2);
    return s;
  }

  /** A view of a storage's floats; valid until the next allocation. Writes go through. */
  viewOf(s: WasmStorage): Float32Array {
    const b = s.block;
    if (b.ptr >= 0) return this.f32.subarray(b.ptr >>> 2, (b.ptr >>> 2) + b.floats);
    if (b.spilled) return b.spilled;
    throw new Error(
      'wasm backend: this tensor storage was released (an intermediate gradient of backward(), a tensor made inside scoped() and not kept, or a gradient dropped by zeroGrad())',
    );
  }

  // ---- kernel calls ----

  /**
   * Runs one kernel call: makes the inputs resident, allocates the outputs (zero-filled where `zeroOut`) and the
   * scratch, hands their byte offsets to `body`, then frees the scratch. No spill happens while `body` runs, so the
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
    if (this.pinned) throw new Error(`wasm ${what}: a kernel call started inside another (internal error)`);
    let need = 0;
    for (const s of inputs) if (s.block.ptr < 0) need += s.block.bytes;
    for (const f of outFloats) need += blockBytes(f);
    for (const f of scratchFloats) need += blockBytes(f);
    this.ensureRoom(what, need);
    this.pinned = true;
    const scratch: number[] = [];
    try {
      const inPtrs = inputs.map((s) => this.makeResident(what, s));
      const outs = outFloats.map((f) => this.adopt(this.newBlock(what, f)));
      for (const f of scratchFloats) scratch.push(this.allocBlock(what, blockBytes(f)));
      const outPtrs = outs.map((s) => s.block.ptr);
      if (zeroOut) for (const s of outs) this.zero(s.block.ptr, s.block.floats);
      body(inPtrs, outPtrs, scratch);
      return outs;
    } finally {
      // Last first, so that blocks at the top go back to the bump pointer.
      for (let i = scratch.length - 1; i >= 0; i--) this.freeBlock(scratch[i], blockBytes(scratchFloats[i]));
      this.pinned = false;
    }
  }

  // ---- scopes ----

  /** Starts recording the storages allocated from now on (see the header). */
  openScope(): void {
    this.scopes.push([]);
  }

  /** Frees the storages allocated since the matching openScope(), except those in `keep`. */
  closeScope(keep: ReadonlySet<unknown>): void {
    const made = this.scopes.pop();
    if (!made) throw new Error('wasm backend: closeScope without openScope');
    const outer = this.scopes[this.scopes.length - 1];
    for (const s of made) {
      if (s.owner !== made) continue; // freed already (freeNow)
      if (keep.has(s)) {
        this.record(s, outer); // still owned by an enclosing scope, or now by none: then watched
        continue;
      }
      this.free(s);
    }
  }

  /** Leaves a scope without freeing anything (after an error, when what was handed out is unknown). */
  abandonScope(): void {
    const made = this.scopes.pop();
    const outer = this.scopes[this.scopes.length - 1];
    for (const s of made ?? []) if (s.owner === made) this.record(s, outer);
  }

  /**
   * Frees `s` at once if the innermost open scope recorded it (backward() frees each intermediate gradient as soon
   * as it has been consumed); returns whether it did. A storage from outside that scope is left alone.
   */
  freeNow(s: WasmStorage): boolean {
    const inner = this.scopes[this.scopes.length - 1];
    if (!inner || s.owner !== inner) return false;
    this.free(s);
    return true;
  }

  /** Frees `s` at once, whichever scope recorded it (a gradient zeroGrad() drops); a no-op if it is freed already. */
  dispose(s: WasmStorage): void {
    if (s.block.ptr < 0 && !s.block.spilled) return;
    this.free(s);
  }

  /** Hands `s` to `scope`, or, with none, to the garbage collector. */
  private record(s: WasmStorage, scope: WasmStorage[] | undefined): void {
    s.owner = scope ?? null;
    if (scope) scope.push(s);
    else this.watch(s);
  }

  private free(s: WasmStorage): void {
    s.owner = null;
    const b = s.block;
    if (b.ptr >= 0) this.release(b);
    b.spilled = null;
    this.unwatch(b);
    this.stats.freedByScope++;
  }

  heapStats(): HeapStats {
    return {
      usedBytes: this.used,
      topBytes: this.top - this.base,
      budgetBytes: this.budget,
      residentStorages: this.resident.size,
      ...this.stats,
    };
  }

  /** Sets the spill budget (bytes); the default starts at 128 MiB and adapts. */
  setBudget(bytes: number): void {
    if (!(bytes > 0)) throw new Error(`wasm backend: a memory budget must be positive, got ${bytes}`);
    this.budget = bytes;
    this.spilledBytes = this.reloadedBytes = 0;
  }

  // ---- internals ----

  /** A resident block for `floats` floats (allocated, not yet owned by a storage). */
  private newBlock(what: string, floats: number): Block {
    const bytes = blockBytes(floats);
    return { ptr: this.allocBlock(what, bytes), bytes, floats, spilled: null, watched: false };
  }

  private adopt(block: Block, outlivesScopes = false): WasmStorage {
    const s = new WasmStorage(block);
    this.resident.add(block);
    this.record(s, outlivesScopes ? undefined : this.scopes[this.scopes.length - 1]);
    return s;
  }

  private makeResident(what: string, s: WasmStorage): number {
    const b = s.block;
    if (b.ptr >= 0) return b.ptr;
    if (!b.spilled)
      throw new Error(`wasm ${what}: an input tensor's storage was released (by backward(), scoped() or zeroGrad())`);
    b.ptr = this.allocBlock(what, b.bytes);
    this.f32.set(b.spilled, b.ptr >>> 2);
    b.spilled = null;
    this.resident.add(b);
    if (s.owner === null) this.watch(s);
    this.reloadedBytes += b.bytes;
    return b.ptr;
  }

  /**
   * Asks the garbage collector to report the death of a resident storage's handle. (A spilled one is left alone: its
   * copy dies with the handle.)
   */
  private watch(s: WasmStorage): void {
    const b = s.block;
    if (b.ptr < 0 || b.watched) return;
    // The block is the unregister token: a spill can drop the registration without reaching the handle.
    this.finalizer.register(s, b, b);
    b.watched = true;
  }

  private unwatch(b: Block): void {
    if (!b.watched) return;
    this.finalizer.unregister(b);
    b.watched = false;
  }

  /** Spills first if `bytes` more would pass the budget; starts the heap over if its top passes twice the budget. */
  private ensureRoom(what: string, bytes: number): void {
    if (this.pinned) throw new Error(`wasm ${what}: allocation inside a kernel call (internal error)`);
    if (this.top - this.base + bytes > 2 * this.budget) this.spill(Infinity);
    else if (this.used + bytes > this.budget) this.spill(this.used + bytes - this.budget + this.budget / 4);
  }

  /**
   * Copies resident blocks out to their handles, oldest first (the likeliest to be dead; the current step's are
   * the newest), until `bytes` are free; when none is left, the heap starts over empty. See the header.
   */
  private spill(bytes: number): void {
    if (this.spilledBytes >= this.budget) {
      if (this.reloadedBytes > this.spilledBytes / 4) this.budget = Math.min(2 * this.budget, MAX_BUDGET);
      this.spilledBytes = this.reloadedBytes = 0;
    }
    const f32 = this.f32;
    let freed = 0;
    for (const b of this.resident) {
      if (freed >= bytes) break;
      freed += b.bytes;
      b.spilled = f32.slice(b.ptr >>> 2, (b.ptr >>> 2) + b.floats);
      this.release(b);
      // A registry keeps its records until their callbacks run, which a loop that never yields never lets happen;
      // unregistering leaves the copy reachable from the handle only.
      this.unwatch(b);
    }
    if (this.resident.size === 0) {
      this.freeLists.clear();
      this.top = this.base;
    }
    this.spilledBytes += freed;
    this.stats.spills++;
  }

  private release(b: Block): void {
    this.freeBlock(b.ptr, b.bytes);
    this.resident.delete(b);
    b.ptr = -1;
  }

  private allocBlock(what: string, bytes: number): number {
    this.used += bytes;
    const reuse = this.freeLists.get(bytes)?.pop();
    if (reuse !== undefined) return reuse;
    const ptr = this.top;
    const end = ptr + bytes;
    const have = this.memory.buffer.byteLength;
    if (end > have) {
      // Grow by an eighth of the memory at least, so that a top that creeps a few blocks past its old maximum (the
      // free lists hand out blocks in a different order each step) does not grow the memory again and again; where
      // the runtime's limit refuses that, grow by exactly what is needed.
      const need = Math.ceil((end - have) / PAGE);
      try {
        this.growBy(Math.max(need, Math.ceil(have / PAGE / 8)), need);
      } catch {
        this.used -= bytes;
        throw new Error(
          `wasm backend: out of memory in ${what}: it needs ${mib(bytes)} more, ${mib(this.used)} is in use, the memory holds ${mib(have)} and cannot grow to hold it`,
        );
      }
    }
    this.top = end;
    return ptr;
  }

  private growBy(pages: number, atLeast: number): void {
    try {
      this.memory.grow(pages);
    } catch (e) {
      if (pages === atLeast) throw e;
      this.memory.grow(atLeast);
    }
  }

  private freeBlock(ptr: number, bytes: number): void {
    this.used -= bytes;
    if (ptr + bytes === this.top) {
      this.top = ptr; // the last block: give it back to the bump pointer
      return;
    }
    let list = this.freeLists.get(bytes);
    if (!list) this.freeLists.set(bytes, (list = []));
    list.push(ptr);
  }
}

/** Bytes reserved for a block of `floats` floats. */
/**
 * The bytes of a block: the floats plus the tail guard, rounded up to ALIGN; above SIZE_CLASS_MIN the floats are
 * rounded up to one of eight sizes per power of two (at most 12.5 % more; powers of two exactly). The free lists
 * reuse only blocks of equal size: with exact sizes, a step whose tensors come in many sizes kept growing the heap.
 */
function blockBytes(floats: number): number {
  const data = floats * 4;
  if (data <= SIZE_CLASS_MIN) return Math.ceil((data + TAIL) / ALIGN) * ALIGN;
  const step = 2 ** (Math.floor(Math.log2(data)) - 3);
  return Math.ceil(data / step) * step + ALIGN; // ALIGN ≥ TAIL: the guard, keeping the next block aligned
}

/** Throws (instead of letting a kernel read past a buffer) when a storage is not the size its shapes say. */
export function expectSize(kernel: string, name: string, s: { size?: number; length?: number }, size: number): void {
  const have = s instanceof WasmStorage ? s.size : (s as ArrayLike<number>).length;
  if (have !== size) throw new Error(`wasm ${kernel}: ${name} has ${have} elements, the shapes need ${size}`);
}
