// The CLI's `--model` names → networks sized for the data: input channels, outputs (classes or regression
// targets) and image size come from the dataset; `--deconv` makes the deconvolution twin with the given options.
import { mnistCnn } from '../nn/models/mnist_cnn.js';
import { loadPretrained } from '../io/checkpoint.js';
import { type ResNetOptions, resnet18, xresnet18 } from '../nn/models/resnet.js';
import { type VGG_CONFIGS, vgg } from '../nn/models/vgg.js';
import type { Module } from '../nn/module.js';
import { type ConvertOptions, convertToDeconv } from '../nn/utils.js';

/** The model names `buildModel` knows. */
export const MODEL_NAMES = ['mnist-cnn', 'vgg11', 'vgg13', 'vgg16', 'resnet18', 'xresnet18'] as const;
/** One of MODEL_NAMES. */
export type ModelName = (typeof MODEL_NAMES)[number];

/** What `buildModel` makes. */
export interface ModelSpec {
  name: ModelName;
  /** (C, H, W) of one input image. */
  imageShape: readonly [number, number, number];
  /** Classes, or regression targets. */
  outputs: number;
  /** Width multiplier of the CIFAR-style models (1 = the paper's widths). */
  width?: number;
  /** The full deconvolution twin (every Conv2d+BN → FastDeconv2d, the classifier → Delinear). */
  deconv?: boolean;
  /** xresnet18 only: FastDeconv2d stem, BatchNorm residual blocks. */
  deconvStem?: boolean;
  /** Options of every FastDeconv2d (block, nIter, samplingStride, freezeIter). */
  deconvOptions?: ConvertOptions['deconv'];
  /** resnet18 only: 'cifar' (default) or torchvision's 'imagenet' stem (7×7 stride 2 and a max pool). */
  stem?: ResNetOptions['stem'];
  /**
   * Weights of the BatchNorm network to start from (a torch.save state dict or safetensors), loaded before the
   * deconvolution conversion; a classifier of another size stays freshly initialised.
   */
  pretrained?: { bytes: Uint8Array; source: string };
}

/** The smallest side each model accepts: the VGGs halve the image five times, the ResNets four or five. */
const MIN_SIDE: Record<ModelName, number> = {
  'mnist-cnn': 4,
  vgg11: 32,
  vgg13: 32,
  vgg16: 32,
  resnet18: 8,
  xresnet18: 32,
};

/** Builds a named model for images of `imageShape` with `outputs` outputs. */
export function buildModel(spec: ModelSpec): Module {
  const [c, h, w] = spec.imageShape;
  const min = spec.stem === 'imagenet' ? 32 : MIN_SIDE[spec.name];
  if (spec.stem && spec.name !== 'resnet18')
    throw new Error(`--stem: only resnet18 has a choice of stem, not ${spec.name}`);
  if (h < min || w < min)
    throw new Error(`--model ${spec.name}: images of ${h}×${w} are too small (it needs at least ${min}×${min})`);
  if (spec.deconvStem && spec.name !== 'xresnet18')
    throw new Error(`--deconv-stem: only xresnet18 has the deconvolution-stem variant, not ${spec.name}`);
  if (spec.deconvStem && spec.deconv) throw new Error('--deconv-stem and --deconv: choose one');
  const base = { inChannels: c, numClasses: spec.outputs, widthMultiplier: spec.width ?? 1 };
  let model: Module;
  if (spec.name === 'mnist-cnn') {
    if (h !== w) throw new Error(`--model mnist-cnn: needs square images, got ${h}×${w}`);
    model = mnistCnn({ inChannels: c, size: h, numClasses: spec.outputs });
  } else if (spec.name === 'resnet18') model = resnet18({ ...base, stem: spec.stem });
  else if (spec.name === 'xresnet18')
    model = xresnet18({ ...base, deconvStem: spec.deconvStem, deconvOptions: spec.deconvOptions });
  else model = vgg(spec.name as keyof typeof VGG_CONFIGS, base);
  if (spec.pretrained) loadPretrained(model, spec.pretrained.bytes, { source: spec.pretrained.source });
  return spec.deconv ? convertToDeconv(model, { deconv: spec.deconvOptions }) : model;
}
