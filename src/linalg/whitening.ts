// The whitening matrix of network deconvolution: the inverse square root of the centred covariance of a layer's
// input, (XᵀX/n + eps·I)^(−1/2), by the Newton–Schulz iteration of isqrt.ts (autograd/ops/linalg.ts).
import { whitening as whiteningOp } from '../autograd/ops/linalg.js';
import type { Tensor } from '../autograd/tensor.js';
import { fmtShape } from '../backend/shape_info.js';

/**
 * (XᵀX/n + eps·I)^(−1/2) for centred rows X (n, d), or each matrix of a batch (b, n, d), after `nIter`
 * Newton–Schulz iterations: the same value and gradient as `isqrtNewtonSchulz(covariance)`, with the backward pass
 * in about half the work.
 */
export function whitening(xc: Tensor, eps: number, nIter: number): Tensor {
  if (!(xc.ndim === 2 || xc.ndim === 3))
    throw new Error(`whitening: expected centred rows (n, d) or a batch (b, n, d), got ${fmtShape(xc.shape)}`);
  if (!(eps >= 0)) throw new Error(`whitening: eps must be ≥ 0, got ${eps}`);
  if (!(Number.isInteger(nIter) && nIter >= 0))
    throw new Error(`whitening: nIter must be a non-negative integer, got ${nIter}`);
  return whiteningOp(xc, eps, nIter);
}
