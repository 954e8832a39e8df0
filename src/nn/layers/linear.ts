import { requireInt } from '../checks.js';
import { linear } from '../../autograd/ops/matmul.js';
import { type Tensor, zeros } from '../../autograd/tensor.js';
import { defaultWeightAndBias_ } from '../init.js';
import { Module } from '../module.js';

/** y = x·Wᵀ + b with weight (outFeatures, inFeatures). */
export class Linear extends Module {
  declare weight: Tensor;
  declare bias: Tensor | null;

  constructor(
    readonly inFeatures: number,
    readonly outFeatures: number,
    opts: { bias?: boolean } = {},
  ) {
    super();
    requireInt('Linear', 'in features', inFeatures, 1);
    requireInt('Linear', 'out features', outFeatures, 1);
    this.registerParameter('weight', zeros([outFeatures, inFeatures]));
    this.registerParameter('bias', (opts.bias ?? true) ? zeros([outFeatures]) : null);
    this.resetParameters();
  }

  /** PyTorch's default: U(±1/√in) for weight and bias. */
  resetParameters(): void {
    defaultWeightAndBias_(this.weight, this.bias);
  }

  forward(x: Tensor): Tensor {
    return linear(x, this.weight, this.bias);
  }

  extraRepr(): string {
    return `in_features=${this.inFeatures}, out_features=${this.outFeatures}, bias=${this.bias ? 'True' : 'False'}`;
  }
}
