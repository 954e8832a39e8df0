// Finite-difference gradient checking in float64, as torch.autograd.gradcheck does.
import { noGrad } from './engine.js';
import { tensor, type Tensor } from './tensor.js';

/** Tolerances and step of `gradcheck`. */
export interface GradcheckOptions {
  /** Central-difference step. */
  eps?: number;
  atol?: number;
  rtol?: number;
  /** Upstream gradient seed; a fixed pseudo-random pattern by default so every output element matters. */
  seed?: number;
}

/** Whether every analytic gradient matched its finite difference, and the worst entry. */
export interface GradcheckResult {
  ok: boolean;
  /** Largest |analytic − numeric| − (atol + rtol·|numeric|) over all checked entries (≤ 0 when ok). */
  worst: number;
  /** Where it was worst: input index and flat element index. */
  at: [number, number];
  analytic: number[][];
  numeric: number[][];
}

/**
 * Compares the analytic gradients of `sum(fn(...inputs) ∘ G)` with central differences. Inputs must be float64
 * tensors (use the js backend); each one that requires a gradient is checked element by element.
 */
export function gradcheck(
  fn: (...xs: Tensor[]) => Tensor,
  inputs: Tensor[],
  opts: GradcheckOptions = {},
): GradcheckResult {
  const eps = opts.eps ?? 1e-6;
  const atol = opts.atol ?? 1e-5;
  const rtol = opts.rtol ?? 1e-3;
  for (const x of inputs)
    if (x.dtype !== 'float64') throw new Error(`gradcheck: inputs must be float64, got ${x.dtype}`);
  const out0 = noGrad(() => fn(...inputs));
  let state = (opts.seed ?? 1) >>> 0;
  const seedValues = Array.from({ length: out0.size }, () => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return ((state >>> 8) / (1 << 24)) * 2 - 1 || 0.5;
  });
  const G = tensor(seedValues, out0.shape, { dtype: 'float64' });
  const objective = () =>
    noGrad(() =>
      fn(...inputs)
        .mul(G)
        .sum()
        .item(),
    );

  for (const x of inputs) x.grad = null;
  fn(...inputs)
    .mul(G)
    .sum()
    .backward();
  const analytic = inputs.map((x) => (x.requiresGrad ? Array.from(x.grad?.data ?? new Float64Array(x.size)) : []));
  const numeric: number[][] = inputs.map(() => []);
  let worst = -Infinity;
  let at: [number, number] = [-1, -1];
  inputs.forEach((x, k) => {
    if (!x.requiresGrad) return;
    const d = x.data;
    for (let i = 0; i < x.size; i++) {
      const orig = d[i];
      x.data[i] = orig + eps;
      const plus = objective();
      x.data[i] = orig - eps;
      const minus = objective();
      x.data[i] = orig;
      const num = (plus - minus) / (2 * eps);
      numeric[k].push(num);
      const excess = Math.abs(analytic[k][i] - num) - (atol + rtol * Math.abs(num));
      if (excess > worst || Number.isNaN(excess)) {
        worst = Number.isNaN(excess) ? Infinity : excess;
        at = [k, i];
      }
    }
  });
  return { ok: worst <= 0, worst, at, analytic, numeric };
}
