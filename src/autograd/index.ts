// The autograd core: tensors, the graph engine and the differentiable ops.
export { Tensor, tensor, zeros, ones, full, randn, rand, eye, arange, type TensorOptions, type Dims } from './tensor.js';
export { noGrad, isGradEnabled } from './engine.js';
export { add, sub, mul, div, pow, maximum, minimum, neg, exp, log, sqrt, abs, relu, sigmoid, tanh, clamp, where, greater, equal } from './ops/elementwise.js';
export { sum, mean, max, variance, argmax } from './ops/reduce.js';
export { reshape, permute, transpose, flatten, unsqueeze, squeeze, expand, narrow, select, concat, stack, pad } from './ops/movement.js';
export { matmul, linear } from './ops/matmul.js';
export { conv2d, unfold } from './ops/conv.js';
export { maxPool2d, maxPool2dWithIndices, avgPool2d, globalAvgPool2d } from './ops/pool.js';
export { softmax, logSoftmax } from './ops/softmax.js';
export { crossEntropy, mseLoss } from './ops/losses.js';
export { gradcheck } from './gradcheck.js';
