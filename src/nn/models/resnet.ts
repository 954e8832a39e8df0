import type { Tensor } from '../../autograd/tensor.js';
import { ReLU } from '../layers/activation.js';
import { BatchNorm2d } from '../layers/batchnorm.js';
import { Sequential } from '../layers/container.js';
import { Conv2d } from '../layers/conv.js';
import { Linear } from '../layers/linear.js';
import { AvgPool2d, GlobalAvgPool2d, MaxPool2d } from '../layers/pooling.js';
import { Module } from '../module.js';
import { FastDeconv2d, type FastDeconv2dOptions } from '../deconv/fast_deconv.js';
import type { ModelOptions } from './vgg.js';

/**
 * The ResNet basic block: two conv3×3–BN with a residual connection, through `downsample` (1×1 conv–BN) when the
 * shape changes. Its names are torchvision's, so its weights load from PyTorch checkpoints.
 */
export class BasicBlock extends Module {
  declare conv1: Module;
  declare bn1: Module;
  /** The activation after bn1 (the one after the sum is applied in forward, as torchvision reuses its `relu`). */
  declare relu: Module;
  declare conv2: Module;
  declare bn2: Module;
  /** The shortcut's 1×1 conv–BN; absent when the block keeps the shape (the shortcut is then x itself). */
  declare downsample?: Module;

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
    this.registerModule('relu', new ReLU());
    this.registerModule('conv2', new Conv2d(planes, planes, 3, { padding: 1, bias: false }));
    const bn2 = new BatchNorm2d(planes);
    if (opts.zeroInitLastBn) bn2.weight!.data.fill(0); // each block starts as the identity
    this.registerModule('bn2', bn2);
    if (stride === 1 && inPlanes === planes) return;
    if (opts.avgDown) {
      const pool = stride > 1 ? [new AvgPool2d(stride)] : [];
      this.registerModule(
        'downsample',
        new Sequential(...pool, new Conv2d(inPlanes, planes, 1, { bias: false }), new BatchNorm2d(planes)),
      );
    } else {
      this.registerModule(
        'downsample',
        new Sequential(new Conv2d(inPlanes, planes, 1, { stride, bias: false }), new BatchNorm2d(planes)),
      );
    }
  }

  forward(x: Tensor): Tensor {
    const h = this.relu.forward(this.bn1.forward(this.conv1.forward(x)));
    const shortcut = this.downsample ? this.downsample.forward(x) : x;
    return this.bn2.forward(this.conv2.forward(h)).add(shortcut).relu();
  }
}

/** The four stages of two basic blocks each, as `layer1` … `layer4`. */
function stages(
  inPlanes: number,
  widths: number[],
  opts: { avgDown?: boolean; zeroInitLastBn?: boolean },
): Record<string, Module> {
  const out: Record<string, Module> = {};
  let c = inPlanes;
  widths.forEach((w, i) => {
    const stride = i > 0 ? 2 : 1;
    out[`layer${i + 1}`] = new Sequential(new BasicBlock(c, w, stride, opts), new BasicBlock(w, w, 1, opts));
    c = w;
  });
  return out;
}

function widthsOf(opts: ModelOptions): number[] {
  const mult = opts.widthMultiplier ?? 1;
  return [64, 128, 256, 512].map((w) => Math.max(1, Math.round(w * mult)));
}

/** Options of `resnet18`. */
export interface ResNetOptions extends ModelOptions {
  /**
   * 'cifar' (the default, the paper's CIFAR network): a 3×3 stem of stride 1 and no max pool, for small images.
   * 'imagenet': torchvision's 7×7 stride-2 stem and 3×3 max pool, so torchvision's `resnet18` weights load as they are.
   */
  stem?: 'cifar' | 'imagenet';
}

/**
 * ResNet-18: a stem, four stages of two basic blocks, global average pool, linear. Its layers carry torchvision's
 * names (`conv1`, `bn1`, `layer1.0.conv1`, `layer2.0.downsample.0`, `fc`, …), so with `stem: 'imagenet'` a
 * torchvision state dict loads into it (`io.load`, `loadModelFile`), ready for `convertToDeconv` and fine-tuning.
 */
export function resnet18(opts: ResNetOptions = {}): Sequential {
  const w = widthsOf(opts);
  const stem = opts.stem ?? 'cifar';
  if (stem !== 'cifar' && stem !== 'imagenet')
    throw new Error(`resnet18: stem must be 'cifar' or 'imagenet', got ${JSON.stringify(stem)}`);
  const imagenet = stem === 'imagenet';
  const conv1 = imagenet
    ? new Conv2d(opts.inChannels ?? 3, w[0], 7, { stride: 2, padding: 3, bias: false })
    : new Conv2d(opts.inChannels ?? 3, w[0], 3, { padding: 1, bias: false });
  return new Sequential({
    conv1,
    bn1: new BatchNorm2d(w[0]),
    relu: new ReLU(),
    ...(imagenet ? { maxpool: new MaxPool2d(3, { stride: 2, padding: 1 }) } : {}),
    ...stages(w[0], w, {}),
    avgpool: new GlobalAvgPool2d(),
    fc: new Linear(w[3], opts.numClasses ?? 10),
  });
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
    ...Object.values(stages(c, w, { avgDown: true, zeroInitLastBn: true })),
    new GlobalAvgPool2d(),
    new Linear(w[3], opts.numClasses ?? 10),
  );
}
