// nn: PyTorch-shaped layers, functional ops, initialisation and models.
export { Module, type StateDict, type StateValue, type LoadResult } from './module.js';
export { Conv2d, type Conv2dOptions } from './layers/conv.js';
export { Linear } from './layers/linear.js';
export { BatchNorm2d, type BatchNorm2dOptions } from './layers/batchnorm.js';
export { ReLU, Sigmoid, Tanh, Identity } from './layers/activation.js';
export { MaxPool2d, AvgPool2d, GlobalAvgPool2d } from './layers/pooling.js';
export { Sequential, Flatten } from './layers/container.js';
export { BatchNormReLU2d, ReLUMaxPool2d } from './layers/fused.js';
export { Dropout } from './layers/dropout.js';
/** Stateless functions behind the layers (`torch.nn.functional`). */
export * as functional from './functional.js';
/** In-place initialisers (`torch.nn.init`). */
export * as init from './init.js';
export { mnistCnn, type MnistCnnOptions } from './models/mnist_cnn.js';
export {
  FastDeconv2d,
  ChannelDeconv,
  Delinear,
  effectiveBlock,
  type FastDeconv2dOptions,
  type ChannelDeconvOptions,
  type DelinearOptions,
} from './deconv/index.js';
/** Model rewrites: the deconvolution twin of a BatchNorm network, its folded inference model, fused layers. */
export * as utils from './utils.js';
export { vgg, VGG_CONFIGS, type ModelOptions } from './models/vgg.js';
export { resnet18, xresnet18, BasicBlock, type ResNetOptions, type XResNetOptions } from './models/resnet.js';
