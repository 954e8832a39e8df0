// The deconvolution's matrix kernels, reference versions: covariance and the Newton–Schulz factor. Sums in float64.
import { allocArray, type DType, type FloatArray } from '../dtype.js';

export function covariance(x: FloatArray, batch: number, n: number, d: number, eps: number, dtype: DType): FloatArray {
  const c = allocArray(batch * d * d, dtype);
  for (let b = 0; b < batch; b++) {
    const X = b * n * d;
    for (let i = 0; i < d; i++) {
      for (let j = 0; j < d; j++) {
        let s = 0;
        for (let r = 0; r < n; r++) s += x[X + r * d + i] * x[X + r * d + j];
        c[(b * d + i) * d + j] = s / n + (i === j ? eps : 0);
      }
    }
  }
  return c;
}

export function newtonSchulzFactor(z: FloatArray, y: FloatArray, batch: number, d: number, dtype: DType): FloatArray {
  const t = allocArray(batch * d * d, dtype);
  for (let b = 0; b < batch; b++) {
    const o = b * d * d;
    for (let i = 0; i < d; i++) {
      for (let j = 0; j < d; j++) {
        let s = 0;
        for (let k = 0; k < d; k++) s += z[o + i * d + k] * y[o + k * d + j];
        t[o + i * d + j] = ((i === j ? 3 : 0) - s) / 2;
      }
    }
  }
  return t;
}
