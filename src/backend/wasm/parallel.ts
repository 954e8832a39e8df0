// Splitting kernel calls across the thread pool. A parallel kernel is a list of calls whose outputs are disjoint
// (GEMM column blocks, images of a convolution, planes of a pooling, ranges of an elementwise op); each thread
// makes a contiguous slice of the list, so every output element is computed by exactly the call a single thread
// would make and results are bit-identical for any thread count.
import type { KernelExports } from './loader.js';
import type { PoolKernel, Share, ThreadPool } from './pool.js';

/** Below this many output elements an elementwise-sized job runs on one thread (waking workers costs more). */
export const MIN_PARALLEL_ELEMENTS = 1 << 16;

export class Threads {
  pool: ThreadPool | null = null;

  constructor(private readonly k: KernelExports) {}

  /** Threads in use, the caller's included. */
  get count(): number {
    return (this.pool?.size ?? 0) + 1;
  }

  /** Runs one share per thread (the first on the caller). */
  run(kernel: PoolKernel, shares: readonly Share[]): void {
    if (this.pool && shares.length > 1) {
      this.pool.run(kernel, shares);
      return;
    }
    const fn = this.k[kernel] as (...args: number[]) => void;
    for (const share of shares) for (const argv of share) fn(...argv);
  }

  /**
   * Makes `calls` of `kernel` in order: on the caller alone when `parallel` is false, otherwise split into one
   * contiguous slice per thread.
   */
  calls(kernel: PoolKernel, calls: readonly (readonly number[])[], parallel: boolean): void {
    const t = parallel ? Math.min(this.count, calls.length) : 1;
    const shares: Share[] = [];
    for (let i = 0; i < t; i++) shares.push(calls.slice(Math.floor((i * calls.length) / t), Math.floor(((i + 1) * calls.length) / t)));
    this.run(kernel, shares);
  }

  /**
   * `[start, end)` ranges covering 0 … n, one per thread (one in all when n < `min`), with every boundary a
   * multiple of `align` so that each element takes the same SIMD-or-tail path as in one call.
   */
  ranges(n: number, align: number, min = MIN_PARALLEL_ELEMENTS): [number, number][] {
    const t = n < min ? 1 : this.count;
    const step = Math.ceil(n / t / align) * align;
    const out: [number, number][] = [];
    for (let start = 0; start < n || out.length === 0; start += step) out.push([start, Math.min(n, start + step)]);
    return out;
  }
}
