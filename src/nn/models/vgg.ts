import { ReLU } from '../layers/activation.js';
import { BatchNorm2d } from '../layers/batchnorm.js';
import { Flatten, Sequential } from '../layers/container.js';
import { Conv2d } from '../layers/conv.js';
import { Linear } from '../layers/linear.js';
import { GlobalAvgPool2d, MaxPool2d } from '../layers/pooling.js';
import type { Module } from '../module.js';

/** Channel plans: numbers are 3×3 conv widths, 'M' a 2×2 max pool (the CIFAR VGGs of the official repository). */
export const VGG_CONFIGS = {
  vgg11: [64, 'M', 128, 'M', 256, 256, 'M', 512, 512, 'M', 512, 512, 'M'],
  vgg13: [64, 64, 'M', 128, 128, 'M', 256, 256, 'M', 512, 512, 'M', 512, 512, 'M'],
  vgg16: [64, 64, 'M', 128, 128, 'M', 256, 256, 256, 'M', 512, 512, 512, 'M', 512, 512, 512, 'M'],
} as const satisfies Record<string, readonly (number | 'M')[]>;

/** Options shared by the CIFAR-style models (`vgg`, `resnet18`). */
export interface ModelOptions {
  /** Input channels (3 for RGB; any number works). */
  inChannels?: number;
  /** Output units: classes for crossEntropy, or regression targets for mseLoss. */
  numClasses?: number;
  /** Multiplies every width (0.25 gives a quick CPU-sized network). */
  widthMultiplier?: number;
}

/**
 * CIFAR-style VGG with BatchNorm: conv3×3–BN–ReLU blocks and max pools, then global average pooling and a linear
 * classifier (so any input size ≥ 32 works). `nn.utils.convertToDeconv` gives its deconvolution twin.
 */
export function vgg(config: keyof typeof VGG_CONFIGS = 'vgg16', opts: ModelOptions = {}): Sequential {
  const layers: Module[] = [];
  let c = opts.inChannels ?? 3;
  const mult = opts.widthMultiplier ?? 1;
  for (const v of VGG_CONFIGS[config]) {
    if (v === 'M') {
      layers.push(new MaxPool2d(2));
      continue;
    }
    const w = Math.max(1, Math.round(v * mult));
    layers.push(new Conv2d(c, w, 3, { padding: 1, bias: false }), new BatchNorm2d(w), new ReLU());
    c = w;
  }
  layers.push(new GlobalAvgPool2d(), new Flatten(), new Linear(c, opts.numClasses ?? 10));
  return new Sequential(...layers);
}
