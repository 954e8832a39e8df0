// GEMM on the wasm kernel, single- or multi-threaded: a large product is split into column blocks of C, one per
// thread, each computed exactly as the single-threaded call computes those columns (so results are bit-identical
// for any thread count). Also the batched matmul kernel of the contract.
import type { DType } from '../dtype.js';
import { expectSize, type Heap, type WasmStorage } from './heap.js';
import type { KernelExports } from './loader.js';
import type { ThreadPool } from './pool.js';

const NR = 8; // the kernel's register-tile width: column blocks are multiples of it
/** Below this many multiply-adds a product runs on one thread (waking workers costs more). */
const MIN_THREADED_WORK = 1 << 22;

export class Gemm {
  pool: ThreadPool | null = null;

  constructor(private readonly k: KernelExports) {}

  get threads(): number {
    return (this.pool?.size ?? 0) + 1;
  }

  private sliceWidth(n: number): number {
    return Math.ceil(Math.ceil(n / this.threads) / NR) * NR;
  }

  /** Floats of scratch run() needs for a product with n columns (one packing area per thread). */
  scratchFloats(n: number): number {
    const per = Math.ceil(this.k.gemm_scratch_floats(this.threads > 1 ? this.sliceWidth(n) : n) / 4) * 4;
    return per * this.threads;
  }

  /** C (ldc) (+)= op(A)·op(B) (B's rows ldb apart): see assembly/kernels/gemm.ts. Pointers are byte offsets. */
  run(scratch: number, c: number, ldc: number, a: number, b: number, ldb: number, m: number, n: number, kk: number, transA: boolean, transB: boolean, accumulate: boolean): void {
    const tA = +transA;
    const tB = +transB;
    const acc = +accumulate;
    if (!this.pool || m * n * kk < MIN_THREADED_WORK || n < 2 * NR) {
      this.k.gemm_f32(c, ldc, a, b, ldb, m, n, kk, tA, tB, acc, scratch);
      return;
    }
    const w = this.sliceWidth(n);
    const per = 4 * (this.scratchFloats(n) / this.threads);
    const slice = (t: number) => {
      const j0 = t * w;
      const cols = Math.min(w, n - j0);
      const bSlice = transB ? b + 4 * j0 * ldb : b + 4 * j0;
      return [c + 4 * j0, ldc, a, bSlice, ldb, m, cols, kk, tA, tB, acc, scratch + t * per];
    };
    const tasks: number[][] = [];
    for (let t = 1; t < this.threads && t * w < n; t++) tasks.push(slice(t));
    this.pool.run(tasks, () => this.k.gemm_f32(...(slice(0) as Parameters<KernelExports['gemm_f32']>)));
  }
}

export function makeMatmulKernel(gemm: Gemm, heap: Heap) {
  return function matmul(a: WasmStorage, b: WasmStorage, batch: number, m: number, kk: number, n: number, transA: boolean, transB: boolean, _dtype: DType): WasmStorage {
    expectSize('matmul', 'a', a, batch * m * kk);
    expectSize('matmul', 'b', b, batch * kk * n);
    return heap.call('matmul', [a, b], [batch * m * n], [gemm.scratchFloats(n)], ([pa, pb], [pc], [ps]) => {
      for (let t = 0; t < batch; t++) gemm.run(ps, pc + 4 * t * m * n, n, pa + 4 * t * m * kk, pb + 4 * t * kk * n, transB ? kk : n, m, n, kk, transA, transB, false);
    })[0];
  };
}
