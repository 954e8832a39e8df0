// Batch normalisation with batch statistics, as one op: the statistics, the normalisation and its backward are
// kernels (a composed version would make about six full-size passes forward and fifteen backward).
//   forward   μ_c, σ²_c over (N, L);  y = (x − μ)·s·γ + β  with s = 1/√(σ² + eps)
//   backward  ∂β = Σ dy,  ∂γ = Σ dy·x̂,  dx = γ·s·(dy − Σdy/M − x̂·Σdy·x̂/M)   (x̂ = (x − μ)·s, M = N·L)
// fusedBatchNormReluTrain is relu(y) as one op: its kernels clamp y and zero dy where the output is 0, so the ReLU's
// own forward and backward passes over the activations are not made (nn.utils.fuse puts it where a ReLU follows).
import { activeBackend } from '../../backend/registry.js';
import { allocArray } from '../../backend/dtype.js';
import { fmtShape } from '../../backend/shape_info.js';
import { record } from '../engine.js';
import { fromStorage, type Tensor } from '../tensor.js';

export interface BatchNormResult {
  out: Tensor;
  /** The batch mean and biased variance per channel (no gradient), for running statistics. */
  mean: Tensor;
  variance: Tensor;
}

/**
 * Normalises x (N, C, …) per channel with the statistics of this batch, then scales by `weight` and shifts by
 * `bias` (each (C) or null). Differentiable in x, weight and bias.
 */
export function batchNormTrain(x: Tensor, weight: Tensor | null, bias: Tensor | null, eps: number): BatchNormResult {
  return batchNormOp(x, weight, bias, eps, false);
}

/** relu(batchNormTrain(x, …).out) as one op: the same values and gradients, without the ReLU's passes. */
export function fusedBatchNormReluTrain(
  x: Tensor,
  weight: Tensor | null,
  bias: Tensor | null,
  eps: number,
): BatchNormResult {
  return batchNormOp(x, weight, bias, eps, true);
}

function batchNormOp(
  x: Tensor,
  weight: Tensor | null,
  bias: Tensor | null,
  eps: number,
  fusedRelu: boolean,
): BatchNormResult {
  if (x.ndim < 2) throw new Error(`batchNorm: expected input (N, C, …), got ${fmtShape(x.shape)}`);
  const C = x.shape[1];
  for (const [name, p] of [
    ['weight', weight],
    ['bias', bias],
  ] as const) {
    if (p && (p.ndim !== 1 || p.shape[0] !== C))
      throw new Error(`batchNorm: ${name} must have shape (${C}), got ${fmtShape(p.shape)}`);
  }
  const d = { n: x.shape[0], c: C, l: x.size / (x.shape[0] * C) };
  const be = activeBackend();
  const xs = x.storageOn(be);
  const { mean, variance } = be.channelMoments(xs, d, x.dtype);
  const v = be.view(variance, C, x.dtype);
  const s = allocArray(C, x.dtype);
  for (let c = 0; c < C; c++) s[c] = 1 / Math.sqrt(v[c] + eps);
  const invstd = be.fromArray(s);
  const [scale, shift] = [weight?.storageOn(be) ?? null, bias?.storageOn(be) ?? null];
  const y = (fusedRelu ? be.fusedBatchNormReluApply : be.batchNormApply)(xs, mean, invstd, scale, shift, d, x.dtype);
  const inputs = [x, ...(weight ? [weight] : []), ...(bias ? [bias] : [])];
  const name = fusedRelu ? 'fusedBatchNormRelu' : 'batchNorm';
  const out = record(fromStorage(y, x.shape, x.dtype), name, inputs, (g) => {
    const b = activeBackend();
    const [dy, xb, w] = [g.storageOn(b), x.storageOn(b), weight?.storageOn(b) ?? null];
    const r = fusedRelu
      ? b.fusedBatchNormReluBackward(dy, xb, mean, invstd, w, y, d, x.dtype)
      : b.batchNormBackward(dy, xb, mean, invstd, w, d, x.dtype);
    return [
      fromStorage(r.dx, x.shape, x.dtype),
      ...(weight ? [fromStorage(r.sumDyXhat, [C], x.dtype)] : []),
      ...(bias ? [fromStorage(r.sumDy, [C], x.dtype)] : []),
    ];
  });
  return { out, mean: fromStorage(mean, [C], x.dtype), variance: fromStorage(variance, [C], x.dtype) };
}
