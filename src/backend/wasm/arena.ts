// The wasm scratch arena. Kernels run on pointers into linear memory; the arena lays out the buffers of one kernel
// call from `base` (above the module's static data, which holds the math library's tables), reusing the same
// memory on every call, and grows it when a call needs more. Tensor storage
// itself stays in JS typed arrays, so the garbage collector frees it — even inside a synchronous training loop —
// and memory stays flat without dispose(). Views of the memory are re-derived after every growth.

const PAGE = 65536;
/** Maximum pages of a wasm32 memory (4 GiB). */
const MAX_PAGES = 65536;
/** Gap after each buffer, so a kernel's full-vector tail load never reads the next buffer's first bytes. */
const GAP = 64;

export class Arena {
  private view = new Float32Array(0);

  private readonly base: number;

  constructor(readonly memory: WebAssembly.Memory, heapBase: number) {
    this.base = Math.ceil(heapBase / 16) * 16;
  }

  /**
   * Byte offsets of consecutive buffers of the given float counts (16-byte aligned), after growing the memory
   * to hold them. Throws a clear error, with the sizes, when the memory cannot grow that far.
   */
  layout(what: string, ...floats: number[]): number[] {
    const offsets: number[] = [];
    let end = this.base;
    for (const f of floats) {
      offsets.push(end);
      end += Math.ceil((f * 4 + GAP) / 16) * 16;
    }
    const have = this.memory.buffer.byteLength;
    if (end > have) {
      const pages = Math.ceil((end - have) / PAGE);
      try {
        this.memory.grow(pages);
      } catch {
        const mib = (b: number) => `${(b / 2 ** 20).toFixed(1)} MiB`;
        throw new Error(`wasm backend: out of memory in ${what}: it needs ${mib(end)} of scratch, the memory holds ${mib(have)} and cannot grow to it (limit ${mib(MAX_PAGES * PAGE)})`);
      }
    }
    return offsets;
  }

  /** A float32 view of the whole memory (a new one after growth: growing detaches the old buffer). */
  get f32(): Float32Array {
    const buffer = this.memory.buffer;
    // A grown memory detaches old views (or, when shared, leaves them at the old length): re-derive.
    if (this.view.buffer !== buffer || this.view.byteLength !== buffer.byteLength) this.view = new Float32Array(buffer);
    return this.view;
  }

  /** Copies `src` into the memory at byte offset `at`. */
  put(at: number, src: ArrayLike<number>): void {
    this.f32.set(src, at >> 2);
  }

  /** A copy of `n` floats at byte offset `at`. */
  take(at: number, n: number): Float32Array {
    return this.f32.slice(at >> 2, (at >> 2) + n);
  }

  /** Zeroes `n` floats at byte offset `at`. */
  zero(at: number, n: number): void {
    this.f32.fill(0, at >> 2, (at >> 2) + n);
  }
}

export { MAX_PAGES };

/** Throws (instead of letting a kernel read past a buffer) when an input is not the size its shapes say. */
export function expectSize(kernel: string, name: string, a: ArrayLike<number>, size: number): void {
  if (a.length !== size) throw new Error(`wasm ${kernel}: ${name} has ${a.length} elements, the shapes need ${size}`);
}
