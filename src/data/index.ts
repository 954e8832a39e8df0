export { ImageDataset, type Batch, type BatchOptions } from './dataset.js';
export { parseIdx, idxDataset, type IdxArray } from './idx.js';
export { cifar10Dataset, CIFAR10_CLASSES } from './cifar.js';
export { mnistFromDigits } from './mnist.js';
