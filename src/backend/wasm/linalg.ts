// The deconvolution's matrix kernels on wasm: GEMM calls (the transposes are packing flags, not copies) and small
// passes over d² values, all inside one kernel call — a Newton–Schulz inverse square root and its backward pass are
// each one call of this file, not the ~20 and ~75 small ops of the unrolled iteration. The reference versions
// (../js/linalg.ts) write out the same steps.
import type { DType } from '../dtype.js';
import { checkNewtonSchulzNorm, NewtonSchulzLayout } from '../shape_info.js';
import { BINARY_CODE } from './elementwise.js';
import type { Gemm } from './gemm.js';
import { expectSize, type Heap, type WasmStorage } from './heap.js';
import type { KernelExports } from './loader.js';
import type { Threads } from './parallel.js';
import { type Ref, StepProgram, StepRunner, SYMMETRIC_BLOCK } from './steps.js';

const F = 4; // bytes per float
/** Features up to which the covariance takes covariance_small_f32 (assembly/kernels/linalg.ts). */
const COVARIANCE_SMALL_MAX_D = 16;
/** Multiply-adds from which that kernel's row pairs are split across threads (d = 9, n = 6400: 518,400). */
const COVARIANCE_SMALL_THREADED_WORK = 1 << 18;
/** Newton–Schulz step programs kept (one per shape, direction). */
const MAX_CACHED_PROGRAMS = 64;
/**
 * Sizes from which a symmetric A's iteration makes only the upper blocks of its products (every iterate is a
 * polynomial in A, so every product is symmetric) and mirrors them: below, the blocks are too few to save work.
 */
const SYMMETRIC_MIN_D = 128;

/** Whether each of the `batch` d×d matrices in `floats` equals its transpose, bit for bit. */
function symmetric(floats: Float32Array, batch: number, d: number): boolean {
  for (let b = 0; b < batch; b++) {
    const base = b * d * d;
    for (let i = 0; i < d; i++)
      for (let j = i + 1; j < d; j++) if (!Object.is(floats[base + i * d + j], floats[base + j * d + i])) return false;
  }
  return true;
}

