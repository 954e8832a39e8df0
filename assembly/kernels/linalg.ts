// The deconvolution's small matrix passes, f32, around the GEMMs of the covariance and Newton–Schulz kernels
// (src/backend/wasm/linalg.ts): c ← αc + βI, mirroring a symmetric product's upper blocks, a matrix's symmetric
// part, the Frobenius inner product, and the covariance of few features.

import { storeLanes } from './copy';
import { madd } from './gemm';

/** For each of `batch` (d, d) matrices at c: c ← alpha·c + beta·I (the covariance's 1/n and eps, Newton–Schulz's 3I − ·). */
export function scale_add_identity_f32(c: usize, d: i32, batch: i32, alpha: f32, beta: f32): void {
  const n = batch * d * d;
  const va = f32x4.splat(alpha);
  let j = 0;
  for (; j + 4 <= n; j += 4) v128.store(c + (<usize>j << 2), f32x4.mul(v128.load(c + (<usize>j << 2)), va));
  for (; j < n; j++) store<f32>(c + (<usize>j << 2), load<f32>(c + (<usize>j << 2)) * alpha);
  for (let b = 0; b < batch; b++) {
    for (let i = 0; i < d; i++) {
      const p = c + (<usize>((b * d + i) * d + i) << 2);
      store<f32>(p, load<f32>(p) + beta);
    }
  }
}

/**
 * The elements of the d×d matrix C below its diagonal in columns [j0, j1) ← their transposes above it (a symmetric
 * product made by its upper blocks; the diagonal block's two halves come from different dot products, so it is
 * mirrored too). Reads only elements above the diagonal: calls on different columns may run side by side.
 */
export function mirror_upper_f32(c: usize, d: i32, j0: i32, j1: i32): void {
  for (let r = j0 + 1; r < d; r++) {
    const end = min(j1, r);
    for (let col = j0; col < end; col++) store<f32>(c + (<usize>(r * d + col) << 2), load<f32>(c + (<usize>(col * d + r) << 2)));
  }
}

/** dst ← alpha·(src + srcᵀ) in columns [j0, j1) of d×d matrices (dst ≠ src): the symmetric part of a gradient. */
export function symmetrize_f32(dst: usize, src: usize, d: i32, alpha: f32, j0: i32, j1: i32): void {
  for (let r = 0; r < d; r++) {
    for (let col = j0; col < j1; col++) {
      const sum = load<f32>(src + (<usize>(r * d + col) << 2)) + load<f32>(src + (<usize>(col * d + r) << 2));
      store<f32>(dst + (<usize>(r * d + col) << 2), alpha * sum);
    }
  }
}

/** Σ a[j]·b[j] for j < n, accumulated in f64 (a norm or a scalar gradient: one pass over d² values, not a hot loop). */
export function dot_f32(a: usize, b: usize, n: i32): f64 {
  let sum: f64 = 0;
  for (let j = 0; j < n; j++) sum += <f64>load<f32>(a + (<usize>j << 2)) * <f64>load<f32>(b + (<usize>j << 2));
  return sum;
}

/**
 * Rows i0 … i1−1 (i0 even) of C = XᵀX for X (n, d) with d ≤ 16, whose 4×8 GEMM tiles would be mostly empty (d = 9:
 * 8 GFLOP/s): two rows of C at a time stay in registers (up to 8 vectors) while every row of X passes; each element
 * sums its n products in row order, whichever call computes it. Loads of a row's last vector may read up to 3 floats
 * past it (into the next row, or the heap's tail gap); those lanes land in columns ≥ d, which are not stored.
 */
export function covariance_small_f32(c: usize, x: usize, n: i32, d: i32, i0: i32, i1: i32): void {
  const vecs = (d + 3) >> 2;
  const rowBytes = <usize>d << 2;
  for (let i = i0; i < i1; i += 2) {
    const two = i + 1 < i1;
    let a0 = f32x4.splat(0), a1 = f32x4.splat(0), a2 = f32x4.splat(0), a3 = f32x4.splat(0);
    let b0 = f32x4.splat(0), b1 = f32x4.splat(0), b2 = f32x4.splat(0), b3 = f32x4.splat(0);
    let row = x;
    for (let r = 0; r < n; r++, row += rowBytes) {
      const xi = v128.load32_splat(row + (<usize>i << 2));
      const xk = two ? v128.load32_splat(row + (<usize>(i + 1) << 2)) : xi;
      const v0 = v128.load(row);
      a0 = madd(a0, xi, v0);
      b0 = madd(b0, xk, v0);
      if (vecs > 1) {
        const v1 = v128.load(row, 16);
        a1 = madd(a1, xi, v1);
        b1 = madd(b1, xk, v1);
      }
      if (vecs > 2) {
        const v2 = v128.load(row, 32);
        a2 = madd(a2, xi, v2);
        b2 = madd(b2, xk, v2);
      }
      if (vecs > 3) {
        const v3 = v128.load(row, 48);
        a3 = madd(a3, xi, v3);
        b3 = madd(b3, xk, v3);
      }
    }
    storeRow(c + (<usize>(i * d) << 2), d, a0, a1, a2, a3);
    if (two) storeRow(c + (<usize>((i + 1) * d) << 2), d, b0, b1, b2, b3);
  }
}

/** The first d floats of the vectors v0 … v3 at dst. */
// @ts-ignore: decorator
@inline function storeRow(dst: usize, d: i32, v0: v128, v1: v128, v2: v128, v3: v128): void {
  storeLanes(dst, v0, min(4, d));
  if (d > 4) storeLanes(dst + 16, v1, min(4, d - 4));
  if (d > 8) storeLanes(dst + 32, v2, min(4, d - 8));
  if (d > 12) storeLanes(dst + 48, v3, d - 12);
}
