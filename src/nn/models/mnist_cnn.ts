import { Sequential } from '../layers/container.js';
import { Conv2d } from '../layers/conv.js';
import { BatchNorm2d } from '../layers/batchnorm.js';
import { ReLU } from '../layers/activation.js';
import { MaxPool2d } from '../layers/pooling.js';
import { Flatten } from '../layers/container.js';
import { Linear } from '../layers/linear.js';
import { convertToDeconv } from '../utils.js';

/** Options of `mnistCnn`. */
export interface MnistCnnOptions {
  /** Input channels (1 for MNIST). */
  inChannels?: number;
  /** Image height and width. */
  size?: number;
  /** Channels of the two conv blocks. */
  width?: [number, number];
  numClasses?: number;
  /** The deconvolution twin: FastDeconv2d instead of Conv2d+BatchNorm2d, Delinear instead of Linear. */
  deconv?: boolean;
}

/**
 * A small CNN for 28×28 digits: two conv–BN–ReLU–maxpool blocks and a linear classifier
 * (about 8k parameters; 97–98 % on the embedded MNIST digits after a few epochs).
 */
export function mnistCnn(opts: MnistCnnOptions = {}): Sequential {
  const inC = opts.inChannels ?? 1;
  const [c1, c2] = opts.width ?? [8, 16];
  const size = opts.size ?? 28;
  const after = Math.floor(Math.floor(size / 2) / 2);
  const model = new Sequential(
    new Conv2d(inC, c1, 3, { padding: 1, bias: false }),
    new BatchNorm2d(c1),
    new ReLU(),
    new MaxPool2d(2),
    new Conv2d(c1, c2, 3, { padding: 1, bias: false }),
    new BatchNorm2d(c2),
    new ReLU(),
    new MaxPool2d(2),
    new Flatten(),
    new Linear(c2 * after * after, opts.numClasses ?? 10),
  );
  return opts.deconv ? convertToDeconv(model) : model;
}
