import { requireInt, requireIntPair } from '../checks.js';
import { conv2d } from '../../autograd/ops/conv.js';
import { type Tensor, zeros } from '../../autograd/tensor.js';
import { pair, type Pair } from '../../backend/shape_info.js';
import { defaultWeightAndBias_ } from '../init.js';
import { Module } from '../module.js';

/** Options of `Conv2d` (PyTorch's defaults when omitted). */
export interface Conv2dOptions {
  stride?: Pair;
  padding?: Pair;
  dilation?: Pair;
  groups?: number;
  /** Add a learnable bias (default true). */
  bias?: boolean;
}

/** 2-D convolution over NCHW input; weight (outChannels, inChannels/groups, kh, kw). */
export class Conv2d extends Module {
  declare weight: Tensor;
  declare bias: Tensor | null;
  readonly kernelSize: [number, number];
  readonly stride: [number, number];
  readonly padding: [number, number];
  readonly dilation: [number, number];
  readonly groups: number;

  constructor(
    readonly inChannels: number,
    readonly outChannels: number,
    kernelSize: Pair,
    opts: Conv2dOptions = {},
  ) {
    super();
    this.kernelSize = pair(kernelSize);
    this.stride = pair(opts.stride ?? 1);
    this.padding = pair(opts.padding ?? 0);
    this.dilation = pair(opts.dilation ?? 1);
    this.groups = opts.groups ?? 1;
    requireInt('Conv2d', 'in channels', inChannels, 1);
    requireInt('Conv2d', 'out channels', outChannels, 1);
    requireIntPair('Conv2d', 'kernel size', this.kernelSize, 1);
    requireIntPair('Conv2d', 'stride', this.stride, 1);
    requireIntPair('Conv2d', 'padding', this.padding, 0);
    requireIntPair('Conv2d', 'dilation', this.dilation, 1);
    requireInt('Conv2d', 'groups', this.groups, 1);
    if (inChannels % this.groups !== 0 || outChannels % this.groups !== 0) {
      throw new Error(
        `Conv2d: in channels ${inChannels} and out channels ${outChannels} must be divisible by groups ${this.groups}`,
      );
    }
    const [kh, kw] = this.kernelSize;
    this.registerParameter('weight', zeros([outChannels, inChannels / this.groups, kh, kw]));
    this.registerParameter('bias', (opts.bias ?? true) ? zeros([outChannels]) : null);
    this.resetParameters();
  }

  /** PyTorch's default: U(±1/√fan_in) for weight and bias. */
  resetParameters(): void {
    defaultWeightAndBias_(this.weight, this.bias);
  }

  forward(x: Tensor): Tensor {
    return conv2d(x, this.weight, this.bias, {
      stride: this.stride,
      padding: this.padding,
      dilation: this.dilation,
      groups: this.groups,
    });
  }

  extraRepr(): string {
    const parts = [
      `${this.inChannels}, ${this.outChannels}, kernel_size=(${this.kernelSize.join(', ')}), stride=(${this.stride.join(', ')})`,
    ];
    if (this.padding.some((p) => p !== 0)) parts.push(`padding=(${this.padding.join(', ')})`);
    if (this.dilation.some((d) => d !== 1)) parts.push(`dilation=(${this.dilation.join(', ')})`);
    if (this.groups !== 1) parts.push(`groups=${this.groups}`);
    if (!this.bias) parts.push('bias=False');
    return parts.join(', ');
  }
}
