import type { Tensor } from '../autograd/tensor.js';
import { activeBackend } from '../backend/registry.js';
import { Optimizer, type ParamGroup, type ParamState, type ParamsInput } from './optimizer.js';

/** Options of `Adam` and `AdamW` (PyTorch's defaults when omitted). */
export interface AdamOptions {
  lr?: number;
  betas?: [number, number];
  eps?: number;
  weightDecay?: number;
  /** Use the running maximum of the second moment (Reddi et al. 2018). */
  amsgrad?: boolean;
}

type AdamHyper = { betas: [number, number]; eps: number; weightDecay: number; amsgrad: boolean };

function checkAdam(name: string, h: AdamHyper & { lr: number }): void {
  const [b1, b2] = h.betas;
  if (!(b1 >= 0 && b1 < 1 && b2 >= 0 && b2 < 1))
    throw new Error(`${name}: betas must be in [0, 1), got [${h.betas.join(', ')}]`);
  if (!(h.eps >= 0) || !(h.weightDecay >= 0))
    throw new Error(`${name}: eps ${h.eps} and weightDecay ${h.weightDecay} must be ≥ 0`);
}

/** Adam (torch.optim.Adam): weight decay is L2, added to the gradient before the moments. */
export class Adam extends Optimizer<AdamHyper> {
  /** AdamW's decoupled decay instead of L2. */
  protected readonly decoupled: boolean = false;

  constructor(params: ParamsInput, opts: AdamOptions = {}) {
    super(params, {
      lr: opts.lr ?? 1e-3,
      betas: opts.betas ?? [0.9, 0.999],
      eps: opts.eps ?? 1e-8,
      weightDecay: opts.weightDecay ?? 0,
      amsgrad: opts.amsgrad ?? false,
    });
    for (const g of this.paramGroups) checkAdam(this.constructor.name, g);
  }

  /**
   * One step, the backend's `adamUpdate` kernel (backend/js/optim.ts): m, v moments with bias correction, eps added
   * after the square root; L2 decay is added to the gradient, AdamW's decoupled decay scales p first; amsgrad
   * uses the running maximum of v.
   */
  protected update(p: Tensor, grad: Tensor, group: ParamGroup & AdamHyper, st: ParamState): void {
    const m = this.buffer(st, 'exp_avg', p);
    const v = this.buffer(st, 'exp_avg_sq', p);
    const vmax = group.amsgrad ? this.buffer(st, 'max_exp_avg_sq', p) : null;
    const b = activeBackend();
    const h = {
      lr: group.lr,
      beta1: group.betas[0],
      beta2: group.betas[1],
      eps: group.eps,
      weightDecay: group.weightDecay,
      decoupled: this.decoupled,
      step: st.step,
    };
    b.adamUpdate(
      p.storageOn(b),
      grad.storageOn(b),
      m.storageOn(b),
      v.storageOn(b),
      vmax?.storageOn(b) ?? null,
      h,
      p.dtype,
    );
  }
}

/** AdamW (torch.optim.AdamW): decoupled decay p ← p·(1 − lr·λ) first, then Adam with the raw gradient; λ = 0.01 by default. */
export class AdamW extends Adam {
  protected readonly decoupled = true;

  constructor(params: ParamsInput, opts: AdamOptions = {}) {
    super(params, { ...opts, weightDecay: opts.weightDecay ?? 1e-2 });
  }
}