export function makeLinalgKernels(k: KernelExports, gemm: Gemm, heap: Heap, threads: Threads) {
  const steps = new StepRunner(k, heap, threads);
  /** C = XᵀX for X (n, d), d ≤ 16: ranges of row pairs of C, one per thread when large (each reads all of X). */
  function smallCovariance(c: number, x: number, n: number, d: number): void {
    const pairs = threads.ranges(
      Math.ceil(d / 2),
      1,
      0,
      n * d * d >= COVARIANCE_SMALL_THREADED_WORK ? threads.count : 1,
    );
    threads.calls(
      'covariance_small_f32',
      pairs.map(([p0, p1]) => [c, x, n, d, 2 * p0, Math.min(d, 2 * p1)]),
      pairs.length > 1,
    );
  }

  /**
   * C = XᵀX for X (n, d) by its upper blocks — for each block of SYMMETRIC_BLOCK columns, the rows down to the
   * block's bottom edge: one GEMM call each, the largest first — then mirrored: 0.56 of the full product at d = 576.
   * `scratch`: a packing area of `perBlock` floats per block.
   */
  function upperCovariance(c: number, x: number, n: number, d: number, scratch: number, perBlock: number): void {
    const blocks = Math.ceil(d / SYMMETRIC_BLOCK);
    const order = Array.from({ length: blocks }, (_, i) => blocks - 1 - i);
    const edges = (j: number) => [j * SYMMETRIC_BLOCK, Math.min(d, (j + 1) * SYMMETRIC_BLOCK)];
    const gemms = order.map((j, i) => {
      const [j0, j1] = edges(j);
      return [c + F * j0, d, x, d, x + F * j0, d, j1, j1 - j0, n, 1, 0, 0, scratch + F * i * perBlock];
    });
    threads.calls('gemm_strided_f32', gemms, true);
    threads.calls(
      'mirror_upper_f32',
      order.map((j) => [c, d, ...edges(j)]),
      true,
    );
  }

  /** C = XᵀX/n + eps·I for each of `batch` matrices X (n, d). */
  function covariance(x: WasmStorage, batch: number, n: number, d: number, eps: number, _dtype: DType): WasmStorage {
    expectSize('covariance', 'x', x, batch * n * d);
    // Up to 16 features the products go row by row through a kernel of their own: a 4×8 GEMM tile would be mostly
    // empty (d = 9 ran at 8 GFLOP/s). From SYMMETRIC_MIN_D, by upper blocks.
    const small = d <= COVARIANCE_SMALL_MAX_D;
    const upper = d >= SYMMETRIC_MIN_D;
    const perBlock = upper ? 4 * Math.ceil(k.gemm_scratch_floats(SYMMETRIC_BLOCK, n) / 4) : 0;
    const scratch = small ? 0 : upper ? Math.ceil(d / SYMMETRIC_BLOCK) * perBlock : gemm.scratchFloats(d, d, n, true);
    return heap.call('covariance', [x], [batch * d * d], [scratch], ([px], [pc], [ps]) => {
      for (let b = 0; b < batch; b++) {
        const [pcb, pxb] = [pc + F * b * d * d, px + F * b * n * d];
        if (small) smallCovariance(pcb, pxb, n, d);
        else if (upper) upperCovariance(pcb, pxb, n, d, ps, perBlock);
        else gemm.run(ps, pcb, d, pxb, pxb, d, d, d, n, true, false, false);
      }
      k.scale_add_identity_f32(pc, d, batch, 1 / n, eps);
    })[0];
  }

  /** Elementwise passes over n floats, with a scalar operand (which lives at `cell` in wasm memory) or two arrays. */
  function passes(cell: number, n: number) {
    const op = (code: number) => (out: number, x: number, scalar: number) => {
      new Float32Array(heap.memory.buffer, cell, 1)[0] = scalar;
      k.binary_f32(code, out, 0, x, 0, 1, cell, 0, 0, 1, n);
    };
    return {
      div: op(BINARY_CODE.div),
      mul: op(BINARY_CODE.mul),
      add: (out: number, x: number, y: number) => k.binary_f32(BINARY_CODE.add, out, 0, x, 0, 1, y, 0, 1, 1, n),
    };
  }

  /** Step programs by shape: a model's few Newton–Schulz shapes are built once (the cache is cleared past a bound). */
  const programs = new Map<string, unknown>();
  function cached<T>(key: string, build: () => T): T {
    if (!programs.has(key)) {
      if (programs.size >= MAX_CACHED_PROGRAMS) programs.clear();
      programs.set(key, build());
    }
    return programs.get(key) as T;
  }

  /**
   * The forward program: each matrix's chain side by side. Buffers: A, out, the iterates (Y_i, Z_i, T_i and the
   * norm), Z_N, √norm. With `upper` (a symmetric A), each product makes its upper blocks and a mirror step the rest.
   */
  function forwardProgram(batch: number, d: number, nIter: number, upper: boolean): StepProgram {
    const [A, OUT, ITER, ZN, ROOT] = [0, 1, 2, 3, 4];
    const at = new NewtonSchulzLayout(batch, d, nIter);
    const dd = d * d;
    const chains = Array.from({ length: batch }, (_, b) => {
      const p = new StepProgram(d);
      const it = (offset: number): Ref => [ITER, offset];
      const zN: Ref = [ZN, b * dd];
      if (nIter === 0) p.identity(zN);
      else p.binary(BINARY_CODE.div, it(at.y(b, 0)), [A, b * dd], { scalar: it(at.norm(b)) }).identity(it(at.z(b, 0)));
      p.endPhase();
      for (let i = 0; i < nIter; i++) {
        const [y, z, t] = [it(at.y(b, i)), it(at.z(b, i)), it(at.t(b, i))];
        const last = i === nIter - 1;
        const zNext = last ? zN : it(at.z(b, i + 1));
        // T = (3I − Z·Y)/2; Y ← Y·T (not needed after the last step) and Z ← T·Z side by side. Z₀ = I, so the
        // first step needs no product: I·Y₀ and T₀·I are exactly Y₀ and T₀.
        const made = (...cs: (Ref | null)[]) => mirrored(p, upper, cs);
        if (i === 0) p.scaleIdentity(t, y, -0.5, 1.5);
        else {
          p.product(t, z, y, { upper });
          made(t).scaleIdentity(t, t, -0.5, 1.5);
        }
        p.endPhase();
        const yNext: Ref | null = last ? null : it(at.y(b, i + 1));
        if (yNext) p.product(yNext, y, t, { upper });
        if (i === 0) p.copy(zNext, t);
        else p.product(zNext, t, z, { upper });
        made(yNext, i === 0 ? null : zNext);
      }
      return p.binary(BINARY_CODE.div, [OUT, b * dd], zN, { scalar: [ROOT, b] });
    });
    return StepProgram.zip(chains);
  }

  /**
   * Closes the phase of products into `cs` (null: none made); with `upper`, a phase of mirror steps completes
   * them (an empty phase is no phase). Returns the program, with a new phase open.
   */
  function mirrored(p: StepProgram, upper: boolean, cs: readonly (Ref | null)[]): StepProgram {
    p.endPhase();
    if (upper) {
      for (const c of cs) if (c) p.mirror(c);
      p.endPhase();
    }
    return p;
  }

  /**
   * A^(−1/2) by coupled Newton–Schulz steps, and the iterates for the backward pass (see Kernels.newtonSchulz): one
   * step program (./steps.ts) for the whole batch.
   */
  function newtonSchulz(
    a: WasmStorage,
    batch: number,
    d: number,
    nIter: number,
    _dtype: DType,
  ): { out: WasmStorage; iterates: WasmStorage } {
    expectSize('newtonSchulz', 'a', a, batch * d * d);
    const dd = d * d;
    const at = new NewtonSchulzLayout(batch, d, nIter);
    const upper = d >= SYMMETRIC_MIN_D && symmetric(heap.viewOf(a), batch, d);
    const program = cached(`forward ${batch} ${d} ${nIter} ${upper}`, () => forwardProgram(batch, d, nIter, upper));
    // Scratch: each matrix's Z_N and √norm, the program.
    const scratch = [batch * dd, batch, steps.scratchFloats(program, 5)];
    const [out, iterates] = heap.call(
      'newtonSchulz',
      [a],
      [batch * dd, at.size],
      scratch,
      ([pa], [po, pit], [pzN, proot, ps]) => {
        const floats = new Float32Array(heap.memory.buffer);
        for (let b = 0; b < batch; b++) {
          const pA = pa + F * b * dd;
          const norm = Math.fround(Math.sqrt(k.dot_f32(pA, pA, dd)));
          checkNewtonSchulzNorm(norm, b);
          floats[(pit >>> 2) + at.norm(b)] = norm;
          floats[(proot >>> 2) + b] = Math.sqrt(norm);
        }
        steps.run(program, ps, [pa, po, pit, pzN, proot]);
      },
    );
    return { out, iterates };
  }

  /**
   * The backward program: the reference's steps (../js/linalg.ts), the independent products of a step side by side,
   * each matrix's chain side by side. Two terms that meet in one output are added by a pass when their products are
   * made side by side (a product accumulating into C would round per 256-deep slice of a large d). Buffers: G, the
   * iterates, the work matrices (per matrix: G_Y, G_Z, G_T, next G_Y and G_Z, G_T's second term), √norm. Returns
   * the program and where each matrix's G_Y ends up.
   */
  function backwardProgram(batch: number, d: number, nIter: number): { program: StepProgram; gY: number[] } {
    const [G, ITER, WORK, ROOT] = [0, 1, 2, 3];
    const at = new NewtonSchulzLayout(batch, d, nIter);
    const dd = d * d;
    const { div, mul, add } = BINARY_CODE;
    const half = { scalar: -0.5 };
    const gYs: number[] = [];
    const chains = Array.from({ length: batch }, (_, b) => {
      const p = new StepProgram(d);
      const it = (offset: number): Ref => [ITER, offset];
      let [gY, gZ, gT, gYi, gZi, term] = Array.from({ length: 6 }, (_, j): Ref => [WORK, (6 * b + j) * dd]);
      p.binary(div, gZ, [G, b * dd], { scalar: [ROOT, b] }).endPhase();
      let hasGY = false; // G_Y_N = 0: Y_N is not used
      for (let i = nIter - 1; i >= 0; i--) {
        const [y, z, t] = [it(at.y(b, i)), it(at.z(b, i)), it(at.t(b, i))];
        // G_T = −(G_Z·Zᵀ + Yᵀ·G_Y)/2, G_Y ← Zᵀ·G_T + G_Y·Tᵀ and, but for the first step, G_Z ← Tᵀ·G_Z + G_T·Yᵀ
        // (G_Y is 0 at the last step). Z₀ = I, as in the forward pass: G_Z·Z₀ᵀ and Z₀ᵀ·G_T are G_Z and G_T.
        // Products that do not need G_T are made before it, those that do after it.
        if (i === 0) {
          p.copy(gT, gZ);
          if (hasGY)
            p.product(term, y, gY, { transA: true })
              .product(gYi, gY, t, { transB: true })
              .endPhase()
              .binary(add, gT, gT, term);
          p.endPhase().binary(mul, gT, gT, half).endPhase();
          if (hasGY) p.binary(add, gYi, gYi, gT);
          else p.copy(gYi, gT);
        } else if (!hasGY) {
          p.product(gT, gZ, z, { transB: true }).product(gZi, t, gZ, { transA: true }).endPhase();
          p.binary(mul, gT, gT, half).endPhase();
          p.product(gYi, z, gT, { transA: true }).product(gZi, gT, y, { transB: true, accumulate: true });
        } else {
          p.product(gT, gZ, z, { transB: true }).product(term, y, gY, { transA: true }).endPhase();
          p.binary(add, gT, gT, term).endPhase().binary(mul, gT, gT, half).endPhase();
          p.product(gYi, z, gT, { transA: true }).product(gZi, t, gZ, { transA: true }).endPhase();
          p.product(gYi, gY, t, { transB: true, accumulate: true }).product(gZi, gT, y, {
            transB: true,
            accumulate: true,
          });
        }
        p.endPhase();
        if (i > 0) [gZ, gZi] = [gZi, gZ];
        [gY, gYi] = [gYi, gY];
        hasGY = true;
      }
      gYs.push(gY[1]); // with no iterations, a matrix the program does not write: G_Y = 0 (zeroed below)
      return p;
    });
    return { program: StepProgram.zip(chains), gY: gYs };
  }

  /**
   * The backward pass for a symmetric A, by the forward-mode derivative: at a symmetric A the iteration's derivative
   * is self-adjoint, so the gradient's symmetric part is its derivative in the direction S = (G + Gᵀ)/2, and every
   * product of that chain is symmetric (half of it made, with `upper`). Buffers: G, the iterates, the work matrices
   * (per matrix: dY, dZ, dP, next dY and dZ, one spare), √norm. Per step, with dP the derivative of Z·Y:
   * dT = −(dZ·Y + Z·dY)/2, dY ← dY·T + Y·dT (not after the last step), dZ ← dT·Z + T·dZ; Z₀ = I and dZ₀ = 0, so
   * the first step's dT is −dY/2 and its dZ is dT. Returns the program and where each matrix's dZ_N (the gradient
   * wrt Y₀ = A/‖A‖, over √‖A‖) ends up.
   */
  function symmetricBackwardProgram(batch: number, d: number, nIter: number): { program: StepProgram; gY: number[] } {
    const [G, ITER, WORK, ROOT] = [0, 1, 2, 3];
    const at = new NewtonSchulzLayout(batch, d, nIter);
    const dd = d * d;
    const upper = d >= SYMMETRIC_MIN_D;
    const { div, mul } = BINARY_CODE;
    const gYs: number[] = [];
    const chains = Array.from({ length: batch }, (_, b) => {
      const p = new StepProgram(d);
      const it = (offset: number): Ref => [ITER, offset];
      let [dY, dZ, dP, dYn, dZn] = Array.from({ length: 5 }, (_, j): Ref => [WORK, (6 * b + j) * dd]);
      const made = (...cs: (Ref | null)[]) => mirrored(p, upper, cs);
      p.symmetrize(dY, [G, b * dd], 0.5)
        .endPhase()
        .binary(div, dY, dY, { scalar: [ROOT, b] })
        .endPhase();
      for (let i = 0; i < nIter; i++) {
        const [y, z, t] = [it(at.y(b, i)), it(at.z(b, i)), it(at.t(b, i))];
        const last = i === nIter - 1;
        if (i > 0) {
          p.product(dP, dZ, y, { upper }).endPhase().product(dP, z, dY, { upper, accumulate: true });
          made(dP);
        }
        p.binary(mul, dP, i > 0 ? dP : dY, { scalar: -0.5 }).endPhase();
        if (!last) p.product(dYn, dY, t, { upper });
        if (i > 0) p.product(dZn, dP, z, { upper });
        p.endPhase();
        if (!last) p.product(dYn, y, dP, { upper, accumulate: true });
        if (i > 0) p.product(dZn, t, dZ, { upper, accumulate: true });
        made(last ? null : dYn, i > 0 ? dZn : null);
        if (!last) [dY, dYn] = [dYn, dY];
        // The first step's dZ is its dT, where it lies.
        if (i > 0) [dZ, dZn] = [dZn, dZ];
        else [dZ, dP] = [dP, dZ];
      }
      gYs.push(dZ[1]); // with no iterations, a matrix the program does not write: zeroed below
      return p;
    });
    return { program: StepProgram.zip(chains), gY: gYs };
  }

  /** The backward kernels: a step program, then the norm's terms. */
  function backward(kernel: 'newtonSchulzBackward' | 'newtonSchulzSymmetricBackward') {
    return (
      g: WasmStorage,
      a: WasmStorage,
      out: WasmStorage,
      iterates: WasmStorage,
      batch: number,
      d: number,
      nIter: number,
      _dtype: DType,
    ): WasmStorage => {
      const dd = d * d;
      const at = new NewtonSchulzLayout(batch, d, nIter);
      for (const [name, s] of [
        ['g', g],
        ['a', a],
        ['out', out],
      ] as const)
        expectSize(kernel, name, s, batch * dd);
      expectSize(kernel, 'iterates', iterates, at.size);
      const { program, gY } = cached(`${kernel} ${batch} ${d} ${nIter}`, () =>
        kernel === 'newtonSchulzBackward'
          ? backwardProgram(batch, d, nIter)
          : symmetricBackwardProgram(batch, d, nIter),
      );
      // Scratch: the work matrices, √norm, the program, one scalar.
      const scratch = [6 * batch * dd, batch, steps.scratchFloats(program, 4), 4];
      return heap.call(
        kernel,
        [g, a, out, iterates],
        [batch * dd],
        scratch,
        ([pg, pa, po, pit], [pga], [pwork, proot, ps, cell]) => {
          const floats = new Float32Array(heap.memory.buffer);
          const norms = Array.from({ length: batch }, (_, b) => floats[(pit >>> 2) + at.norm(b)]);
          norms.forEach((norm, b) => (floats[(proot >>> 2) + b] = Math.sqrt(norm)));
          steps.run(program, ps, [pg, pit, pwork, proot]);
          // The norm's terms: dL/d‖A‖ from the output's scale and from Y₀ = A/‖A‖ (the sixth work matrix is free).
          const pass = passes(cell, dd);
          for (let b = 0; b < batch; b++) {
            const [pab, pgab, temp, norm] = [pa + F * b * dd, pga + F * b * dd, pwork + F * (6 * b + 5) * dd, norms[b]];
            const pgY = pwork + F * gY[b];
            if (nIter === 0) k.fill_f32(pgY, dd, 0);
            let gNorm = (-0.5 * k.dot_f32(pg + F * b * dd, po + F * b * dd, dd)) / norm;
            gNorm -= k.dot_f32(pgY, pab, dd) / (norm * norm);
            pass.div(pgab, pgY, norm);
            pass.mul(temp, pab, gNorm / norm);
            pass.add(pgab, pgab, temp);
          }
        },
      )[0];
    };
  }

  return {
    covariance,
    newtonSchulz,
    newtonSchulzBackward: backward('newtonSchulzBackward'),
    newtonSchulzSymmetricBackward: backward('newtonSchulzSymmetricBackward'),
  };
}
