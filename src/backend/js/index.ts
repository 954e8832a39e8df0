// The reference backend: plain TypeScript over typed arrays, written to be read. It is the oracle in the tests.
import type { Backend } from '../backend.js';
import { allocArray, type FloatArray } from '../dtype.js';
import { col2im, conv2d, conv2dBackwardFilter, conv2dBackwardInput, im2col } from './conv.js';
import { binary, clamp, reluBackward, unary, where } from './elementwise.js';
import { covariance, newtonSchulz, newtonSchulzBackward, newtonSchulzSymmetricBackward } from './linalg.js';
import { matmul } from './matmul.js';
import {
  batchNormApply,
  batchNormBackward,
  channelMoments,
  fusedBatchNormReluApply,
  fusedBatchNormReluBackward,
} from './normalization.js';
import { adamUpdate, sgdUpdate } from './optim.js';
import { logSoftmax, logSoftmaxBackward } from './softmax.js';
import { concat, expand, pad, permute, slice } from './movement.js';
import {
  avgPool2d,
  avgPool2dBackward,
  fusedReluMaxPool2d,
  fusedReluMaxPool2dBackward,
  maxPool2d,
  maxPool2dBackward,
  maxPool2dWithArgmax,
} from './pool.js';
import { reduceMax, reduceSum, scatterAdd } from './reduce.js';

/** A storage handle of the reference backend is the typed array itself. */
export function createJsBackend(): Backend<FloatArray> {
  return {
    name: 'js',
    dtypes: ['float32', 'float64'],
    alloc: allocArray,
    fromArray: (data) => data.slice(),
    view: (s) => s,
    wasmMemoryBytes: () => 0,
    unary,
    reluBackward,
    clamp,
    binary,
    where,
    reduceSum,
    reduceMax,
    scatterAdd,
    expand,
    permute,
    slice,
    pad,
    concat,
    matmul,
    conv2d,
    conv2dBackwardInput,
    conv2dBackwardFilter,
    im2col,
    col2im,
    maxPool2d,
    maxPool2dWithArgmax,
    maxPool2dBackward,
    fusedReluMaxPool2d,
    fusedReluMaxPool2dBackward,
    avgPool2d,
    avgPool2dBackward,
    channelMoments,
    batchNormApply,
    batchNormBackward,
    fusedBatchNormReluApply,
    fusedBatchNormReluBackward,
    sgdUpdate,
    adamUpdate,
    logSoftmax,
    logSoftmaxBackward,
    covariance,
    newtonSchulz,
    newtonSchulzBackward,
    newtonSchulzSymmetricBackward,
  };
}
