// The deconvolution's matrix kernels, reference versions: one GEMM per matrix (./matmul.ts), then c ← αc + βI —
// the same two steps as the wasm kernels.
import type { DType, FloatArray } from '../dtype.js';
import { matmul } from './matmul.js';

/** For each of `batch` (d, d) matrices: c ← alpha·c + beta·I, in place. */
function scaleAddIdentity(c: FloatArray, batch: number, d: number, alpha: number, beta: number): FloatArray {
  for (let i = 0; i < c.length; i++) c[i] *= alpha;
  for (let b = 0; b < batch; b++) for (let i = 0; i < d; i++) c[(b * d + i) * d + i] += beta;
  return c;
}

/** XᵀX/n + eps·I for each of `batch` matrices X (n, d). */
export function covariance(x: FloatArray, batch: number, n: number, d: number, eps: number, dtype: DType): FloatArray {
  return scaleAddIdentity(matmul(x, x, batch, d, n, d, true, false, dtype), batch, d, 1 / n, eps);
}

/** (3I − Z·Y)/2 for each of `batch` pairs of (d, d) matrices. */
export function newtonSchulzFactor(z: FloatArray, y: FloatArray, batch: number, d: number, dtype: DType): FloatArray {
  return scaleAddIdentity(matmul(z, y, batch, d, d, d, false, false, dtype), batch, d, -0.5, 1.5);
}
