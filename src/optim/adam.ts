import type { Tensor } from '../autograd/tensor.js';
import { Optimizer, type ParamGroup, type ParamState, type ParamsInput, views } from './optimizer.js';

export interface AdamOptions {
  lr?: number;
  betas?: [number, number];
  eps?: number;
  weightDecay?: number;
}

type AdamHyper = { betas: [number, number]; eps: number; weightDecay: number };

/**
 * One Adam step on raw arrays: m, v moments with bias correction; eps added after the square root.
 * `g` already includes any L2 term.
 */
function adamUpdate(pd: Float32Array | Float64Array, g: (i: number) => number, md: Float32Array | Float64Array, vd: Float32Array | Float64Array, lr: number, b1: number, b2: number, eps: number, t: number): void {
  const c1 = 1 - b1 ** t;
  const c2 = Math.sqrt(1 - b2 ** t);
  const stepSize = lr / c1;
  for (let i = 0; i < pd.length; i++) {
    const gi = g(i);
    md[i] = b1 * md[i] + (1 - b1) * gi;
    vd[i] = b2 * vd[i] + (1 - b2) * gi * gi;
    pd[i] -= (stepSize * md[i]) / (Math.sqrt(vd[i]) / c2 + eps);
  }
}

function checkAdam(name: string, h: AdamHyper & { lr: number }): void {
  const [b1, b2] = h.betas;
  if (!(b1 >= 0 && b1 < 1 && b2 >= 0 && b2 < 1)) throw new Error(`${name}: betas must be in [0, 1), got [${h.betas.join(', ')}]`);
  if (!(h.eps >= 0) || !(h.weightDecay >= 0)) throw new Error(`${name}: eps ${h.eps} and weightDecay ${h.weightDecay} must be ≥ 0`);
}

/** Adam (torch.optim.Adam): weight decay is L2, added to the gradient before the moments. */
export class Adam extends Optimizer<AdamHyper> {
  constructor(params: ParamsInput, opts: AdamOptions = {}) {
    const hyper = { lr: opts.lr ?? 1e-3, betas: opts.betas ?? [0.9, 0.999] as [number, number], eps: opts.eps ?? 1e-8, weightDecay: opts.weightDecay ?? 0 };
    checkAdam('Adam', hyper);
    super(params, hyper);
  }

  protected update(p: Tensor, grad: Tensor, group: ParamGroup & AdamHyper, st: ParamState): void {
    const m = this.buffer(st, 'exp_avg', p);
    const v = this.buffer(st, 'exp_avg_sq', p);
    const [pd, gd, md, vd] = views(p, grad, m, v);
    const wd = group.weightDecay;
    adamUpdate(pd, (i) => gd[i] + wd * pd[i], md, vd, group.lr, group.betas[0], group.betas[1], group.eps, st.step);
  }
}

/** AdamW (torch.optim.AdamW): decoupled decay p ← p·(1 − lr·λ) first, then Adam with the raw gradient. */
export class AdamW extends Optimizer<AdamHyper> {
  constructor(params: ParamsInput, opts: AdamOptions = {}) {
    const hyper = { lr: opts.lr ?? 1e-3, betas: opts.betas ?? [0.9, 0.999] as [number, number], eps: opts.eps ?? 1e-8, weightDecay: opts.weightDecay ?? 1e-2 };
    checkAdam('AdamW', hyper);
    super(params, hyper);
  }

  protected update(p: Tensor, grad: Tensor, group: ParamGroup & AdamHyper, st: ParamState): void {
    const m = this.buffer(st, 'exp_avg', p);
    const v = this.buffer(st, 'exp_avg_sq', p);
    const [pd, gd, md, vd] = views(p, grad, m, v);
    const decay = 1 - group.lr * group.weightDecay;
    for (let i = 0; i < pd.length; i++) pd[i] *= decay;
    adamUpdate(pd, (i) => gd[i], md, vd, group.lr, group.betas[0], group.betas[1], group.eps, st.step);
  }
}
