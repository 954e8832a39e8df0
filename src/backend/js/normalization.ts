// Batch-normalisation reference kernels on x laid out (N, C, L). Sums accumulate in float64. The fused BatchNorm →
// ReLU is written as the kernels composed: the wasm backend's one-pass version must give exactly these results.
import type { BatchNormGrads, NclDims } from '../backend.js';
import { allocArray, type DType, type FloatArray } from '../dtype.js';
import { reluBackward, unary } from './elementwise.js';

/** Calls `visit(offset)` for the start of each of channel c's N runs of L values. */
function forEachRunOf(d: NclDims, c: number, visit: (offset: number) => void): void {
  for (let n = 0; n < d.n; n++) visit((n * d.c + c) * d.l);
}

export function channelMoments(x: FloatArray, d: NclDims, dtype: DType): { mean: FloatArray; variance: FloatArray } {
  const mean = allocArray(d.c, dtype);
  const variance = allocArray(d.c, dtype);
  const M = d.n * d.l;
  for (let c = 0; c < d.c; c++) {
    let s = 0;
    forEachRunOf(d, c, (o) => {
      for (let j = 0; j < d.l; j++) s += x[o + j];
    });
    const m = s / M;
    let q = 0;
    forEachRunOf(d, c, (o) => {
      for (let j = 0; j < d.l; j++) q += (x[o + j] - m) ** 2;
    });
    mean[c] = m;
    variance[c] = q / M;
  }
  return { mean, variance };
}

export function batchNormApply(
  x: FloatArray,
  mean: FloatArray,
  invstd: FloatArray,
  scale: FloatArray | null,
  shift: FloatArray | null,
  d: NclDims,
  dtype: DType,
): FloatArray {
  const y = allocArray(x.length, dtype);
  for (let c = 0; c < d.c; c++) {
    const k = invstd[c] * (scale ? scale[c] : 1);
    const b = shift ? shift[c] : 0;
    forEachRunOf(d, c, (o) => {
      for (let j = 0; j < d.l; j++) y[o + j] = (x[o + j] - mean[c]) * k + b;
    });
  }
  return y;
}

export function batchNormBackward(
  dy: FloatArray,
  x: FloatArray,
  mean: FloatArray,
  invstd: FloatArray,
  scale: FloatArray | null,
  d: NclDims,
  dtype: DType,
): BatchNormGrads<FloatArray> {
  const dx = allocArray(x.length, dtype);
  const sumDy = allocArray(d.c, dtype);
  const sumDyXhat = allocArray(d.c, dtype);
  const M = d.n * d.l;
  for (let c = 0; c < d.c; c++) {
    const s = invstd[c];
    let g = 0;
    let gx = 0;
    forEachRunOf(d, c, (o) => {
      for (let j = 0; j < d.l; j++) {
        g += dy[o + j];
        gx += dy[o + j] * (x[o + j] - mean[c]) * s;
      }
    });
    sumDy[c] = g;
    sumDyXhat[c] = gx;
    const k = (scale ? scale[c] : 1) * s;
    forEachRunOf(d, c, (o) => {
      for (let j = 0; j < d.l; j++) dx[o + j] = k * (dy[o + j] - g / M - (x[o + j] - mean[c]) * s * (gx / M));
    });
  }
  return { dx, sumDy, sumDyXhat };
}

export function fusedBatchNormReluApply(
  x: FloatArray,
  mean: FloatArray,
  invstd: FloatArray,
  scale: FloatArray | null,
  shift: FloatArray | null,
  d: NclDims,
  dtype: DType,
): FloatArray {
  return unary('relu', batchNormApply(x, mean, invstd, scale, shift, d, dtype), x.length, dtype);
}

/** The ReLU's backward reads the fused op's output y: y ≤ 0 exactly where the normalised value was. */
export function fusedBatchNormReluBackward(
  dy: FloatArray,
  x: FloatArray,
  mean: FloatArray,
  invstd: FloatArray,
  scale: FloatArray | null,
  y: FloatArray,
  d: NclDims,
  dtype: DType,
): BatchNormGrads<FloatArray> {
  return batchNormBackward(reluBackward(dy, y, x.length, dtype), x, mean, invstd, scale, d, dtype);
}
