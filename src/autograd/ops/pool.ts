// Pooling. Max pooling routes each output's gradient to the input cell that won its window. fusedReluMaxPool2d is
// maxPool2d(relu(x)) as one op (the fused kernels read x through the ReLU, which makes no passes of its own); the
// model rewrite nn.utils.fuse puts it where a ReLU feeds a MaxPool2d.
import { activeBackend } from '../../backend/registry.js';
import { type Pair, pool2dInfo, type Pool2dOptions } from '../../backend/shape_info.js';
import { record } from '../engine.js';
import { fromStorage, type Tensor } from '../tensor.js';
import { expectRank } from './util.js';

export interface MaxPoolResult {
  values: Tensor;
  /** PyTorch's `return_indices`: for each output, h·W + w of its maximum in the unpadded input plane. */
  indices: Int32Array;
}

/**
 * Max pooling with −∞ padding, and with `withIndices` the flat positions in x of each window's maximum. The
 * backward pass finds the maxima again in x rather than keeping positions from the forward pass.
 */
function maxPoolOp(
  x: Tensor,
  kernelSize: Pair,
  opts: Omit<Pool2dOptions, 'countIncludePad'>,
  withIndices: boolean,
  fusedRelu = false,
) {
  expectRank('maxPool2d', 'input', x, 4, '(N, C, H, W)');
  const info = pool2dInfo('maxPool2d', x.shape, kernelSize, opts);
  const be = activeBackend();
  const { values, indices } = withIndices
    ? be.maxPool2dWithArgmax(x.storageOn(be), info, x.dtype)
    : {
        values: (fusedRelu ? be.fusedReluMaxPool2d : be.maxPool2d)(x.storageOn(be), info, x.dtype),
        indices: null,
      };
  const shape = [info.batch, info.channels, info.outHeight, info.outWidth];
  const name = fusedRelu ? 'fusedReluMaxPool2d' : 'maxPool2d';
  const out = record(fromStorage(values, shape, x.dtype), name, [x], (g) => {
    const b = activeBackend();
    const backward = fusedRelu ? b.fusedReluMaxPool2dBackward : b.maxPool2dBackward;
    return [fromStorage(backward(g.storageOn(b), x.storageOn(b), info, x.dtype), x.shape, x.dtype)];
  });
  return { out, indices, plane: info.inHeight * info.inWidth };
}

/** Max pooling, returning the argmax positions too. */
export function maxPool2dWithIndices(
  x: Tensor,
  kernelSize: Pair,
  opts: Omit<Pool2dOptions, 'countIncludePad'> = {},
): MaxPoolResult {
  const { out, indices, plane } = maxPoolOp(x, kernelSize, opts, true);
  return { values: out, indices: indices!.map((i) => i % plane) };
}

/** Max pooling (stride defaults to the kernel size). */
export function maxPool2d(x: Tensor, kernelSize: Pair, opts: Omit<Pool2dOptions, 'countIncludePad'> = {}): Tensor {
  return maxPoolOp(x, kernelSize, opts, false).out;
}

/** maxPool2d(relu(x)) as one op: the same values and gradients, without the ReLU's passes over x. */
export function fusedReluMaxPool2d(
  x: Tensor,
  kernelSize: Pair,
  opts: Omit<Pool2dOptions, 'countIncludePad'> = {},
): Tensor {
  return maxPoolOp(x, kernelSize, opts, false, true).out;
}

/** Average pooling; divides by kh·kw unless `countIncludePad` is false. */
export function avgPool2d(x: Tensor, kernelSize: Pair, opts: Pool2dOptions = {}): Tensor {
  expectRank('avgPool2d', 'input', x, 4, '(N, C, H, W)');
  const info = pool2dInfo('avgPool2d', x.shape, kernelSize, opts);
  const be = activeBackend();
  const shape = [info.batch, info.channels, info.outHeight, info.outWidth];
  return record(fromStorage(be.avgPool2d(x.storageOn(be), info, x.dtype), shape, x.dtype), 'avgPool2d', [x], (g) => {
    const b = activeBackend();
    return [fromStorage(b.avgPool2dBackward(g.storageOn(b), info, x.dtype), x.shape, x.dtype)];
  });
}

/** Mean over H and W: (N, C, H, W) → (N, C). */
export function globalAvgPool2d(x: Tensor): Tensor {
  expectRank('globalAvgPool2d', 'input', x, 4, '(N, C, H, W)');
  return x.mean([2, 3]);
}
