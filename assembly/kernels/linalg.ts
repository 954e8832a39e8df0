// The deconvolution's small matrix passes, f32, around the GEMMs of the covariance and Newton–Schulz kernels
// (src/backend/wasm/linalg.ts): c ← αc + βI, and the Frobenius inner product.

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

/** Σ a[j]·b[j] for j < n, accumulated in f64 (a norm or a scalar gradient: one pass over d² values, not a hot loop). */
export function dot_f32(a: usize, b: usize, n: i32): f64 {
  let sum: f64 = 0;
  for (let j = 0; j < n; j++) sum += <f64>load<f32>(a + (<usize>j << 2)) * <f64>load<f32>(b + (<usize>j << 2));
  return sum;
}
