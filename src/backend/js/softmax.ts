// Log-softmax reference kernels over the rows of a (rows, cols) matrix; sums accumulate in float64.
import { allocArray, type DType, type FloatArray } from '../dtype.js';

export function logSoftmax(x: FloatArray, rows: number, cols: number, dtype: DType): FloatArray {
  const y = allocArray(x.length, dtype);
  for (let r = 0; r < rows; r++) {
    const o = r * cols;
    let m = -Infinity;
    for (let j = 0; j < cols; j++) m = Math.max(m, x[o + j]);
    let s = 0;
    for (let j = 0; j < cols; j++) s += Math.exp(x[o + j] - m);
    const logSum = Math.log(s);
    for (let j = 0; j < cols; j++) y[o + j] = x[o + j] - m - logSum;
  }
  return y;
}

export function logSoftmaxBackward(g: FloatArray, y: FloatArray, rows: number, cols: number, dtype: DType): FloatArray {
  const dx = allocArray(g.length, dtype);
  for (let r = 0; r < rows; r++) {
    const o = r * cols;
    let s = 0;
    for (let j = 0; j < cols; j++) s += g[o + j];
    for (let j = 0; j < cols; j++) dx[o + j] = g[o + j] - Math.exp(y[o + j]) * s;
  }
  return dx;
}
