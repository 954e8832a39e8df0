// FastDeconv2d: network deconvolution (Ye et al., ICLR 2020) in front of a convolution, with the official code's
// semantics. In training, the layer samples the im2col patches of its input, whitens them — removes their mean and
// multiplies by Cov^(−1/2) computed by Newton–Schulz — and folds that whitening into the convolution weight, so the
// layer is still one conv2d: y = conv2d(x, W·D, b − W·D·μ). See docs/deconvolution.md.
import { conv2d, unfold } from '../../autograd/ops/conv.js';
import { eye, type Tensor, zeros } from '../../autograd/tensor.js';
import { fmtShape } from '../../backend/shape_info.js';
import { defaultWeightAndBias_ } from '../init.js';
import { Module } from '../module.js';
import { batchOrRunning, checkDeconvOptions, effectiveBlock, everyNthRow, whitenRows } from './stats.js';

/** Options of `FastDeconv2d` (the official defaults when omitted). */
export interface FastDeconv2dOptions {
  stride?: number;
  padding?: number;
  dilation?: number;
  groups?: number;
  bias?: boolean;
  /** Added to the covariance's diagonal. */
  eps?: number;
  /** Newton–Schulz iterations. */
  nIter?: number;
  /** Weight of the new batch statistic in the running averages. */
  momentum?: number;
  /** Channels whitened together (adjusted by the official rule: see effectiveBlock). */
  block?: number;
  /** Statistics use every samplingStride-th patch position (times the conv stride) in each direction. */
  samplingStride?: number;
  /** Recompute the statistics only on some steps and reuse the running ones in between. */
  freeze?: boolean;
  freezeIter?: number;
}

/** A convolution whose input patches are whitened (network deconvolution, the official `FastDeconv`). */
export class FastDeconv2d extends Module {
  declare weight: Tensor;
  declare bias: Tensor | null;
  declare running_mean: Tensor;
  declare running_deconv: Tensor;
  readonly stride: number;
  readonly padding: number;
  readonly dilation: number;
  readonly groups: number;
  readonly eps: number;
  readonly nIter: number;
  readonly momentum: number;
  /** The block size as requested, and as used. */
  readonly requestedBlock: number;
  readonly block: number;
  readonly samplingStride: number;
  readonly freeze: boolean;
  readonly freezeIter: number;
  /** Features per whitened patch: k²·block. */
  readonly numFeatures: number;
  /** Training-step counter of the freeze schedule (not part of the state dict, as in the official code). */
  counter = 0;

  constructor(
    readonly inChannels: number,
    readonly outChannels: number,
    readonly kernelSize: number,
    opts: FastDeconv2dOptions = {},
  ) {
    super();
    this.stride = opts.stride ?? 1;
    this.padding = opts.padding ?? 0;
    this.dilation = opts.dilation ?? 1;
    this.groups = opts.groups ?? 1;
    this.eps = opts.eps ?? 1e-5;
    this.nIter = opts.nIter ?? 5;
    this.momentum = opts.momentum ?? 0.1;
    this.requestedBlock = opts.block ?? 64;
    this.samplingStride = opts.samplingStride ?? 3;
    this.freeze = opts.freeze ?? false;
    this.freezeIter = opts.freezeIter ?? 100;
    const name = 'FastDeconv2d';
    checkDeconvOptions(name, { eps: this.eps, nIter: this.nIter, momentum: this.momentum, block: this.requestedBlock });
    if (!(Number.isInteger(kernelSize) && kernelSize >= 1))
      throw new Error(`${name}: kernelSize must be a positive integer, got ${kernelSize}`);
    if (
      !(Number.isInteger(this.stride) && this.stride >= 1) ||
      !(Number.isInteger(this.dilation) && this.dilation >= 1) ||
      !(Number.isInteger(this.padding) && this.padding >= 0)
    ) {
      throw new Error(
        `${name}: stride ${this.stride} and dilation ${this.dilation} must be ≥ 1 and padding ${this.padding} ≥ 0 (integers)`,
      );
    }
    if (
      !(Number.isInteger(this.groups) && this.groups >= 1) ||
      inChannels % this.groups !== 0 ||
      outChannels % this.groups !== 0
    ) {
      throw new Error(
        `${name}: in channels ${inChannels} and out channels ${outChannels} must be divisible by groups ${this.groups}`,
      );
    }
    if (!(Number.isInteger(this.samplingStride) && this.samplingStride >= 1))
      throw new Error(`${name}: samplingStride must be a positive integer, got ${this.samplingStride}`);
    if (this.freeze && !(Number.isInteger(this.freezeIter) && this.freezeIter >= 1))
      throw new Error(`${name}: freezeIter must be a positive integer with freeze, got ${this.freezeIter}`);
    this.block = effectiveBlock(inChannels, this.requestedBlock, this.groups);
    const k2 = kernelSize * kernelSize;
    this.numFeatures = k2 * this.block;
    this.registerParameter('weight', zeros([outChannels, inChannels / this.groups, kernelSize, kernelSize]));
    this.registerParameter('bias', (opts.bias ?? true) ? zeros([outChannels]) : null);
    if (this.groups === 1) {
      this.registerBuffer('running_mean', zeros([this.numFeatures]));
      this.registerBuffer('running_deconv', eye(this.numFeatures));
    } else {
      this.registerBuffer('running_mean', zeros([inChannels * k2]));
      const stacked = zeros([this.groups, this.numFeatures, this.numFeatures]);
      const d = this.numFeatures;
      for (let g = 0; g < this.groups; g++) for (let i = 0; i < d; i++) stacked.data[(g * d + i) * d + i] = 1;
      this.registerBuffer('running_deconv', stacked);
    }
    this.resetParameters();
  }

