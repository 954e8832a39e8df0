// Matrix multiplication with PyTorch's rules: the last two dimensions are matrices, the others broadcast;
// a 1-D operand is a vector (a row on the left, a column on the right) and its dimension is removed again.
import { activeBackend } from '../../backend/registry.js';
import { broadcastShapes, fmtShape, sizeOf } from '../../backend/shape_info.js';
import { record } from '../engine.js';
import { fromStorage, type Tensor } from '../tensor.js';
import { sumTo } from './reduce.js';

/** One batched GEMM kernel call on operands already expanded to (batch…, rows, cols). No graph. */
function gemm(
  a: Tensor,
  b: Tensor,
  batchShape: readonly number[],
  m: number,
  k: number,
  n: number,
  transA: boolean,
  transB: boolean,
): Tensor {
  const be = activeBackend();
  const out = be.matmul(a.storageOn(be), b.storageOn(be), sizeOf(batchShape), m, k, n, transA, transB, a.dtype);
  return fromStorage(out, [...batchShape, m, n], a.dtype);
}

/** Matrix product of the last two dimensions, leading dimensions broadcast (`torch.matmul`). */
export function matmul(a: Tensor, b: Tensor): Tensor {
  if (a.ndim === 0 || b.ndim === 0)
    throw new Error(
      `matmul: operands must have at least 1 dimension, got ${fmtShape(a.shape)} and ${fmtShape(b.shape)}`,
    );
  if (a.dtype !== b.dtype) throw new Error(`matmul: dtypes differ (${a.dtype} vs ${b.dtype})`);
  if (a.ndim === 1) return matmul(a.unsqueeze(0), b).squeeze(-2);
  if (b.ndim === 1) return matmul(a, b.unsqueeze(-1)).squeeze(-1);
  const [m, k] = a.shape.slice(-2);
  const [k2, n] = b.shape.slice(-2);
  if (k !== k2)
    throw new Error(`matmul: inner dimensions differ: ${fmtShape(a.shape)} @ ${fmtShape(b.shape)} (${k} vs ${k2})`);
  const batch = broadcastShapes('matmul', a.shape.slice(0, -2), b.shape.slice(0, -2));
  const ax = a.detach().expand([...batch, m, k]);
  const bx = b.detach().expand([...batch, k, n]);
  const out = gemm(ax, bx, batch, m, k, n, false, false);
  return record(out, 'matmul', [a, b], (g) => [
    a.requiresGrad ? sumTo(gemm(g, bx, batch, m, n, k, false, true), a.shape) : null, // G @ bᵀ
    b.requiresGrad ? sumTo(gemm(ax, g, batch, k, m, n, true, false), b.shape) : null, // aᵀ @ G
  ]);
}

/** F.linear: x (…, in) @ wᵀ + b with w (out, in); the transposes are kernel flags, not copies. */
export function linear(x: Tensor, w: Tensor, bias?: Tensor | null): Tensor {
  if (w.ndim !== 2) throw new Error(`linear: weight must be 2-D (out, in), got ${fmtShape(w.shape)}`);
  const [outF, inF] = w.shape;
  if (x.ndim < 1 || x.shape[x.ndim - 1] !== inF) {
    throw new Error(
      `linear: input ${fmtShape(x.shape)} must end in ${inF} features to match weight ${fmtShape(w.shape)}`,
    );
  }
  if (x.dtype !== w.dtype) throw new Error(`linear: dtypes differ (input ${x.dtype}, weight ${w.dtype})`);
  const lead = x.shape.slice(0, -1);
  const rows = sizeOf(lead);
  const y = gemm(x, w, [], rows, inF, outF, false, true).reshape([...lead, outF]);
  const out = record(y, 'linear', [x, w], (g) => [
    x.requiresGrad ? gemm(g, w, [], rows, outF, inF, false, false).reshape(x.shape) : null, // G @ w
    w.requiresGrad ? gemm(g, x, [], outF, rows, inF, true, false) : null, // Gᵀ @ x
  ]);
  if (!bias) return out;
  if (bias.ndim !== 1 || bias.shape[0] !== outF)
    throw new Error(`linear: bias must have shape (${outF}), got ${fmtShape(bias.shape)}`);
  return out.add(bias);
}
