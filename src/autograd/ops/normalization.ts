// Batch normalisation with batch statistics, as one op: the statistics, the normalisation and its backward are
// kernels (a composed version would make about six full-size passes forward and fifteen backward).
//   forward   μ_c, σ²_c over (N, L);  y = (x − μ)·s·γ + β  with s = 1/√(σ² + eps)
//   backward  ∂β = Σ dy,  ∂γ = Σ dy·x̂,  dx = γ·s·(dy − Σdy/M − x̂·Σdy·x̂/M)   (x̂ = (x − μ)·s, M = N·L)
// With a ReLU after it (`relu`), the op is relu(y): the same kernels clamp y and zero dy where the output is 0, so
// the ReLU's own forward and backward passes over the activations are not made.
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

export interface BatchNormOptions {
  /** Apply a ReLU to the result, in the same passes: exactly relu(batchNorm(x)), its gradient too. */
  relu?: boolean;
}

/**
 * Normalises x (N, C, …) per channel with the statistics of this batch, then scales by `weight` and shifts by
 * `bias` (each (C) or null). Differentiable in x, weight and bias.
 */
export function batchNormTrain(
  x: Tensor,
  weight: Tensor | null,
  bias: Tensor | null,
  eps: number,
  opts: BatchNormOptions = {},
): BatchNormResult {
  const relu = opts.relu ?? false;
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
  const y = be.batchNormApply(
    xs,
    mean,
    invstd,
    weight?.storageOn(be) ?? null,
    bias?.storageOn(be) ?? null,
    d,
    relu,
    x.dtype,
  );
  const inputs = [x, ...(weight ? [weight] : []), ...(bias ? [bias] : [])];
  const out = record(fromStorage(y, x.shape, x.dtype), relu ? 'batchNormRelu' : 'batchNorm', inputs, (g) => {
    const b = activeBackend();
    const r = b.batchNormBackward(
      g.storageOn(b),
      x.storageOn(b),
      mean,
      invstd,
      weight?.storageOn(b) ?? null,
      relu ? y : null,
      d,
      x.dtype,
    );
    return [
      fromStorage(r.dx, x.shape, x.dtype),
      ...(weight ? [fromStorage(r.sumDyXhat, [C], x.dtype)] : []),
      ...(bias ? [fromStorage(r.sumDy, [C], x.dtype)] : []),
    ];
  });
  return { out, mean: fromStorage(mean, [C], x.dtype), variance: fromStorage(variance, [C], x.dtype) };
}
