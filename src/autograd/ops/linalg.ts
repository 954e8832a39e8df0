// The two matrix ops of network deconvolution, each one kernel forward (a GEMM and a scale-plus-identity pass):
//   covariance      C = XᵀX/n + eps·I            ∂X = X·(G + Gᵀ)/n
//   Newton–Schulz   T = (3I − Z·Y)/2             ∂Z = −½·G·Yᵀ,  ∂Y = −½·Zᵀ·G
// Their backward passes are composed from matmul.
import { activeBackend } from '../../backend/registry.js';
import { fmtShape } from '../../backend/shape_info.js';
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
  return record(c, 'covariance', [xc], (g) => [xc.matmul(g.add(g.transpose(-2, -1))).div(n)]);
}

/** (3I − Z·Y)/2 for square Z and Y of one shape, (d, d) or (b, d, d): the factor of a coupled Newton–Schulz step. */
export function newtonSchulzFactor(z: Tensor, y: Tensor): Tensor {
  const [batch, d, d2] = batched('newtonSchulzFactor', z);
  if (d !== d2 || z.ndim !== y.ndim || z.shape.some((s, i) => s !== y.shape[i])) {
    throw new Error(`newtonSchulzFactor: expected square matrices of one shape, got ${fmtShape(z.shape)} and ${fmtShape(y.shape)}`);
  }
  const be = activeBackend();
  const t = fromStorage(be.newtonSchulzFactor(z.storageOn(be), y.storageOn(be), batch, d, z.dtype), z.shape, z.dtype);
  return record(t, 'newtonSchulzFactor', [z, y], (g) => [
    z.requiresGrad ? g.matmul(y.transpose(-2, -1)).mul(-0.5) : null,
    y.requiresGrad ? z.transpose(-2, -1).matmul(g).mul(-0.5) : null,
  ]);
}
