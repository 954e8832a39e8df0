// Blocks of wasm memory: malloc and free over a bump pointer and free lists of equal-sized blocks. A training loop
// allocates the same sizes every step, so freed blocks are reused exactly and the memory stops growing after the
// first steps. This file only allocates: when a block is freed is lifetimes.ts's business, and what happens when
// memory runs short is spill.ts's.

const PAGE = 65536;
/** Maximum pages of a wasm32 memory (4 GiB). */
export const MAX_PAGES = 65536;
/** Blocks are multiples of this (bytes): 16-byte alignment for v128 loads, fewer distinct sizes. */
const ALIGN = 64;
/** Blocks up to this size (bytes) are sized exactly (in ALIGN steps); larger ones in size classes. */
const SIZE_CLASS_MIN = 4096;
/** Bytes after each block's data, so a kernel's full-vector tail load never runs past the end of the memory. */
const TAIL = 16;

export const mib = (b: number): string => `${(b / 2 ** 20).toFixed(1)} MiB`;

/**
 * The bytes of a block of `floats` floats: the floats plus the tail guard, rounded up to ALIGN; above SIZE_CLASS_MIN
 * the floats are rounded up to one of eight sizes per power of two (at most 12.5 % more; powers of two exactly). The
 * free lists reuse only blocks of equal size: with exact sizes, a step whose tensors come in many sizes kept growing
 * the heap.
 */
export function blockBytes(floats: number): number {
  const data = floats * 4;
  if (data <= SIZE_CLASS_MIN) return Math.ceil((data + TAIL) / ALIGN) * ALIGN;
  const step = 2 ** (Math.floor(Math.log2(data)) - 3);
  return Math.ceil(data / step) * step + ALIGN; // ALIGN ≥ TAIL: the guard, keeping the next block aligned
}

export class Allocator {
  private readonly base: number;
  private top: number;
  /** Bytes of blocks handed out and not yet freed. */
  used = 0;
  private readonly freeLists = new Map<number, number[]>();

  constructor(
    readonly memory: WebAssembly.Memory,
    heapBase: number,
  ) {
    this.base = Math.ceil(heapBase / ALIGN) * ALIGN;
    this.top = this.base;
  }

  /** Bytes of the heap ever handed out since the last reset (the bump pointer). */
  get topBytes(): number {
    return this.top - this.base;
  }

  /** The byte offset of a new block of `bytes` (a blockBytes() size); `what` names the caller in an error. */
  malloc(what: string, bytes: number): number {
    const reuse = this.freeLists.get(bytes)?.pop();
    if (reuse !== undefined) {
      this.used += bytes;
      return reuse;
    }
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
        throw new Error(
          `wasm backend: out of memory in ${what}: it needs ${mib(bytes)} more, ${mib(this.used)} is in use, the memory holds ${mib(have)} and cannot grow to hold it`,
        );
      }
    }
    this.used += bytes;
    this.top = end;
    return ptr;
  }

  /** Gives a block back: to the bump pointer if it is the last one, else to the free list of its size. */
  free(ptr: number, bytes: number): void {
    this.used -= bytes;
    if (ptr + bytes === this.top) {
      this.top = ptr;
      return;
    }
    let list = this.freeLists.get(bytes);
    if (!list) this.freeLists.set(bytes, (list = []));
    list.push(ptr);
  }

  /** Forgets every block (the caller has freed them all): the heap starts over, unfragmented. */
  reset(): void {
    this.freeLists.clear();
    this.top = this.base;
    this.used = 0;
  }

  private growBy(pages: number, atLeast: number): void {
    try {
      this.memory.grow(pages);
    } catch (e) {
      if (pages === atLeast) throw e;
      this.memory.grow(atLeast);
    }
  }
}
