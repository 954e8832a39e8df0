import type { Tensor } from '../../autograd/tensor.js';
import { Identity, ReLU } from '../layers/activation.js';
import { BatchNorm2d, normThenRelu } from '../layers/batchnorm.js';
import { Sequential } from '../layers/container.js';
import { Conv2d } from '../layers/conv.js';
import { Linear } from '../layers/linear.js';
import { AvgPool2d, GlobalAvgPool2d, MaxPool2d } from '../layers/pooling.js';
import { Module } from '../module.js';
import { FastDeconv2d, type FastDeconv2dOptions } from '../deconv/fast_deconv.js';
import type { ModelOptions } from './vgg.js';

/** The ResNet basic block: two conv3×3–BN with a residual connection (1×1 conv–BN when the shape changes). */
export class BasicBlock extends Module {
  declare conv1: Module;
  declare bn1: Module;
  declare conv2: Module;
  declare bn2: Module;
  declare shortcut: Module;

  /** `avgDown`: downsample the shortcut with an average pool before the 1×1 conv (xresnet's "ResNet-D" path). */
  constructor(
    inPlanes: number,
    planes: number,
    stride = 1,
    opts: { avgDown?: boolean; zeroInitLastBn?: boolean } = {},
  ) {
    super();
    this.registerModule('conv1', new Conv2d(inPlanes, planes, 3, { stride, padding: 1, bias: false }));
    this.registerModule('bn1', new BatchNorm2d(planes));
    this.registerModule('conv2', new Conv2d(planes, planes, 3, { padding: 1, bias: false }));
    const bn2 = new BatchNorm2d(planes);
    if (opts.zeroInitLastBn) bn2.weight!.data.fill(0); // each block starts as the identity
    this.registerModule('bn2', bn2);
    if (stride === 1 && inPlanes === planes) this.registerModule('shortcut', new Identity());
    else if (opts.avgDown) {
      const pool = stride > 1 ? [new AvgPool2d(stride)] : [];
      this.registerModule(
        'shortcut',
        new Sequential(...pool, new Conv2d(inPlanes, planes, 1, { bias: false }), new BatchNorm2d(planes)),
      );
    } else {
      this.registerModule(
        'shortcut',
        new Sequential(new Conv2d(inPlanes, planes, 1, { stride, bias: false }), new BatchNorm2d(planes)),
      );
    }
  }

  forward(x: Tensor): Tensor {
    const h = normThenRelu(this.bn1, this.conv1.forward(x));
    return this.bn2.forward(this.conv2.forward(h)).add(this.shortcut.forward(x)).relu();
  }
}

function stages(
  inPlanes: number,
  widths: number[],
  blocks: number[],
  opts: { avgDown?: boolean; zeroInitLastBn?: boolean },
): Module[] {
  const out: Module[] = [];
  let c = inPlanes;
  widths.forEach((w, i) => {
    const layer: Module[] = [];
    for (let b = 0; b < blocks[i]; b++) {
      layer.push(new BasicBlock(c, w, b === 0 && i > 0 ? 2 : 1, opts));
      c = w;
    }
    out.push(new Sequential(...layer));
  });
  return out;
}

function widthsOf(opts: ModelOptions): number[] {
  const mult = opts.widthMultiplier ?? 1;
  return [64, 128, 256, 512].map((w) => Math.max(1, Math.round(w * mult)));
}

/** CIFAR-style ResNet-18: a 3×3 stem without max pool, four stages of two basic blocks, global average pool, linear. */
export function resnet18(opts: ModelOptions = {}): Sequential {
  const w = widthsOf(opts);
  return new Sequential(
    new Conv2d(opts.inChannels ?? 3, w[0], 3, { padding: 1, bias: false }),
    new BatchNorm2d(w[0]),
    new ReLU(),
    ...stages(w[0], w, [2, 2, 2, 2], {}),
    new GlobalAvgPool2d(),
    new Linear(w[3], opts.numClasses ?? 10),
  );
}

/** Options of `xresnet18`. */
export interface XResNetOptions extends ModelOptions {
  /**
   * Make the stem's three convolutions FastDeconv2d layers while the residual blocks keep BatchNorm — the
   * hybrid that users found trains best. (Convert later with nn.utils.convertToDeconv for a full deconv net.)
   */
  deconvStem?: boolean;
  /** Options of the stem's FastDeconv2d layers (block, nIter, samplingStride, …) when `deconvStem`. */
  deconvOptions?: Omit<FastDeconv2dOptions, 'stride' | 'padding' | 'dilation' | 'groups' | 'bias'>;
}

/**
 * xresnet18 (fastai's "bag of tricks" ResNet): a stem of three 3×3 convs (stride 2, 1, 1) and a max pool, average-pool
 * downsampling in the shortcuts, and each block's last BatchNorm initialised to zero.
 */
export function xresnet18(opts: XResNetOptions = {}): Sequential {
  const w = widthsOf(opts);
  const stemWidths = [32, 32, 64].map((v) => Math.max(1, Math.round(v * (opts.widthMultiplier ?? 1))));
  const stem: Module[] = [];
  let c = opts.inChannels ?? 3;
  stemWidths.forEach((sw, i) => {
    const stride = i === 0 ? 2 : 1;
    if (opts.deconvStem)
      stem.push(new FastDeconv2d(c, sw, 3, { ...opts.deconvOptions, stride, padding: 1 }), new ReLU());
    else stem.push(new Conv2d(c, sw, 3, { stride, padding: 1, bias: false }), new BatchNorm2d(sw), new ReLU());
    c = sw;
  });
  return new Sequential(
    ...stem,
    new MaxPool2d(3, { stride: 2, padding: 1 }),
    ...stages(c, w, [2, 2, 2, 2], { avgDown: true, zeroInitLastBn: true }),
    new GlobalAvgPool2d(),
    new Linear(w[3], opts.numClasses ?? 10),
  );
}
