// The inverse square root of a symmetric positive definite matrix by coupled Newton–Schulz iteration, the way the
// official network-deconvolution code computes it: Y = A/‖A‖_F, Z = I, then T = (3I − ZY)/2, Y ← YT, Z ← TZ,
// and finally A^(−1/2) ≈ Z/√‖A‖_F. It uses only matrix products, so it is differentiable through the unrolled loop
// (the gradient is that of the iteration, not of the exact inverse square root) and it never divides by a
// near-zero pivot. Scaling by the Frobenius norm puts every eigenvalue in (0, 1], where the iteration converges.
// The loop and its backward pass each run as one kernel (autograd/ops/linalg.ts): at the deconvolution's sizes
// (d = 9…144) the ~95 small ops of the unrolled graph cost more in per-op overhead than in arithmetic.
import { newtonSchulz } from '../autograd/ops/linalg.js';
import type { Tensor } from '../autograd/tensor.js';
import { fmtShape } from '../backend/shape_info.js';

/**
 * A^(−1/2) for A (d, d) or a batch (b, d, d) (one Frobenius norm per matrix), after `nIter` iterations.
 * More iterations converge further; 5 is the official default.
 */
export function isqrtNewtonSchulz(A: Tensor, nIter: number): Tensor {
  if (!(A.ndim === 2 || A.ndim === 3) || A.shape[A.ndim - 1] !== A.shape[A.ndim - 2]) {
    throw new Error(
      `isqrtNewtonSchulz: expected a square matrix (d, d) or a batch (b, d, d), got ${fmtShape(A.shape)}`,
    );
  }
  if (!(Number.isInteger(nIter) && nIter >= 0))
    throw new Error(`isqrtNewtonSchulz: nIter must be a non-negative integer, got ${nIter}`);
  return newtonSchulz(A, nIter);
}
