import type { Tensor } from '../autograd/tensor.js';
import { Optimizer, type ParamGroup, type ParamState, type ParamsInput, views } from './optimizer.js';

export interface AdamOptions {
  lr?: number;
  betas?: [number, number];
  eps?: number;
  weightDecay?: number;
  /** Use the running maximum of the second moment (Reddi et al. 2018). */
  amsgrad?: boolean;
}

type AdamHyper = { betas: [number, number]; eps: number; weightDecay: number; amsgrad: boolean };

type Arr = Float32Array | Float64Array;

/**
 * One Adam step on raw arrays: m, v moments with bias correction; eps added after the square root. `g` already
 * includes any L2 term. With `vmax` (amsgrad) the denominator uses the running maximum of v.
 */
function adamUpdate(pd: Arr, g: (i: number) => number, md: Arr, vd: Arr, vmax: Arr | null, h: AdamHyper & { lr: number }, t: number): void {
  const [b1, b2] = h.betas;
  const c2 = Math.sqrt(1 - b2 ** t);
  const stepSize = h.lr / (1 - b1 ** t);
  for (let i = 0; i < pd.length; i++) {
    const gi = g(i);
    md[i] = b1 * md[i] + (1 - b1) * gi;
    vd[i] = b2 * vd[i] + (1 - b2) * gi * gi;
    let v = vd[i];
    if (vmax) v = vmax[i] = Math.max(vmax[i], v);
    pd[i] -= (stepSize * md[i]) / (Math.sqrt(v) / c2 + h.eps);
  }
}

function checkAdam(name: string, h: AdamHyper & { lr: number }): void {
  const [b1, b2] = h.betas;
  if (!(b1 >= 0 && b1 < 1 && b2 >= 0 && b2 < 1)) throw new Error(`${name}: betas must be in [0, 1), got [${h.betas.join(', ')}]`);
  if (!(h.eps >= 0) || !(h.weightDecay >= 0)) throw new Error(`${name}: eps ${h.eps} and weightDecay ${h.weightDecay} must be ≥ 0`);
}

/** Adam (torch.optim.Adam): weight decay is L2, added to the gradient before the moments. */
export class Adam extends Optimizer<AdamHyper> {
  /** AdamW's decoupled decay instead of L2. */
  protected readonly decoupled: boolean = false;

  constructor(params: ParamsInput, opts: AdamOptions = {}) {
    super(params, {
      lr: opts.lr ?? 1e-3, betas: opts.betas ?? [0.9, 0.999], eps: opts.eps ?? 1e-8, weightDecay: opts.weightDecay ?? 0,
      amsgrad: opts.amsgrad ?? false,
    });
    for (const g of this.paramGroups) checkAdam(this.constructor.name, g);
  }

  protected update(p: Tensor, grad: Tensor, group: ParamGroup & AdamHyper, st: ParamState): void {
    const m = this.buffer(st, 'exp_avg', p);
    const v = this.buffer(st, 'exp_avg_sq', p);
    const vmax = group.amsgrad ? this.buffer(st, 'max_exp_avg_sq', p) : null;
    const [pd, gd, md, vd] = views(p, grad, m, v);
    const wd = group.weightDecay;
    if (this.decoupled) {
      const decay = 1 - group.lr * wd;
      for (let i = 0; i < pd.length; i++) pd[i] *= decay;
      adamUpdate(pd, (i) => gd[i], md, vd, vmax?.data ?? null, group, st.step);
    } else {
      adamUpdate(pd, (i) => gd[i] + wd * pd[i], md, vd, vmax?.data ?? null, group, st.step);
    }
  }
}

/** AdamW (torch.optim.AdamW): decoupled decay p ← p·(1 − lr·λ) first, then Adam with the raw gradient; λ = 0.01 by default. */
export class AdamW extends Adam {
  protected readonly decoupled = true;

  constructor(params: ParamsInput, opts: AdamOptions = {}) {
    super(params, { ...opts, weightDecay: opts.weightDecay ?? 1e-2 });
  }
}
