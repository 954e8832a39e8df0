// nn.functional: the stateless ops, under PyTorch's names (camelCase).
export { conv2d, unfold } from '../autograd/ops/conv.js';
export { linear } from '../autograd/ops/matmul.js';
// reluMaxPool2d: maxPool2d(relu(x)) as one op (no PyTorch name; Sequential uses it for ReLU → MaxPool2d).
export { maxPool2d, maxPool2dWithIndices, reluMaxPool2d, avgPool2d, globalAvgPool2d } from '../autograd/ops/pool.js';
export { softmax, logSoftmax } from '../autograd/ops/softmax.js';
export { crossEntropy, mseLoss } from '../autograd/ops/losses.js';
export { relu, sigmoid, tanh } from '../autograd/ops/elementwise.js';
export { pad } from '../autograd/ops/movement.js';
export { dropout } from './layers/dropout.js';
