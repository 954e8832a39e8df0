// The inverse square root of a symmetric positive definite matrix by coupled Newton–Schulz iteration, the way the
// official network-deconvolution code computes it: Y = A/‖A‖_F, Z = I, then T = (3I − ZY)/2, Y ← YT, Z ← TZ,
// and finally A^(−1/2) ≈ Z/√‖A‖_F. It uses only matrix products, so it is differentiable through the unrolled loop
// (the gradient is that of the iteration, not of the exact inverse square root) and it never divides by a
// near-zero pivot. Scaling by the Frobenius norm puts every eigenvalue in (0, 1], where the iteration converges.
import { newtonSchulzFactor } from '../autograd/ops/linalg.js';
import { eye, type Tensor } from '../autograd/tensor.js';
import { fmtShape } from '../backend/shape_info.js';

/**
 * A^(−1/2) for A (d, d) or a batch (b, d, d) (one Frobenius norm per matrix), after `nIter` iterations.
 * More iterations converge further; 5 is the official default.
 */
export function isqrtNewtonSchulz(A: Tensor, nIter: number): Tensor {
  const batched = A.ndim === 3;
  if (!(A.ndim === 2 || batched) || A.shape[A.ndim - 1] !== A.shape[A.ndim - 2]) {
    throw new Error(`isqrtNewtonSchulz: expected a square matrix (d, d) or a batch (b, d, d), got ${fmtShape(A.shape)}`);
  }
  if (!(Number.isInteger(nIter) && nIter >= 0)) throw new Error(`isqrtNewtonSchulz: nIter must be a non-negative integer, got ${nIter}`);
  const d = A.shape[A.ndim - 1];
  const norm = batched ? A.mul(A).sum([1, 2], { keepdim: true }).sqrt() : A.mul(A).sum().sqrt();
  const I = eye(d, { dtype: A.dtype });
  let Y = A.div(norm);
  let Z: Tensor = batched ? I.expand(A.shape) : I;
  for (let i = 0; i < nIter; i++) {
    const T = newtonSchulzFactor(Z, Y); // (3I − ZY)/2, one kernel
    Y = Y.matmul(T);
    Z = T.matmul(Z);
  }
  return Z.div(norm.sqrt());
}
