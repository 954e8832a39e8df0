// netdeconv: network-deconvolution CNNs, autograd and PyTorch-shaped nn for any JavaScript runtime.
import { initDefaultBackend } from './backend/index.js';

// The default backend is ready as soon as the import resolves: wasm where WebAssembly SIMD runs, else 'js'.
await initDefaultBackend();

export {
  Tensor,
  tensor,
  zeros,
  ones,
  full,
  randn,
  rand,
  eye,
  arange,
  type TensorOptions,
  type Dims,
} from './autograd/tensor.js';
export { noGrad, isGradEnabled } from './autograd/engine.js';
export { scoped } from './autograd/scope.js';
export {
  add,
  sub,
  mul,
  div,
  pow,
  maximum,
  minimum,
  neg,
  exp,
  log,
  sqrt,
  abs,
  relu,
  sigmoid,
  tanh,
  clamp,
  where,
  greater,
  equal,
} from './autograd/ops/elementwise.js';
export { sum, mean, max, variance, argmax } from './autograd/ops/reduce.js';
export {
  reshape,
  permute,
  transpose,
  flatten,
  unsqueeze,
  squeeze,
  expand,
  narrow,
  select,
  concat,
  stack,
  pad,
} from './autograd/ops/movement.js';
export { matmul } from './autograd/ops/matmul.js';
export { gradcheck, type GradcheckOptions, type GradcheckResult } from './autograd/gradcheck.js';
export {
  setBackend,
  getBackend,
  listBackends,
  setNumThreads,
  getNumThreads,
  memoryInfo,
  setMemoryBudget,
  KERNEL_NAMES,
  type MemoryInfo,
  type Backend,
  type KernelName,
  type DType,
} from './backend/index.js';
export { Generator, manualSeed, defaultGenerator } from './random.js';
/** Layers, models, losses and network deconvolution (PyTorch's `torch.nn`). */
export * as nn from './nn/index.js';
/** Optimizers, learning-rate schedules and the LR finder (`torch.optim`). */
export * as optim from './optim/index.js';
/** Image datasets and their file formats. */
export * as data from './data/index.js';
/** Linear algebra: the Newton–Schulz inverse square root. */
export * as linalg from './linalg/index.js';
/** safetensors, training checkpoints and ONNX export. */
export * as io from './io/index.js';
export {
  fit,
  evaluate,
  DEFAULT_TRAIN_CONFIG,
  type TrainConfig,
  type TrainResult,
  type StepInfo,
  type EvalResult,
} from './train/trainer.js';
