// The softmax family. Log-softmax over the last axis is one op on a kernel (the row maximum is subtracted before
// exp, so exp never overflows); its backward is dx = g − softmax·Σg. Other axes are moved last and back; softmax
// is exp(logSoftmax).
import { activeBackend } from '../../backend/registry.js';
import { normAxis } from '../../backend/shape_info.js';
import { record } from '../engine.js';
import { fromStorage, type Tensor } from '../tensor.js';

/** Log-softmax along the last axis, as one op. */
function logSoftmaxLast(x: Tensor): Tensor {
  const cols = x.shape[x.ndim - 1];
  const rows = cols === 0 ? 0 : x.size / cols;
  const be = activeBackend();
  const y = fromStorage(be.logSoftmax(x.storageOn(be), rows, cols, x.dtype), x.shape, x.dtype);
  return record(y, 'logSoftmax', [x], (g) => {
    const b = activeBackend();
    return [fromStorage(b.logSoftmaxBackward(g.storageOn(b), y.storageOn(b), rows, cols, x.dtype), x.shape, x.dtype)];
  });
}

/** Log-softmax along `dim`, computed stably (the row maximum subtracted first). */
export function logSoftmax(x: Tensor, dim: number): Tensor {
  const d = normAxis('logSoftmax', dim, x.ndim);
  if (d === x.ndim - 1) return logSoftmaxLast(x);
  return logSoftmaxLast(x.transpose(d, -1)).transpose(d, -1);
}

/** Softmax along `dim`. */
export function softmax(x: Tensor, dim: number): Tensor {
  return logSoftmax(x, dim).exp();
}
