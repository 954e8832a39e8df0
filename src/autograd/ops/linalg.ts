// The matrix ops of network deconvolution:
//   covariance      C = XᵀX/n + eps·I     one kernel forward; ∂X = X·((G + Gᵀ)/n), composed from matmul
//   Newton–Schulz   A^(−1/2)              one kernel forward, one backward (the chain rule through its steps)
//   whitening       (XᵀX/n + eps·I)^(−1/2)  the two above as one op: the covariance passes on only the symmetric
//                                        part of its gradient, which the symmetric backward kernel makes in half
//                                        the work
import { activeBackend } from '../../backend/registry.js';
import { fmtShape, NewtonSchulzLayout } from '../../backend/shape_info.js';
import { record } from '../engine.js';
import { fromStorage, type Tensor } from '../tensor.js';

/** (batch, rows, cols) of a 2-D or 3-D tensor. */
function batched(op: string, t: Tensor): [number, number, number] {
  if (t.ndim === 2) return [1, t.shape[0], t.shape[1]];
  if (t.ndim === 3) return [t.shape[0], t.shape[1], t.shape[2]];
  throw new Error(`${op}: expected a matrix (n, d) or a batch (b, n, d), got ${fmtShape(t.shape)}`);
}

/** The covariance of centred rows: XᵀX/n + eps·I for X (n, d), or per matrix of a batch (b, n, d). */
export function covariance(xc: Tensor, eps: number): Tensor {
  const [batch, n, d] = batched('covariance', xc);
  const be = activeBackend();
  const shape = xc.ndim === 2 ? [d, d] : [batch, d, d];
  const c = fromStorage(be.covariance(xc.storageOn(be), batch, n, d, eps, xc.dtype), shape, xc.dtype);
  // Divided before the product, as PyTorch's autograd of (XᵀX)/n does: a d×d division rather than an n×d one.
  return record(c, 'covariance', [xc], (g) => [xc.matmul(g.add(g.transpose(-2, -1)).div(n))]);
}

/**
 * A^(−1/2) by `nIter` coupled Newton–Schulz steps, for A (d, d) or a batch (b, d, d); see linalg/isqrt.ts. One
 * kernel each way: its backward pass is the chain rule through the unrolled steps, written out in the kernels (the
 * same gradient autograd would compose from matmuls, in two calls instead of ~95).
 */
export function newtonSchulz(a: Tensor, nIter: number): Tensor {
  const [batch, d, d2] = batched('newtonSchulz', a);
  if (d !== d2) throw new Error(`newtonSchulz: expected square matrices, got ${fmtShape(a.shape)}`);
  const be = activeBackend();
  const { out, iterates } = be.newtonSchulz(a.storageOn(be), batch, d, nIter, a.dtype);
  const y = fromStorage(out, a.shape, a.dtype);
  // A tensor, so that the iterates live exactly as long as the graph that needs them (scopes free them with it).
  const saved = fromStorage(iterates, [new NewtonSchulzLayout(batch, d, nIter).size], a.dtype);
  return record(y, 'newtonSchulz', [a], (g) => {
    const b = activeBackend();
    return [
      fromStorage(
        b.newtonSchulzBackward(
          g.storageOn(b),
          a.storageOn(b),
          y.storageOn(b),
          saved.storageOn(b),
          batch,
          d,
          nIter,
          a.dtype,
        ),
        a.shape,
        a.dtype,
      ),
    ];
  });
}

/**
 * The whitening matrix of centred rows, (XᵀX/n + eps·I)^(−1/2) by `nIter` Newton–Schulz steps, for X (n, d) or a
 * batch (b, n, d): covariance then newtonSchulz, with the same value and gradient. The covariance's backward
 * X·((G + Gᵀ)/n) reads only the symmetric part of the gradient that reaches it, so that part is all this op makes
 * (newtonSchulzSymmetricBackward: every product of its chain is symmetric, and only half of each is computed).
 */
export function whitening(xc: Tensor, eps: number, nIter: number): Tensor {
  const [batch, n, d] = batched('whitening', xc);
  const be = activeBackend();
  const shape = xc.ndim === 2 ? [d, d] : [batch, d, d];
  const dtype = xc.dtype;
  const cov = fromStorage(be.covariance(xc.storageOn(be), batch, n, d, eps, dtype), shape, dtype);
  const { out, iterates } = be.newtonSchulz(cov.storageOn(be), batch, d, nIter, dtype);
  const y = fromStorage(out, shape, dtype);
  const saved = fromStorage(iterates, [new NewtonSchulzLayout(batch, d, nIter).size], dtype);
  return record(y, 'whitening', [xc], (g) => {
    const b = activeBackend();
    const storages = [g, cov, y, saved].map((t) => t.storageOn(b));
    const gCov = fromStorage(
      b.newtonSchulzSymmetricBackward(storages[0], storages[1], storages[2], storages[3], batch, d, nIter, dtype),
      shape,
      dtype,
    );
    // (G + Gᵀ)/n of a symmetric G, as covariance's backward forms it.
    return [xc.matmul(gCov.mul(2).div(n))];
  });
}
