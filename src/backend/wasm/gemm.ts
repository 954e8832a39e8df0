// GEMM on the wasm kernels, single- or multi-threaded: a large product is split into blocks of C (of rows when it is
// tall, of columns otherwise), one or two per thread, each computed exactly as the single-threaded call computes
// those elements (so results are bit-identical for any thread count). A·Bᵀ products with a small output take the
// dot-product kernel (both operands read in place, no packing), every other product the packed one. Also the
// batched matmul kernel of the contract.
import type { DType } from '../dtype.js';
import { expectSize, type Heap, type WasmStorage } from './heap.js';
import type { KernelExports } from './loader.js';
import type { Threads } from './parallel.js';
// The kernel's register tile: row and column blocks are multiples of it.
import { MR, NR } from './kernels.abi.js';

/** Rows or columns below which a thread's share is not cut in two. */
const MIN_BLOCK = 128;
/**
 * Below this many multiply-adds (~12 µs) a packed product runs on one thread (handing it out costs more). Measured on
 * two threads against one: 3136×16×16 42 vs 67 µs, 10×64×784 (Aᵀ·B) 30 vs 41, 64×10×784 27 vs 40; a Newton–Schulz
 * d = 72 forward, whose lone Z·Y products now split, 0.28 vs 0.33 ms.
 */
const MIN_THREADED_WORK = 1 << 18;
/** The same for the dot-product kernel, which gains less from a split (64×784×10 A·Bᵀ: 32 µs split, 31 whole). */
const MIN_THREADED_DOT_WORK = 1 << 20;
/**
 * A·Bᵀ products with at most this many outputs take the dot-product kernel: measured 1.1–5.7× faster than packing
 * up to 256×256 outputs (a filter gradient, 16×144 over 14,336 pixels: 2.2×), 0.94× at 512×512.
 */
const MAX_DOT_OUTPUTS = 1 << 17;
/** Floats of partials (slices × outputs) up to which a product may be split by depth: 4 MiB. */
const MAX_DEPTH_PARTIALS = 1 << 20;

export class Gemm {
  /** The kernel's depth slice: a product split by depth is cut where the kernel cuts it. */
  private readonly depthSlice: number;

  constructor(
    private readonly k: KernelExports,
    private readonly threads: Threads,
  ) {
    this.depthSlice = k.gemm_depth_slice();
  }

  /**
   * Blocks a side of `extent` rows or columns is split into: two per thread, so that a late thread's share is taken
   * by another, once blocks stay MIN_BLOCK wide; one per thread before, because every block packs the whole other
   * operand (a 144³ product took 1.7× longer in four blocks than in two).
   */
  private blocks(extent = Infinity): number {
    const t = this.threads.count;
    return t === 1 ? 1 : extent >= 2 * t * MIN_BLOCK ? 2 * t : t;
  }

  private blockWidth(n: number): number {
    return Math.ceil(Math.ceil(n / this.blocks(n)) / NR) * NR;
  }

  /**
   * Floats of scratch run() needs for the product (m×k)·(k×n) with these transposes: one packing area per block,
   * none when it takes the dot-product kernel.
   */
  scratchFloats(m: number, n: number, k: number, transA = false, transB = false): number {
    return usesDotKernel(m, n, transA, transB) ? 0 : this.packedScratchFloats(m, n, k, transA);
  }

  /** Floats of scratch packed() needs. */
  packedScratchFloats(m: number, n: number, k: number, transA = false): number {
    const byBlocks = this.perBlockScratch(n, k) * this.blocks();
    return this.byDepth(m, n, k, transA)
      ? Math.max(byBlocks, this.depthSlices(k) * this.perSliceScratch(m, n))
      : byBlocks;
  }

  /** The GEMM kernel's KC-deep slices of a k-deep product. */
  private depthSlices(k: number): number {
    return Math.ceil(k / this.depthSlice);
  }

  /** Floats a slice of a product split by depth takes: its partial, then its packing area. */
  private perSliceScratch(m: number, n: number): number {
    return partialFloats(m, n) + this.perBlockScratch(n, this.depthSlice);
  }

