// The deconvolution's matrix kernels on wasm: GEMM calls (the transposes are packing flags, not copies) and small
// passes over d² values, all inside one kernel call — a Newton–Schulz inverse square root and its backward pass are
// each one call of this file, not the ~20 and ~75 small ops of the unrolled iteration. The reference versions
// (../js/linalg.ts) write out the same steps.
import type { DType } from '../dtype.js';
import { checkNewtonSchulzNorm, NewtonSchulzLayout } from '../shape_info.js';
import { BINARY_CODE } from './elementwise.js';
import type { Gemm, Product } from './gemm.js';
import { expectSize, type Heap, type WasmStorage } from './heap.js';
import type { KernelExports } from './loader.js';
import type { Threads } from './parallel.js';

const F = 4; // bytes per float
/** Features up to which the covariance takes covariance_small_f32 (assembly/kernels/linalg.ts). */
const COVARIANCE_SMALL_MAX_D = 16;
/** Multiply-adds from which that kernel's row pairs are split across threads (d = 9, n = 6400: 518,400). */
const COVARIANCE_SMALL_THREADED_WORK = 1 << 18;

export function makeLinalgKernels(k: KernelExports, gemm: Gemm, heap: Heap, threads: Threads) {
  /** C = XᵀX for X (n, d), d ≤ 16: ranges of row pairs of C, one per thread when large (each reads all of X). */
  function smallCovariance(c: number, x: number, n: number, d: number): void {
    const pairs = threads.ranges(Math.ceil(d / 2), 1, 0, n * d * d >= COVARIANCE_SMALL_THREADED_WORK ? threads.count : 1);
    threads.calls('covariance_small_f32', pairs.map(([p0, p1]) => [c, x, n, d, 2 * p0, Math.min(d, 2 * p1)]), pairs.length > 1);
  }

  /** C = XᵀX/n + eps·I for each of `batch` matrices X (n, d). */
  function covariance(x: WasmStorage, batch: number, n: number, d: number, eps: number, _dtype: DType): WasmStorage {
    expectSize('covariance', 'x', x, batch * n * d);
    // Up to 16 features the products go row by row through a kernel of their own: a 4×8 GEMM tile would be mostly
    // empty (d = 9 ran at 8 GFLOP/s).
    const small = d <= COVARIANCE_SMALL_MAX_D;
    return heap.call('covariance', [x], [batch * d * d], [small ? 0 : gemm.scratchFloats(d, d, n, true)], ([px], [pc], [ps]) => {
      for (let b = 0; b < batch; b++) {
        const [pcb, pxb] = [pc + F * b * d * d, px + F * b * n * d];
        if (small) smallCovariance(pcb, pxb, n, d);
        else gemm.run(ps, pcb, d, pxb, pxb, d, d, d, n, true, false, false);
      }
      k.scale_add_identity_f32(pc, d, batch, 1 / n, eps);
    })[0];
  }

  /** n floats from src to dst (byte offsets). */
  function copyFloats(dst: number, src: number, n: number): void {
    k.copy2d_f32(dst, 0, 0, src, 0, 0, 1, 1, n);
  }

  /**
   * Square (d, d) products C (+)= op(A)·op(B): `one` alone (split across threads when large), `two` independent
   * ones side by side (Gemm.runPair). `scratch` holds two GEMM packing areas.
   */
  function squareProducts(scratch: number, d: number) {
    const area = F * gemm.scratchFloats(d, d, d);
    const product = (c: number, a: number, b: number, transA = false, transB = false, accumulate = false): Product => ({ c, a, b, transA, transB, accumulate });
    return {
      product,
      one: (p: Product) => gemm.run(scratch, p.c, d, p.a, p.b, d, d, d, d, p.transA, p.transB, p.accumulate),
      two: (p: Product, q: Product) => gemm.runPair(d, [p, q], [scratch, scratch + area]),
    };
  }

  /** Elementwise passes over n floats: with a scalar operand, which lives at `cell` in wasm memory, and a sum. */
  function passes(cell: number, n: number) {
    const op = (code: number) => (out: number, x: number, scalar: number) => {
      new Float32Array(heap.memory.buffer, cell, 1)[0] = scalar;
      k.binary_f32(code, out, 0, x, 0, 1, cell, 0, 0, 1, n);
    };
    return {
      div: op(BINARY_CODE.div),
      mul: op(BINARY_CODE.mul),
      add: (out: number, x: number, y: number) => k.binary_f32(BINARY_CODE.add, out, 0, x, 0, 1, y, 0, 1, 1, n),
      copy: (dst: number, src: number) => copyFloats(dst, src, n),
    };
  }

  /**
   * A^(−1/2) by coupled Newton–Schulz steps, and the iterates for the backward pass (see Kernels.newtonSchulz). The
   * step's two independent products, Y·T and T·Z, run side by side.
   */
  function newtonSchulz(a: WasmStorage, batch: number, d: number, nIter: number, _dtype: DType): { out: WasmStorage; iterates: WasmStorage } {
    expectSize('newtonSchulz', 'a', a, batch * d * d);
    const dd = d * d;
    const at = new NewtonSchulzLayout(batch, d, nIter);
    // Scratch: two GEMM packing areas, Z_N, one scalar.
    const [out, iterates] = heap.call('newtonSchulz', [a], [batch * dd, at.size], [2 * gemm.scratchFloats(d, d, d), dd, 4], ([pa], [po, pit], [ps, pzN, cell]) => {
      const { product, one, two } = squareProducts(ps, d);
      const pass = passes(cell, dd);
      const it = (offset: number) => pit + F * offset;
      const identity = (p: number) => {
        k.fill_f32(p, dd, 0);
        k.scale_add_identity_f32(p, d, 1, 1, 1);
      };
      for (let b = 0; b < batch; b++) {
        const pA = pa + F * b * dd;
        const norm = Math.fround(Math.sqrt(k.dot_f32(pA, pA, dd)));
        checkNewtonSchulzNorm(norm, b);
        new Float32Array(heap.memory.buffer, it(at.norm(b)), 1)[0] = norm;
        if (nIter === 0) identity(pzN);
        else {
          pass.div(it(at.y(b, 0)), pA, norm);
          identity(it(at.z(b, 0)));
        }
        for (let i = 0; i < nIter; i++) {
          const [y, z, t] = [it(at.y(b, i)), it(at.z(b, i)), it(at.t(b, i))];
          const last = i === nIter - 1;
          const zNext = last ? pzN : it(at.z(b, i + 1));
          // T = (3I − Z·Y)/2; Y ← Y·T (not needed after the last step); Z ← T·Z. Z₀ = I, so the first step
          // needs no product: I·Y₀ and T₀·I are exactly Y₀ and T₀.
          if (i === 0) pass.copy(t, y);
          else one(product(t, z, y));
          k.scale_add_identity_f32(t, d, 1, -0.5, 1.5);
          if (i === 0) {
            if (!last) one(product(it(at.y(b, 1)), y, t));
            pass.copy(zNext, t);
          } else if (last) one(product(zNext, t, z));
          else two(product(it(at.y(b, i + 1)), y, t), product(zNext, t, z));
        }
        pass.div(po + F * b * dd, pzN, Math.fround(Math.sqrt(norm)));
      }
    });
    return { out, iterates };
  }

  /**
   * The gradient wrt A of newtonSchulz's out: the reference's steps (../js/linalg.ts), each a GEMM or one pass, the
   * independent products of a step side by side. Two terms that meet in one output are added by a pass when their
   * products run side by side (a product accumulating into C would round per 256-deep slice of a large d).
   */
  function newtonSchulzBackward(g: WasmStorage, a: WasmStorage, out: WasmStorage, iterates: WasmStorage, batch: number, d: number, nIter: number, _dtype: DType): WasmStorage {
    const dd = d * d;
    const at = new NewtonSchulzLayout(batch, d, nIter);
    for (const [name, s] of [['g', g], ['a', a], ['out', out]] as const) expectSize('newtonSchulzBackward', name, s, batch * dd);
    expectSize('newtonSchulzBackward', 'iterates', iterates, at.size);
    // Scratch: two GEMM packing areas; G_Y, G_Z, G_T, the next G_Y and G_Z, G_T's second term; one scalar.
    const scratch = [2 * gemm.scratchFloats(d, d, d), dd, dd, dd, dd, dd, dd, 4];
    return heap.call('newtonSchulzBackward', [g, a, out, iterates], [batch * dd], scratch, ([pg, pa, po, pit], [pga], [ps, ...bufs]) => {
      const cell = bufs.pop()!;
      const term = bufs.pop()!;
      const { product, one, two } = squareProducts(ps, d);
      const pass = passes(cell, dd);
      const it = (offset: number) => pit + F * offset;
      for (let b = 0; b < batch; b++) {
        let [gY, gZ, gT, gYi, gZi] = bufs;
        const [pgb, pab, pgab] = [pg + F * b * dd, pa + F * b * dd, pga + F * b * dd];
        const norm = new Float32Array(heap.memory.buffer, it(at.norm(b)), 1)[0];
        pass.div(gZ, pgb, Math.fround(Math.sqrt(norm)));
        let gNorm = (-0.5 * k.dot_f32(pgb, po + F * b * dd, dd)) / norm;
        let hasGY = false; // G_Y_N = 0: Y_N is not used
        for (let i = nIter - 1; i >= 0; i--) {
          const [y, z, t] = [it(at.y(b, i)), it(at.z(b, i)), it(at.t(b, i))];
          // G_T = −(G_Z·Zᵀ + Yᵀ·G_Y)/2, G_Y ← Zᵀ·G_T + G_Y·Tᵀ and, but for the first step, G_Z ← Tᵀ·G_Z + G_T·Yᵀ
          // (G_Y is 0 at the last step). Z₀ = I, as in the forward pass: G_Z·Z₀ᵀ and Z₀ᵀ·G_T are G_Z and G_T.
          // Products that do not need G_T run side by side before it, those that do after it.
          if (i === 0) {
            pass.copy(gT, gZ);
            if (hasGY) {
              two(product(term, y, gY, true, false), product(gYi, gY, t, false, true));
              pass.add(gT, gT, term);
            }
            pass.mul(gT, gT, -0.5);
            if (hasGY) pass.add(gYi, gYi, gT);
            else pass.copy(gYi, gT);
          } else if (!hasGY) {
            two(product(gT, gZ, z, false, true), product(gZi, t, gZ, true, false));
            pass.mul(gT, gT, -0.5);
            two(product(gYi, z, gT, true, false), product(gZi, gT, y, false, true, true));
          } else {
            two(product(gT, gZ, z, false, true), product(term, y, gY, true, false));
            pass.add(gT, gT, term);
            pass.mul(gT, gT, -0.5);
            two(product(gYi, z, gT, true, false), product(gZi, t, gZ, true, false));
            two(product(gYi, gY, t, false, true, true), product(gZi, gT, y, false, true, true));
          }
          if (i > 0) [gZ, gZi] = [gZi, gZ];
          [gY, gYi] = [gYi, gY];
          hasGY = true;
        }
        if (!hasGY) k.fill_f32(gY, dd, 0);
        gNorm -= k.dot_f32(gY, pab, dd) / (norm * norm);
        pass.div(pgab, gY, norm);
        pass.mul(gT, pab, gNorm / norm);
        pass.add(pgab, pgab, gT);
      }
    })[0];
  }

  return { covariance, newtonSchulz, newtonSchulzBackward };
}
