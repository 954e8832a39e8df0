// Delinear: network deconvolution in front of a linear layer (the official `Delinear`). The input's features are
// split into contiguous blocks of B, stacked as rows, whitened with one shared B×B matrix, and the whitening is
// folded into the weight: y = x·(W·D)ᵀ + b − Σ_blocks (W·D)·μ.
import { linear } from '../../autograd/ops/matmul.js';
import { eye, type Tensor, zeros } from '../../autograd/tensor.js';
import { fmtShape } from '../../backend/shape_info.js';
import { defaultWeightAndBias_ } from '../init.js';
import { Module } from '../module.js';
import { batchOrRunning, checkDeconvOptions, effectiveBlock, whitenRows } from './stats.js';

/** Options of `Delinear` (the official defaults when omitted). */
export interface DelinearOptions {
  bias?: boolean;
  eps?: number;
  nIter?: number;
  momentum?: number;
  /** Features whitened together (default 512; adjusted like FastDeconv2d's block). */
  block?: number;
}

/** A linear layer whose input is whitened in blocks of `block` features (the official `Delinear`). */
export class Delinear extends Module {
  declare weight: Tensor;
  declare bias: Tensor | null;
  declare running_mean: Tensor;
  declare running_deconv: Tensor;
  readonly eps: number;
  readonly nIter: number;
  readonly momentum: number;
  readonly block: number;

  constructor(
    readonly inFeatures: number,
    readonly outFeatures: number,
    opts: DelinearOptions = {},
  ) {
    super();
    this.eps = opts.eps ?? 1e-5;
    this.nIter = opts.nIter ?? 5;
    this.momentum = opts.momentum ?? 0.1;
    const requested = opts.block ?? 512;
    checkDeconvOptions('Delinear', { eps: this.eps, nIter: this.nIter, momentum: this.momentum, block: requested });
    this.block = effectiveBlock(inFeatures, requested);
    this.registerParameter('weight', zeros([outFeatures, inFeatures]));
    this.registerParameter('bias', (opts.bias ?? true) ? zeros([outFeatures]) : null);
    this.registerBuffer('running_mean', zeros([this.block]));
    this.registerBuffer('running_deconv', eye(this.block));
    this.resetParameters();
  }

  /** PyTorch's Linear default: U(±1/√in) for weight and bias. The running buffers are left alone. */
  resetParameters(): void {
    defaultWeightAndBias_(this.weight, this.bias);
  }

  /** W' = W·D (per block) and b' = b − Σ_blocks W'·μ. */
  foldedWeights(mean: Tensor, deconv: Tensor): { weight: Tensor; bias: Tensor } {
    const B = this.block;
    const w = this.weight.reshape([-1, B]).matmul(deconv);
    const shift = w
      .matmul(mean.reshape([B, 1]))
      .reshape([this.outFeatures, -1])
      .sum(1);
    const bias = (this.bias ?? zeros([this.outFeatures], { dtype: this.weight.dtype })).sub(shift);
    return { weight: w.reshape([this.outFeatures, this.inFeatures]), bias };
  }

  forward(x: Tensor): Tensor {
    if (x.ndim < 1 || x.shape[x.ndim - 1] !== this.inFeatures) {
      throw new Error(
        `Delinear(${this.inFeatures}, ${this.outFeatures}): input ${fmtShape(x.shape)} must end in ${this.inFeatures} features`,
      );
    }
    const statistics = () => {
      const X = x.reshape([-1, this.block]);
      const mean = X.mean(0);
      return { mean, deconv: whitenRows(this, X.sub(mean), this.eps, this.nIter) };
    };
    const { mean, deconv } = batchOrRunning(
      this.training,
      statistics,
      { mean: this.running_mean, deconv: this.running_deconv },
      this.momentum,
    );
    const { weight, bias } = this.foldedWeights(mean, deconv);
    return linear(x, weight, bias);
  }

  extraRepr(): string {
    return `in_features=${this.inFeatures}, out_features=${this.outFeatures}, bias=${this.bias ? 'True' : 'False'}, block=${this.block}, n_iter=${this.nIter}, eps=${this.eps}, momentum=${this.momentum}`;
  }
}
