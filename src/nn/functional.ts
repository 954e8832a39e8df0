// nn.functional: the stateless ops, under PyTorch's names (camelCase).
export { conv2d, unfold } from '../autograd/ops/conv.js';
export { linear } from '../autograd/ops/matmul.js';
export { maxPool2d, maxPool2dWithIndices, avgPool2d, globalAvgPool2d } from '../autograd/ops/pool.js';
export { softmax, logSoftmax } from '../autograd/ops/softmax.js';
export { crossEntropy, mseLoss } from '../autograd/ops/losses.js';
export { relu, sigmoid, tanh } from '../autograd/ops/elementwise.js';
export { pad } from '../autograd/ops/movement.js';
export { dropout } from './layers/dropout.js';
