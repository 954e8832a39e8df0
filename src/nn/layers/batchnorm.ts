import { requireInt, requirePositive } from '../checks.js';
import { noGrad } from '../../autograd/engine.js';
import { batchNormTrain, fusedBatchNormReluTrain } from '../../autograd/ops/normalization.js';
import { ones, type Tensor, zeros } from '../../autograd/tensor.js';
import { fmtShape } from '../../backend/shape_info.js';
import { Module } from '../module.js';

/** Options of `BatchNorm2d` (PyTorch's defaults when omitted). */
export interface BatchNorm2dOptions {
  eps?: number;
  /** Weight of the new batch statistic in the running average (0.1); null for a cumulative average. */
  momentum?: number | null;
  affine?: boolean;
  trackRunningStats?: boolean;
}

/**
 * Batch normalisation over (N, H, W) per channel, exactly as PyTorch: the biased variance normalises, the unbiased
 * one enters running_var; in eval mode the running statistics are constants.
 */
export class BatchNorm2d extends Module {
  declare weight: Tensor | null;
  declare bias: Tensor | null;
  declare running_mean: Tensor;
  declare running_var: Tensor;
  declare num_batches_tracked: Tensor;
  readonly eps: number;
  readonly momentum: number | null;
  readonly affine: boolean;
  readonly trackRunningStats: boolean;

  constructor(
    readonly numFeatures: number,
    opts: BatchNorm2dOptions = {},
  ) {
    super();
    this.eps = opts.eps ?? 1e-5;
    this.momentum = opts.momentum === undefined ? 0.1 : opts.momentum;
    this.affine = opts.affine ?? true;
    this.trackRunningStats = opts.trackRunningStats ?? true;
    requireInt('BatchNorm2d', 'num features', numFeatures, 1);
    requirePositive('BatchNorm2d', 'eps', this.eps);
    if (this.momentum !== null && !(this.momentum >= 0 && this.momentum <= 1))
      throw new Error(`BatchNorm2d: momentum must be in [0, 1] or null, got ${this.momentum}`);
    this.registerParameter('weight', this.affine ? ones([numFeatures]) : null);
    this.registerParameter('bias', this.affine ? zeros([numFeatures]) : null);
    if (this.trackRunningStats) {
      this.registerBuffer('running_mean', zeros([numFeatures]));
      this.registerBuffer('running_var', ones([numFeatures]));
      this.registerBuffer('num_batches_tracked', zeros([]));
    }
  }

  /** Weight 1, bias 0, running mean 0, running variance 1, no batches tracked (PyTorch). */
  resetParameters(): void {
    this.weight?.data.fill(1);
    this.bias?.data.fill(0);
    if (this.trackRunningStats) {
      this.running_mean.data.fill(0);
      this.running_var.data.fill(1);
      this.num_batches_tracked.data.fill(0);
    }
  }

  forward(x: Tensor): Tensor {
    return this.normalize(x, false);
  }

  /** The normalisation; `relu`: with a ReLU after it, in the same op when normalising with batch statistics. */
  protected normalize(x: Tensor, relu: boolean): Tensor {
    const C = this.numFeatures;
    if (x.ndim !== 4 || x.shape[1] !== C)
      throw new Error(`BatchNorm2d(${C}): expected input (N, ${C}, H, W), got ${fmtShape(x.shape)}`);
    if (this.training || !this.trackRunningStats) {
      const n = x.shape[0] * x.shape[2] * x.shape[3];
      if (n <= 1)
        throw new Error(
          `BatchNorm2d: expected more than 1 value per channel when training, got input ${fmtShape(x.shape)}`,
        );
      // One op with batch-statistics kernels (autograd/ops/normalization.ts), the affine part included.
      const r = (relu ? fusedBatchNormReluTrain : batchNormTrain)(x, this.weight, this.bias, this.eps);
      if (this.training && this.trackRunningStats) this.updateRunningStats(r.mean, r.variance, n);
      return r.out;
    }
    const shape = [1, C, 1, 1];
    const xhat = x.sub(this.running_mean.reshape(shape)).div(this.running_var.reshape(shape).add(this.eps).sqrt());
    const y = this.weight && this.bias ? xhat.mul(this.weight.reshape(shape)).add(this.bias.reshape(shape)) : xhat;
    return relu ? y.relu() : y;
  }

  private updateRunningStats(mean: Tensor, biasedVar: Tensor, n: number): void {
    noGrad(() => {
      const nbt = this.num_batches_tracked.data;
      nbt[0] += 1;
      const m = this.momentum ?? 1 / nbt[0];
      const rm = this.running_mean.data;
      const rv = this.running_var.data;
      const bm = mean.data;
      const bv = biasedVar.data;
      for (let c = 0; c < this.numFeatures; c++) {
        rm[c] = (1 - m) * rm[c] + m * bm[c];
        rv[c] = (1 - m) * rv[c] + (m * bv[c] * n) / (n - 1);
      }
    });
  }

  extraRepr(): string {
    const mom = this.momentum === null ? 'None' : String(this.momentum);
    return `${this.numFeatures}, eps=${this.eps}, momentum=${mom}, affine=${this.affine ? 'True' : 'False'}, track_running_stats=${this.trackRunningStats ? 'True' : 'False'}`;
  }
}