  /**
   * Whether a product is split along its depth: a small output (a covariance XᵀX, d×d over n ≫ d rows) in blocks
   * of columns would have every thread pack and read all of the tall operand. Each KC-deep slice (the kernel's own)
   * goes into a partial of its own, and the partials are added in order: exactly how the kernel adds its slices into
   * C, so the bits are those of one call. Needs Aᵀ as stored (a slice of it is a block of rows).
   */
  private byDepth(m: number, n: number, k: number, transA: boolean): boolean {
    const slices = this.depthSlices(k);
    return (
      transA &&
      this.threads.count > 1 &&
      slices >= this.threads.count &&
      Math.max(m, n) < MIN_BLOCK &&
      m * n * slices <= MAX_DEPTH_PARTIALS
    );
  }

  /** A block's packing area: enough for a block of rows (n wide) or of columns. */
  private perBlockScratch(n: number, k: number): number {
    return Math.ceil(this.k.gemm_scratch_floats(n, k) / 4) * 4;
  }

  /** C (ldc) (+)= op(A)·op(B) (B's rows ldb apart): see assembly/kernels/gemm.ts. Pointers are byte offsets. */
  run(
    scratch: number,
    c: number,
    ldc: number,
    a: number,
    b: number,
    ldb: number,
    m: number,
    n: number,
    kk: number,
    transA: boolean,
    transB: boolean,
    accumulate: boolean,
  ): void {
    if (usesDotKernel(m, n, transA, transB)) this.dotProducts(c, ldc, a, b, ldb, m, n, kk, +accumulate);
    else this.packed(scratch, c, ldc, a, b, ldb, m, n, kk, transA, transB, accumulate);
  }

  /** run() on the packed kernel whatever the product's shape. */
  packed(
    scratch: number,
    c: number,
    ldc: number,
    a: number,
    b: number,
    ldb: number,
    m: number,
    n: number,
    kk: number,
    transA: boolean,
    transB: boolean,
    accumulate: boolean,
  ): void {
    const tA = +transA;
    const tB = +transB;
    const acc = +accumulate;
    if (this.byDepth(m, n, kk, transA) && m * n * kk >= MIN_THREADED_WORK) {
      this.runByDepth(scratch, c, ldc, a, b, ldb, m, n, kk, transB, accumulate);
      return;
    }
    // A tall product is split into blocks of rows, so that each packs only its own rows of A (the large operand).
    const byRows = m > n && !transA;
    if (this.threads.count === 1 || m * n * kk < MIN_THREADED_WORK || (byRows ? m < 2 * MR : n < 2 * NR)) {
      this.k.gemm_f32(c, ldc, a, b, ldb, m, n, kk, tA, tB, acc, scratch);
      return;
    }
    const per = 4 * this.perBlockScratch(n, kk);
    const calls: number[][] = [];
    if (byRows) {
      const h = Math.ceil(Math.ceil(m / this.blocks(m)) / MR) * MR;
      for (let i0 = 0, t = 0; i0 < m; i0 += h, t++)
        calls.push([
          c + 4 * i0 * ldc,
          ldc,
          a + 4 * i0 * kk,
          b,
          ldb,
          Math.min(h, m - i0),
          n,
          kk,
          tA,
          tB,
          acc,
          scratch + t * per,
        ]);
    } else {
      const w = this.blockWidth(n);
      for (let j0 = 0, t = 0; j0 < n; j0 += w, t++) {
        const bSlice = transB ? b + 4 * j0 * ldb : b + 4 * j0;
        calls.push([c + 4 * j0, ldc, a, bSlice, ldb, m, Math.min(w, n - j0), kk, tA, tB, acc, scratch + t * per]);
      }
    }
    // A worker found asleep leaves the blocks to the caller: then one call, which packs each operand once.
    this.threads.calls('gemm_f32', calls, true, undefined, [c, ldc, a, b, ldb, m, n, kk, tA, tB, acc, scratch]);
  }

