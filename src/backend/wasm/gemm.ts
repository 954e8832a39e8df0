// GEMM on the wasm kernel, single- or multi-threaded: a large product is split into column blocks of C, one per
// thread, each computed exactly as the single-threaded call computes those columns (so results are bit-identical
// for any thread count). Also the batched matmul kernel of the contract.
import type { DType } from '../dtype.js';
import { expectSize, type Heap, type WasmStorage } from './heap.js';
import type { KernelExports } from './loader.js';
import type { Threads } from './parallel.js';

const NR = 8; // the kernel's register-tile width: column blocks are multiples of it
/** Below this many multiply-adds a product runs on one thread (waking workers costs more). */
const MIN_THREADED_WORK = 1 << 22;

export class Gemm {
  constructor(private readonly k: KernelExports, private readonly threads: Threads) {}

  private sliceWidth(n: number): number {
    return Math.ceil(Math.ceil(n / this.threads.count) / NR) * NR;
  }

  /** Floats of scratch run() needs for a product with n columns (one packing area per thread). */
  scratchFloats(n: number): number {
    const t = this.threads.count;
    const per = Math.ceil(this.k.gemm_scratch_floats(t > 1 ? this.sliceWidth(n) : n) / 4) * 4;
    return per * t;
  }

  /** C (ldc) (+)= op(A)·op(B) (B's rows ldb apart): see assembly/kernels/gemm.ts. Pointers are byte offsets. */
  run(scratch: number, c: number, ldc: number, a: number, b: number, ldb: number, m: number, n: number, kk: number, transA: boolean, transB: boolean, accumulate: boolean): void {
    const tA = +transA;
    const tB = +transB;
    const acc = +accumulate;
    if (this.threads.count === 1 || m * n * kk < MIN_THREADED_WORK || n < 2 * NR) {
      this.k.gemm_f32(c, ldc, a, b, ldb, m, n, kk, tA, tB, acc, scratch);
      return;
    }
    const w = this.sliceWidth(n);
    const per = 4 * (this.scratchFloats(n) / this.threads.count);
    const shares: number[][][] = [];
    for (let t = 0; t < this.threads.count && t * w < n; t++) {
      const j0 = t * w;
      const bSlice = transB ? b + 4 * j0 * ldb : b + 4 * j0;
      shares.push([[c + 4 * j0, ldc, a, bSlice, ldb, m, Math.min(w, n - j0), kk, tA, tB, acc, scratch + t * per]]);
    }
    this.threads.run('gemm_f32', shares);
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
