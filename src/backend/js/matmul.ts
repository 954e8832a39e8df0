// Matrix multiplication, the reference way: i-k-j loops over row-major storage.
import { allocArray, type DType, type FloatArray } from '../dtype.js';

/**
 * `out[m×n] += op(a) @ op(b)` at the given offsets. op(a) is a[m×k], or a stored as (k×m) when transA;
 * op(b) is b[k×n], or b stored as (n×k) when transB.
 */
export function gemm(
  out: FloatArray,
  outOff: number,
  a: FloatArray,
  aOff: number,
  b: FloatArray,
  bOff: number,
  m: number,
  k: number,
  n: number,
  transA: boolean,
  transB: boolean,
): void {
  if (!transB) {
    // Broadcast one element of a across a contiguous row of b.
    for (let i = 0; i < m; i++) {
      const o = outOff + i * n;
      for (let p = 0; p < k; p++) {
        const s = transA ? a[aOff + p * m + i] : a[aOff + i * k + p];
        if (s === 0) continue;
        const r = bOff + p * n;
        for (let j = 0; j < n; j++) out[o + j] += s * b[r + j];
      }
    }
  } else {
    // b's rows are op(b)'s columns: a dot product per output element.
    for (let i = 0; i < m; i++) {
      for (let j = 0; j < n; j++) {
        let s = 0;
        const r = bOff + j * k;
        if (transA) for (let p = 0; p < k; p++) s += a[aOff + p * m + i] * b[r + p];
        else for (let p = 0; p < k; p++) s += a[aOff + i * k + p] * b[r + p];
        out[outOff + i * n + j] += s;
      }
    }
  }
}

export function matmul(
  a: FloatArray,
  b: FloatArray,
  batch: number,
  m: number,
  k: number,
  n: number,
  transA: boolean,
  transB: boolean,
  dtype: DType,
): FloatArray {
  const out = allocArray(batch * m * n, dtype);
  for (let t = 0; t < batch; t++) gemm(out, t * m * n, a, t * m * k, b, t * k * n, m, k, n, transA, transB);
  return out;
}
