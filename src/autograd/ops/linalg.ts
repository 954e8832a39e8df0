// The two matrix ops of network deconvolution:
//   covariance      C = XᵀX/n + eps·I     one kernel forward; ∂X = X·((G + Gᵀ)/n), composed from matmul
//   Newton–Schulz   A^(−1/2)              one kernel forward, one backward (the chain rule through its steps)
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
