// Reductions: sum and max are kernels; mean and var are composed from them.
import { activeBackend } from '../../backend/registry.js';
import { fmtShape, normAxis, sizeOf, stridesOf } from '../../backend/shape_info.js';
import { record } from '../engine.js';
import { fromStorage, type Dims, type ReduceOptions, type Tensor, type VarOptions } from '../tensor.js';
import { binaryKernel } from './elementwise.js';

/** Sorted, unique, non-negative axes; every axis when `dim` is null or undefined. */
export function normDims(op: string, shape: readonly number[], dim: Dims): number[] {
  if (dim === undefined || dim === null) return shape.map((_, i) => i);
  const list = typeof dim === 'number' ? [dim] : [...dim];
  const axes = list.map((d) => normAxis(op, d, shape.length));
  if (new Set(axes).size !== axes.length) throw new Error(`${op}: dim [${list.join(', ')}] repeats an axis`);
  return axes.sort((a, b) => a - b);
}

/** The shape after reducing `axes`: kept as 1, or removed. An all-axes reduction without keepdim is 0-d. */
function reducedShape(shape: readonly number[], axes: readonly number[], keepdim: boolean): number[] {
  return keepdim ? shape.map((d, i) => (axes.includes(i) ? 1 : d)) : shape.filter((_, i) => !axes.includes(i));
}

function reduceSumKernel(x: Tensor, axes: readonly number[]): Tensor {
  const b = activeBackend();
  const kept = reducedShape(x.shape, axes, true);
  return fromStorage(b.reduceSum(x.storageOn(b), x.shape, axes, x.dtype), kept, x.dtype);
}

/** Sums a broadcast gradient back to `shape` (over stretched and prepended axes). No graph. */
export function sumTo(g: Tensor, shape: readonly number[]): Tensor {
  if (g.ndim === shape.length && g.shape.every((d, i) => d === shape[i])) return g;
  const lead = g.ndim - shape.length;
  const axes = g.shape.map((_, i) => i).filter((i) => i < lead || (shape[i - lead] === 1 && g.shape[i] !== 1));
  return reduceSumKernel(g, axes).reshape(shape);
}

/** Sum over `dim` (every dimension if omitted). */
export function sum(x: Tensor, dim?: Dims, opts: ReduceOptions = {}): Tensor {
  const axes = normDims('sum', x.shape, dim);
  const kept = reduceSumKernel(x, axes);
  const out = kept.reshape(reducedShape(x.shape, axes, opts.keepdim ?? false));
  return record(out, 'sum', [x], (g) => [g.reshape(kept.shape).expand(x.shape)]);
}

/** Mean over `dim` (every dimension if omitted). */
export function mean(x: Tensor, dim?: Dims, opts: ReduceOptions = {}): Tensor {
  const axes = normDims('mean', x.shape, dim);
  const n = sizeOf(axes.map((a) => x.shape[a]));
  return sum(x, axes, opts).div(n);
}

/** Variance over `dim`; unbiased (÷ n−1) by default, as in PyTorch. */
export function variance(x: Tensor, dim?: Dims, opts: VarOptions = {}): Tensor {
  const axes = normDims('var', x.shape, dim);
  const n = sizeOf(axes.map((a) => x.shape[a]));
  const correction = (opts.unbiased ?? true) ? 1 : 0;
  if (n - correction <= 0)
    throw new Error(
      `var: ${n} element(s) over dim [${axes.join(', ')}] of ${fmtShape(x.shape)} with correction ${correction} leaves no degrees of freedom`,
    );
  const centred = x.sub(mean(x, axes, { keepdim: true }));
  return sum(centred.mul(centred), axes, opts).div(n - correction);
}

/**
 * Max over `dim`. With a dim, the gradient goes to the returned maximum (PyTorch's `max(dim)`); over all
 * elements, ties share it equally (PyTorch's `max()`).
 */
export function max(x: Tensor, dim?: Dims, opts: ReduceOptions = {}): Tensor {
  if (x.size === 0) throw new Error(`max: tensor of shape ${fmtShape(x.shape)} is empty`);
  const axes = normDims('max', x.shape, dim);
  const b = activeBackend();
  const { values, indices } = b.reduceMax(x.storageOn(b), x.shape, axes, x.dtype);
  const kept = reducedShape(x.shape, axes, true);
  const out = fromStorage(values, reducedShape(x.shape, axes, opts.keepdim ?? false), x.dtype);
  const all = dim === undefined || dim === null;
  return record(out, 'max', [x], (g) => {
    if (all) {
      const ties = binaryKernel('eq', x, out.reshape(kept));
      return [ties.mul(g.reshape(kept)).div(reduceSumKernel(ties, axes))];
    }
    const be = activeBackend();
    return [fromStorage(be.scatterAdd(g.storageOn(be), indices, x.size, x.dtype), x.shape, x.dtype)];
  });
}

/** Positions of the maxima along `dim` as a float tensor of integers (first maximum wins); no gradient. */
export function argmax(x: Tensor, dim: number, opts: ReduceOptions = {}): Tensor {
  const axis = normAxis('argmax', dim, x.ndim);
  const b = activeBackend();
  const { indices } = b.reduceMax(x.storageOn(b), x.shape, [axis], x.dtype);
  const stride = stridesOf(x.shape)[axis];
  const pos = new Float64Array(indices.length);
  for (let i = 0; i < indices.length; i++) pos[i] = Math.floor(indices[i] / stride) % x.shape[axis];
  const shape = reducedShape(x.shape, [axis], opts.keepdim ?? false);
  const arr = x.dtype === 'float64' ? pos : Float32Array.from(pos);
  return fromStorage(b.fromArray(arr), shape, x.dtype);
}
