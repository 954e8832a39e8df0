// Softmax family, composed from primitives (teenygrad style), so the gradient comes from the parts.
// The max is subtracted first so exp never overflows; it is a constant for the gradient (it cancels).
import { normAxis } from '../../backend/shape_info.js';
import type { Tensor } from '../tensor.js';

export function logSoftmax(x: Tensor, dim: number): Tensor {
  const d = normAxis('logSoftmax', dim, x.ndim);
  const shifted = x.sub(x.detach().max(d, { keepdim: true }));
  return shifted.sub(shifted.exp().sum(d, { keepdim: true }).log());
}

export function softmax(x: Tensor, dim: number): Tensor {
  const d = normAxis('softmax', dim, x.ndim);
  const e = x.sub(x.detach().max(d, { keepdim: true })).exp();
  return e.div(e.sum(d, { keepdim: true }));
}
