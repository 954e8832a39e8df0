export {
  ImageSet,
  ImageDataset,
  RegressionDataset,
  type Batch,
  type BatchOptions,
  type Split,
} from './dataset.js';
export { parseIdx, idxDataset, type IdxArray } from './idx.js';
export { cifar10Dataset, CIFAR10_CLASSES } from './cifar.js';
export { mnistFromDigits } from './mnist.js';
export { parseNpy, parseNpz, type NpyArray } from './npy.js';
export { arrayDataset, arrayRegressionDataset, type ArrayDatasetOptions, type ShapedArray } from './arrays.js';
export { decodeImage, type DecodedImage } from './image_decode.js';
