// Spilling, which bounds the wasm memory whatever the loop does: when a kernel call would take the heap past its
// budget, the oldest blocks in use (a quarter of the budget's worth) are copied to JS arrays owned by their handles
// and freed. Handles nobody holds die with their copy as ordinary garbage; live ones are copied back in the next time
// a kernel reads them. The budget doubles when spills thrash (much of what was spilled is read back in) or when
// training steps outgrow it; a heap whose free blocks are too fragmented to reuse is spilled whole and starts over.
import type { Allocator } from './allocator.js';
import type { Lifetimes } from './lifetimes.js';
import { type Block, freedError, type WasmStorage } from './storage.js';

const INITIAL_BUDGET = 128 * 2 ** 20;
const MAX_BUDGET = 2 ** 31;

export class Spiller {
  /** Blocks of storages in wasm memory, oldest first (so a spill can reach them without keeping handles alive). */
  readonly resident = new Set<Block>();
  budget = INITIAL_BUDGET;
  spills = 0;
  /** Bytes spilled and copied back in since the budget last changed (much read back: the working set is larger). */
  private spilledBytes = 0;
  private reloadedBytes = 0;
  /** The training step during which the last spill happened. */
  private lastSpillStep = 0;

  constructor(
    private readonly allocator: Allocator,
    private readonly lifetimes: Lifetimes,
    /** A float32 view of the whole memory, re-derived after growth. */
    private readonly f32: () => Float32Array,
  ) {}

  /** Sets the budget (bytes). */
  setBudget(bytes: number): void {
    if (!(bytes > 0)) throw new Error(`wasm backend: a memory budget must be positive, got ${bytes}`);
    this.budget = bytes;
    this.spilledBytes = this.reloadedBytes = 0;
  }

  /** Spills first if `bytes` more would pass the budget; starts the heap over if its top passes twice the budget. */
  ensureRoom(bytes: number): void {
    if (this.allocator.topBytes + bytes > 2 * this.budget) this.spill(Infinity);
    else if (this.allocator.used + bytes > this.budget)
      this.spill(this.allocator.used + bytes - this.budget + this.budget / 4);
  }

  /** The byte offset of `s`'s floats, copying them back in first if they were spilled. */
  makeResident(what: string, s: WasmStorage): number {
    const b = s.block;
    if (b.ptr >= 0) return b.ptr;
    if (!b.spilled) throw freedError(`wasm ${what}`, s);
    b.ptr = this.allocator.malloc(what, b.bytes);
    this.f32().set(b.spilled, b.ptr >>> 2);
    b.spilled = null;
    this.resident.add(b);
    if (s.owner === null) this.lifetimes.watch(s);
    this.reloadedBytes += b.bytes;
    return b.ptr;
  }

  /** Frees a block's memory (or its spilled copy) for good. */
  release(b: Block, because: string): void {
    if (b.ptr >= 0) this.evict(b);
    b.spilled = null;
    b.freedBecause = because;
  }

  /**
   * Copies resident blocks out to their handles, oldest first (the likeliest to be dead; the current step's are the
   * newest), until `bytes` are free; when none is left, the heap starts over empty.
   */
  private spill(bytes: number): void {
    const stepsSince = this.lifetimes.step - this.lastSpillStep;
    this.lastSpillStep = this.lifetimes.step;
    const everyStep = stepsSince === 1 || stepsSince === 2;
    if (everyStep || (this.spilledBytes >= this.budget && this.reloadedBytes > this.spilledBytes / 4)) {
      // Training steps that need more than the budget spill every step or two; a thrashing working set keeps
      // reading back what was spilled. Either way the memory is too small for the work.
      this.budget = Math.min(2 * this.budget, MAX_BUDGET);
      this.spilledBytes = this.reloadedBytes = 0;
    } else if (this.spilledBytes >= this.budget) this.spilledBytes = this.reloadedBytes = 0;
    // A loop that stopped stepping (inference after training) would otherwise hold every spilled copy in its lists.
    this.lifetimes.untrack();
    const f32 = this.f32();
    let freed = 0;
    for (const b of this.resident) {
      if (freed >= bytes) break;
      freed += b.bytes;
      b.spilled = f32.slice(b.ptr >>> 2, (b.ptr >>> 2) + b.floats);
      this.evict(b);
      // A registry keeps its records until their callbacks run, which a loop that never yields never lets happen;
      // unregistering leaves the copy reachable from the handle only.
      this.lifetimes.unwatch(b);
    }
    if (this.resident.size === 0) this.allocator.reset();
    this.spilledBytes += freed;
    this.spills++;
  }

  /** Gives a resident block's memory back; its floats are then in `spilled`, or gone. */
  private evict(b: Block): void {
    this.allocator.free(b.ptr, b.bytes);
    this.resident.delete(b);
    b.ptr = -1;
  }
}