  /** run() by depth (byDepth): a call per slice into its partial (after it, its packing area), then C = (C +) Σ partials in order. */
  private runByDepth(
    scratch: number,
    c: number,
    ldc: number,
    a: number,
    b: number,
    ldb: number,
    m: number,
    n: number,
    kk: number,
    transB: boolean,
    accumulate: boolean,
  ): void {
    const slices = this.depthSlices(kk);
    const per = 4 * this.perSliceScratch(m, n);
    const packing = 4 * partialFloats(m, n);
    const calls = Array.from({ length: slices }, (_, s) => {
      const p0 = s * this.depthSlice;
      const bSlice = transB ? b + 4 * p0 : b + 4 * p0 * ldb;
      return [
        scratch + s * per,
        n,
        a + 4 * p0 * m,
        bSlice,
        ldb,
        m,
        n,
        Math.min(this.depthSlice, kk - p0),
        1,
        +transB,
        0,
        scratch + s * per + packing,
      ];
    });
    this.threads.calls('gemm_f32', calls, true);
    // The first slice is stored, not added to a zeroed C (0 + −0 would be +0), unless the product accumulates.
    const first = accumulate ? 0 : 1;
    if (!accumulate) this.k.copy_runs_f32(c, ldc, 1, scratch, n, 1, m, n);
    this.k.sum_runs_f32(c, ldc, 1, scratch + first * per, n, 1, m, n, slices - first, 0, per / 4);
  }

  /** C (ldc) (+)= A·Bᵀ on the dot-product kernel, A dense (m×k); split along the longer side of C when large. */
  dotProducts(
    c: number,
    ldc: number,
    a: number,
    b: number,
    ldb: number,
    m: number,
    n: number,
    kk: number,
    acc: number,
  ): void {
    const byRows = m >= n;
    // Block edges on multiples of the kernel's 4×2 tile, so that blocks tile as the whole product does.
    const ranges =
      m * n * kk < MIN_THREADED_DOT_WORK
        ? [[0, byRows ? m : n]]
        : this.threads.ranges(byRows ? m : n, byRows ? 4 : 2, 0, this.blocks());
    const calls = ranges.map(([s, e]) =>
      byRows
        ? [c + 4 * s * ldc, ldc, a + 4 * s * kk, kk, b, ldb, e - s, n, kk, acc]
        : [c + 4 * s, ldc, a, kk, b + 4 * s * ldb, ldb, m, e - s, kk, acc],
    );
    this.threads.calls('gemm_nt_f32', calls, calls.length > 1);
  }
}

/** Floats of a slice's partial m×n output, rounded up so that the packing area after it starts 16-byte aligned. */
function partialFloats(m: number, n: number): number {
  return Math.ceil((m * n) / 4) * 4;
}

/** Whether a product takes the dot-product kernel: A·Bᵀ with a small output. */
function usesDotKernel(m: number, n: number, transA: boolean, transB: boolean): boolean {
  return transB && !transA && m * n <= MAX_DOT_OUTPUTS;
}

export function makeMatmulKernel(gemm: Gemm, heap: Heap) {
  return function matmul(
    a: WasmStorage,
    b: WasmStorage,
    batch: number,
    m: number,
    kk: number,
    n: number,
    transA: boolean,
    transB: boolean,
    _dtype: DType,
  ): WasmStorage {
    expectSize('matmul', 'a', a, batch * m * kk);
    expectSize('matmul', 'b', b, batch * kk * n);
    return heap.call(
      'matmul',
      [a, b],
      [batch * m * n],
      [gemm.scratchFloats(m, n, kk, transA, transB)],
      ([pa, pb], [pc], [ps]) => {
        for (let t = 0; t < batch; t++)
          gemm.run(
            ps,
            pc + 4 * t * m * n,
            n,
            pa + 4 * t * m * kk,
            pb + 4 * t * kk * n,
            transB ? kk : n,
            m,
            n,
            kk,
            transA,
            transB,
            false,
          );
      },
    )[0];
  };
}