  /** PyTorch's conv default: U(±1/√fan_in) for weight and bias. The running buffers are left alone. */
  resetParameters(): void {
    defaultWeightAndBias_(this.weight, this.bias);
  }

  /**
   * The sampled patch matrix: one row per sampled position, column p = c·k² + tap (channel-major, as F.unfold); in
   * `blocks` (G > 1), its G blocks stacked as extra rows (column p belongs to block p mod G as feature ⌊p / G⌋): row
   * r·G + g holds block g of position r. A k×k kernel's patches take one layout pass from their unfolding either
   * way; a 1×1 kernel's blocks are stacked after the sampling, on the sampled rows only.
   */
  private statisticsRows(x: Tensor, blocks = 1): Tensor {
    const [n, c] = x.shape;
    const s = this.samplingStride * this.stride;
    const d = (c * this.kernelSize * this.kernelSize) / blocks;
    if (this.kernelSize > 1) {
      const cols = unfold(x, this.kernelSize, { dilation: this.dilation, padding: this.padding, stride: s });
      const L = cols.shape[2];
      return cols
        .reshape([n, d, blocks, L])
        .permute(0, 3, 2, 1)
        .reshape([n * L * blocks, d]);
    }
    // The official code subsamples the flat pixel list, not the output grid.
    const rows = everyNthRow(x.permute(0, 2, 3, 1).reshape([-1, c]), s * s);
    if (blocks === 1) return rows;
    return rows
      .reshape([rows.shape[0], d, blocks])
      .permute(0, 2, 1)
      .reshape([rows.shape[0] * blocks, d]);
  }

  /** Batch statistics: the mean μ and the whitening matrix D = Cov^(−1/2) (per group when grouped). */
  private batchStatistics(x: Tensor): { mean: Tensor; deconv: Tensor } {
    const d = this.numFeatures;
    if (this.groups === 1) {
      const blocks = this.statisticsRows(x, this.inChannels / this.block);
      const mean = blocks.mean(0);
      return { mean, deconv: whitenRows(this, blocks.sub(mean), this.eps, this.nIter) };
    }
    const X = this.statisticsRows(x);
    const rows = X.shape[0];
    const mean = X.mean(0);
    const perGroup = X.sub(mean).reshape([rows, this.groups, d]).permute(1, 0, 2);
    return { mean, deconv: whitenRows(this, perGroup, this.eps, this.nIter) };
  }

  /** The whitening folded into the convolution: W' = W·D and b' = b − W'·μ, in conv layout. */
  foldedWeights(mean: Tensor, deconv: Tensor): { weight: Tensor; bias: Tensor } {
    const cout = this.outChannels;
    const d = this.numFeatures;
    const k = this.kernelSize;
    const bias = this.bias ?? zeros([cout], { dtype: this.weight.dtype });
    if (this.groups === 1) {
      const G = this.inChannels / this.block;
      const w = this.weight
        .reshape([cout, d, G])
        .permute(0, 2, 1)
        .reshape([cout * G, d])
        .matmul(deconv);
      const shift = w
        .matmul(mean.reshape([d, 1]))
        .reshape([cout, G])
        .sum(1);
      return {
        weight: w.reshape([cout, G, d]).permute(0, 2, 1).reshape([cout, this.inChannels, k, k]),
        bias: bias.sub(shift),
      };
    }
    const w = this.weight.reshape([this.groups, cout / this.groups, d]).matmul(deconv);
    const shift = w.matmul(mean.reshape([this.groups, d, 1])).reshape([cout]);
    return { weight: w.reshape([cout, this.block, k, k]), bias: bias.sub(shift) };
  }

  forward(x: Tensor): Tensor {
    if (x.ndim !== 4 || x.shape[1] !== this.inChannels) {
      throw new Error(
        `FastDeconv2d(${this.inChannels}, ${this.outChannels}): expected input (N, ${this.inChannels}, H, W), got ${fmtShape(x.shape)}`,
      );
    }
    const frozen = this.freeze && this.counter > this.freezeIter;
    if (this.training) this.counter = (this.counter + 1) % (10 * this.freezeIter);
    const running = { mean: this.running_mean, deconv: this.running_deconv };
    const { mean, deconv } = batchOrRunning(
      this.training && !frozen,
      () => this.batchStatistics(x),
      running,
      this.momentum,
    );
    const { weight, bias } = this.foldedWeights(mean, deconv);
    return conv2d(x, weight, bias, {
      stride: this.stride,
      padding: this.padding,
      dilation: this.dilation,
      groups: this.groups,
    });
  }

  extraRepr(): string {
    const parts = [`${this.inChannels}, ${this.outChannels}, kernel_size=${this.kernelSize}, stride=${this.stride}`];
    if (this.padding) parts.push(`padding=${this.padding}`);
    if (this.dilation !== 1) parts.push(`dilation=${this.dilation}`);
    if (this.groups !== 1) parts.push(`groups=${this.groups}`);
    if (!this.bias) parts.push('bias=False');
    parts.push(
      `block=${this.block}, n_iter=${this.nIter}, eps=${this.eps}, momentum=${this.momentum}, sampling_stride=${this.samplingStride}`,
    );
    if (this.freeze) parts.push(`freeze=True, freeze_iter=${this.freezeIter}`);
    return parts.join(', ');
  }
}
