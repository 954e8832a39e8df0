import type { Tensor } from '../autograd/tensor.js';
import { activeBackend } from '../backend/registry.js';
import { Optimizer, type ParamGroup, type ParamState, type ParamsInput } from './optimizer.js';

/** Options of `SGD` (PyTorch's defaults when omitted). */
export interface SGDOptions {
  lr?: number;
  momentum?: number;
  dampening?: number;
  weightDecay?: number;
  nesterov?: boolean;
}

type SGDHyper = Required<Omit<SGDOptions, 'lr'>>;

/**
 * Stochastic gradient descent, exactly torch.optim.SGD:
 *   g = grad + λp;  buf = g on the first step, else μ·buf + (1−τ)·g;  d = g + μ·buf if nesterov else buf;  p −= lr·d
 * The update is the backend's `sgdUpdate` kernel (backend/js/optim.ts reads as the formula above).
 */
export class SGD extends Optimizer<SGDHyper> {
  constructor(params: ParamsInput, opts: SGDOptions = {}) {
    const hyper = {
      lr: opts.lr ?? 1e-3,
      momentum: opts.momentum ?? 0,
      dampening: opts.dampening ?? 0,
      weightDecay: opts.weightDecay ?? 0,
      nesterov: opts.nesterov ?? false,
    };
    if (hyper.nesterov && (hyper.momentum <= 0 || hyper.dampening !== 0))
      throw new Error('SGD: nesterov needs momentum > 0 and dampening 0');
    if (hyper.momentum < 0 || hyper.weightDecay < 0)
      throw new Error(`SGD: momentum ${hyper.momentum} and weightDecay ${hyper.weightDecay} must be ≥ 0`);
    super(params, hyper);
  }

  protected update(p: Tensor, grad: Tensor, group: ParamGroup & SGDHyper, st: ParamState): void {
    const buf = group.momentum !== 0 ? this.buffer(st, 'momentum_buffer', p) : null;
    const b = activeBackend();
    const h = {
      lr: group.lr,
      momentum: group.momentum,
      dampening: group.dampening,
      weightDecay: group.weightDecay,
      nesterov: group.nesterov,
      first: st.step === 1,
    };
    b.sgdUpdate(p.storageOn(b), grad.storageOn(b), buf?.storageOn(b) ?? null, h, p.dtype);
  }
}
