// Shared pieces of the deconvolution layers: the effective block size, row and column subsampling that stays
// differentiable, the centred covariance, its inverse square root, and the running-average update.
import { noGrad } from '../../autograd/engine.js';
import { isqrtNewtonSchulz } from '../../linalg/isqrt.js';
import { whitening } from '../../linalg/whitening.js';
import { narrow, padBox } from '../../autograd/ops/movement.js';
import type { Tensor } from '../../autograd/tensor.js';

function gcd(a: number, b: number): number {
  return b === 0 ? a : gcd(b, a % b);
}

/**
 * The official rule for the number of channels whitened together: C if block > C, gcd(block, C) if block does not
 * divide C, else block; grouped convolutions force C/groups.
 */
export function effectiveBlock(channels: number, block: number, groups = 1): number {
  if (groups > 1) return channels / groups;
  if (block > channels) return channels;
  return channels % block !== 0 ? gcd(block, channels) : block;
}

/** Rows 0, step, 2·step, … of a (rows, cols) matrix, as a differentiable op (pad, reshape, take the first). */
export function everyNthRow(x: Tensor, step: number): Tensor {
  if (step <= 1) return x;
  const [rows, cols] = x.shape;
  const keep = Math.ceil(rows / step);
  const padded = padBox(x, [0, 0], [keep * step - rows, 0]);
  return narrow(padded.reshape([keep, step, cols]), 1, 0, 1).reshape([keep, cols]);
}

/** Columns 0, step, 2·step, … of a (rows, cols) matrix. */
export function everyNthColumn(x: Tensor, step: number): Tensor {
  if (step <= 1) return x;
  const [rows, cols] = x.shape;
  const keep = Math.ceil(cols / step);
  const padded = padBox(x, [0, 0], [0, keep * step - cols]);
  return narrow(padded.reshape([rows, keep, step]), 2, 0, 1).reshape([rows, keep]);
}

/** buffer ← (1 − m)·buffer + m·value, in place and outside the graph. */
export function updateRunning(buffer: Tensor, value: Tensor, momentum: number): void {
  noGrad(() => {
    const b = buffer.data;
    const v = value.data;
    for (let i = 0; i < b.length; i++) b[i] = (1 - momentum) * b[i] + momentum * v[i];
  });
}

export interface Whitening {
  mean: Tensor;
  deconv: Tensor;
}

/**
 * The whitening a layer uses this step: fresh batch statistics (which also update the running averages), or, in
 * eval mode and on frozen steps, the running buffers as constants.
 */
export function batchOrRunning(
  fresh: boolean,
  compute: () => Whitening,
  running: Whitening,
  momentum: number,
): Whitening {
  if (!fresh) return { mean: running.mean.detach(), deconv: running.deconv.detach() };
  const w = compute();
  updateRunning(running.mean, w.mean, momentum);
  updateRunning(running.deconv, w.deconv, momentum);
  return w;
}

/** buffer ← value, in place. */
export function copyInto(buffer: Tensor, value: Tensor): void {
  noGrad(() => buffer.data.set(value.data));
}

/** Shared option checks; each error names the layer and the value. */
export function checkDeconvOptions(
  layer: string,
  o: { eps: number; nIter: number; momentum: number; block: number },
): void {
  if (!(Number.isInteger(o.block) && o.block > 0))
    throw new Error(`${layer}: block must be a positive integer, got ${o.block}`);
  if (!(o.eps > 0))
    throw new Error(`${layer}: eps must be positive (it keeps the covariance invertible), got ${o.eps}`);
  if (!(Number.isInteger(o.nIter) && o.nIter >= 1))
    throw new Error(`${layer}: nIter must be a positive integer, got ${o.nIter}`);
  if (!(o.momentum >= 0 && o.momentum <= 1)) throw new Error(`${layer}: momentum must be in [0, 1], got ${o.momentum}`);
}

/**
 * The whitening matrix Cov^(−1/2) (Newton–Schulz, `nIter` steps) of a deconvolution `layer`'s covariance. A
 * covariance that is not finite means the layer's input was not (a diverged network, or NaN in the data): the error
 * names the layer, which the bare Newton–Schulz error cannot.
 */
export function whiten(layer: { extraRepr(): string }, cov: Tensor, nIter: number): Tensor {
  return naming(layer, () => isqrtNewtonSchulz(cov, nIter));
}

/** whiten() of the covariance XᵀX/n + eps·I of centred rows X (n, d) or (b, n, d), as one op (linalg.whitening). */
export function whitenRows(layer: { extraRepr(): string }, xc: Tensor, eps: number, nIter: number): Tensor {
  return naming(layer, () => whitening(xc, eps, nIter));
}

function naming(layer: { extraRepr(): string }, whitened: () => Tensor): Tensor {
  try {
    return whitened();
  } catch (e) {
    throw new Error(
      `${layer.constructor.name}(${layer.extraRepr()}): cannot whiten its input, whose covariance is not finite (NaN or ∞ in the input: the training diverged or the data holds them) — ${(e as Error).message}`,
    );
  }
}
