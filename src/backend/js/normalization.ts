// Batch-normalisation reference kernels on x laid out (N, C, L). Sums accumulate in float64.
import type { NclDims } from '../backend.js';
import { allocArray, type DType, type FloatArray } from '../dtype.js';
import { relu as reluOf, reluGrad } from './elementwise.js';

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
  relu: boolean,
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
  if (relu) y.forEach((v, i) => (y[i] = reluOf(v)));
  return y;
}

export function batchNormBackward(
  dy: FloatArray,
  x: FloatArray,
  mean: FloatArray,
  invstd: FloatArray,
  scale: FloatArray | null,
  reluOutput: FloatArray | null,
  d: NclDims,
  dtype: DType,
): { dx: FloatArray; sumDy: FloatArray; sumDyXhat: FloatArray } {
  const dx = allocArray(x.length, dtype);
  const sumDy = allocArray(d.c, dtype);
  const sumDyXhat = allocArray(d.c, dtype);
  const M = d.n * d.l;
  // The fused ReLU's backward first: dy where its output is positive.
  const grad = reluOutput ? (i: number) => reluGrad(dy[i], reluOutput[i]) : (i: number) => dy[i];
  for (let c = 0; c < d.c; c++) {
    const s = invstd[c];
    let g = 0;
    let gx = 0;
    forEachRunOf(d, c, (o) => {
      for (let j = 0; j < d.l; j++) {
        g += grad(o + j);
        gx += grad(o + j) * (x[o + j] - mean[c]) * s;
      }
    });
    sumDy[c] = g;
    sumDyXhat[c] = gx;
    const k = (scale ? scale[c] : 1) * s;
    forEachRunOf(d, c, (o) => {
      for (let j = 0; j < d.l; j++) dx[o + j] = k * (grad(o + j) - g / M - (x[o + j] - mean[c]) * s * (gx / M));
    });
  }
  return { dx, sumDy, sumDyXhat };
}
