// Splitting kernels across the thread pool. A parallel kernel is a list of calls whose outputs are disjoint (GEMM
// column blocks, images of a convolution, planes of a pooling, ranges of an elementwise op); the threads take calls
// from the list as they come free (thread_pool.ts). Every output element is computed by one call, exactly as a single
// thread computes it, so results are bit-identical for any thread count.
import type { KernelExports } from './loader.js';
import type { PoolKernel, ThreadPool } from './thread_pool.js';

/**
 * Below this many output elements an elementwise-sized job runs on one thread: handing calls to a polling worker
 * costs about a microsecond (measured), a few thousand elements' work.
 */
export const MIN_PARALLEL_ELEMENTS = 1 << 14;

/** Parts a sum over the batch (or another leading axis) is cut into, at most: enough to share, few to add. */
const SUM_PARTS = 16;

/**
 * The partition of `units` (images, rows) for a sum whose parts are added in order: at most SUM_PARTS parts of
 * `perPart` units (the last may hold fewer). The shape alone decides it, so the sum's bits do not depend on the
 * thread count; threads then take ranges of parts.
 */
export function sumParts(units: number): { parts: number; perPart: number } {
  const perPart = Math.max(1, Math.ceil(units / SUM_PARTS));
  return { parts: Math.ceil(units / perPart), perPart };
}

export class Threads {
  pool: ThreadPool | null = null;
  /** Threads asked for (the caller's included); the pool may hold more workers than are used. */
  active = 1;

  constructor(private readonly k: KernelExports) {}

  /** Threads in use, the caller's included. */
  get count(): number {
    return Math.min(this.active, (this.pool?.size ?? 0) + 1);
  }

  /**
   * Makes `calls` of `kernel` (argument lists; their outputs must be disjoint): with the pool's workers when
   * `parallel`, otherwise on the caller alone. `together`: for calls that run one program together; `alone`: one
   * call doing all their work, for when the pool leaves them to the caller (ThreadPool.run).
   */
  calls(
    kernel: PoolKernel,
    calls: readonly (readonly number[])[],
    parallel: boolean,
    together?: { failedFlag: number },
    alone?: readonly number[],
  ): void {
    if (this.pool && parallel && this.count > 1 && calls.length > 1) {
      this.pool.run(kernel, calls, this.count - 1, together, alone);
      return;
    }
    const fn = this.k[kernel] as (...args: number[]) => void;
    for (const argv of calls) fn(...argv);
  }

  /**
   * `[start, end)` ranges covering 0 … n, `parts` of them (default: one per thread; one in all when n < `min`),
   * with every boundary a multiple of `align` so that each element takes the same SIMD-or-tail path as in one call.
   */
  ranges(n: number, align: number, min = MIN_PARALLEL_ELEMENTS, parts = this.count): [number, number][] {
    const t = n < min ? 1 : parts;
    const step = Math.ceil(n / t / align) * align;
    const out: [number, number][] = [];
    for (let start = 0; start < n || out.length === 0; start += step) out.push([start, Math.min(n, start + step)]);
    return out;
  }

  /**
   * Ranges of `units` (planes, channels, rows) of `perUnit` elements each: one per thread once the units hold
   * MIN_PARALLEL_ELEMENTS elements in all, one in all before.
   */
  unitRanges(units: number, perUnit: number): [number, number][] {
    return this.ranges(units, 1, Math.ceil(MIN_PARALLEL_ELEMENTS / Math.max(1, perUnit)));
  }
}
