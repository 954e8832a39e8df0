// ChannelDeconv: channel-only network deconvolution with no parameters (the official `ChannelDeconv`), used in
// front of a classifier. The first ⌊C/B⌋·B channels are whitened with one shared B×B matrix; the leftover channels
// are standardised with one scalar mean and variance. Official quirks kept: the covariance comes from the
// *uncentred* subsample, and the first training batch seeds the running statistics.
import { concat } from '../../autograd/ops/movement.js';
import { eye, ones, type Tensor, zeros } from '../../autograd/tensor.js';
import { fmtShape } from '../../backend/shape_info.js';
import { Module } from '../module.js';
import { checkDeconvOptions, copyInto, everyNthColumn, updateRunning, whiten } from './stats.js';

/** Options of `ChannelDeconv` (the official defaults when omitted). */
export interface ChannelDeconvOptions {
  eps?: number;
  nIter?: number;
  momentum?: number;
  samplingStride?: number;
}

/** Channel-only network deconvolution with no parameters (the official `ChannelDeconv`), for the input of a classifier. */
export class ChannelDeconv extends Module {
  declare running_mean1: Tensor;
  declare running_deconv: Tensor;
  declare running_mean2: Tensor;
  declare running_var: Tensor;
  declare num_batches_tracked: Tensor;
  readonly eps: number;
  readonly nIter: number;
  readonly momentum: number;
  readonly samplingStride: number;

  constructor(
    readonly block: number,
    opts: ChannelDeconvOptions = {},
  ) {
    super();
    this.eps = opts.eps ?? 1e-2;
    this.nIter = opts.nIter ?? 5;
    this.momentum = opts.momentum ?? 0.1;
    this.samplingStride = opts.samplingStride ?? 3;
    checkDeconvOptions('ChannelDeconv', { eps: this.eps, nIter: this.nIter, momentum: this.momentum, block });
    if (!(Number.isInteger(this.samplingStride) && this.samplingStride >= 1))
      throw new Error(`ChannelDeconv: samplingStride must be a positive integer, got ${this.samplingStride}`);
    this.registerBuffer('running_mean1', zeros([block, 1]));
    this.registerBuffer('running_deconv', eye(block));
    this.registerBuffer('running_mean2', zeros([1, 1]));
    this.registerBuffer('running_var', ones([1, 1]));
    this.registerBuffer('num_batches_tracked', zeros([]));
  }

  /** Running statistics: copied from the first batch, then averaged; in eval, used as constants. */
  private track(buffer: Tensor, batch: Tensor | null, first: boolean): Tensor {
    if (!this.training || !batch) return buffer.detach();
    if (first) copyInto(buffer, batch);
    updateRunning(buffer, batch, this.momentum);
    return batch;
  }

  forward(input: Tensor): Tensor {
    if (input.ndim !== 2 && input.ndim !== 4)
      throw new Error(`ChannelDeconv: expected (N, C) or (N, C, H, W), got ${fmtShape(input.shape)}`);
    const x = input.ndim === 2 ? input.reshape([input.shape[0], input.shape[1], 1, 1]) : input;
    const [N, C, H, W] = x.shape;
    const B = this.block;
    const c = Math.floor(C / B) * B;
    if (c === 0) throw new Error(`ChannelDeconv: block ${B} is larger than the ${C} input channels`);
    const first = this.num_batches_tracked.item() === 0;
    if (!this.training && first)
      throw new Error('ChannelDeconv: eval before any training batch — the running statistics are not set yet');
    const s = this.samplingStride;
    const subsample = s > 1 && H >= s && W >= s;

    // Whitened channels, laid out as (B, c/B·N·H·W): row r holds channels r·c/B … (r+1)·c/B − 1.
    const x1 = (c === C ? x : x.slice(1, 0, c)).permute(1, 0, 2, 3).reshape([B, -1]);
    const sample = subsample ? everyNthColumn(x1, s * s) : x1;
    const mean1 = this.track(this.running_mean1, this.training ? sample.mean(-1, { keepdim: true }) : null, first);
    let deconv: Tensor | null = null;
    if (this.training) {
      const cov = sample
        .matmul(sample.T)
        .div(sample.shape[1])
        .add(eye(B, { dtype: x.dtype }).mul(this.eps));
      deconv = whiten(this, cov, this.nIter);
    }
    const D = this.track(this.running_deconv, deconv, first);
    let y = D.matmul(x1.sub(mean1)).reshape([c, N, H, W]).permute(1, 0, 2, 3);

    if (c !== C) {
      // Leftover channels: one scalar mean and unbiased variance over the (subsampled) flattened values.
      const rest = x.slice(1, c);
      const flat = rest.reshape([N, -1]);
      const restSample = subsample ? everyNthColumn(flat, s * s) : flat;
      const mean2 = this.track(this.running_mean2, this.training ? restSample.mean().reshape([1, 1]) : null, first);
      const var2 = this.track(this.running_var, this.training ? restSample.var().reshape([1, 1]) : null, first);
      const norm = rest.sub(mean2.reshape([])).div(var2.reshape([]).add(this.eps).sqrt());
      y = concat([y, norm], 1);
    }
    if (this.training) this.num_batches_tracked.data[0] += 1;
    return input.ndim === 2 ? y.reshape(input.shape) : y;
  }

  extraRepr(): string {
    return `block=${this.block}, eps=${this.eps}, n_iter=${this.nIter}, momentum=${this.momentum}, sampling_stride=${this.samplingStride}`;
  }
}
