// Convolution and unfold (im2col). Forward (with the bias) and both backward passes are kernels; the bias's gradient
// is a sum of dy over images and pixels.
import type { Im2colInfo } from '../../backend/backend.js';
import { activeBackend } from '../../backend/registry.js';
import { conv2dInfo, type Conv2dOptions, fmtShape, pair, type Pair } from '../../backend/shape_info.js';
import { record } from '../engine.js';
import { fromStorage, type Tensor } from '../tensor.js';
import { expectRank } from './util.js';

/** 2-D cross-correlation (PyTorch's F.conv2d): x (N, C, H, W), w (Cout, C/groups, kh, kw), optional bias (Cout). */
export function conv2d(x: Tensor, w: Tensor, bias?: Tensor | null, opts: Conv2dOptions = {}): Tensor {
  const info = conv2dInfo('conv2d', x.shape, w.shape, opts);
  if (x.dtype !== w.dtype) throw new Error(`conv2d: dtypes differ (input ${x.dtype}, weight ${w.dtype})`);
  if (bias && (bias.ndim !== 1 || bias.shape[0] !== info.outChannels)) {
    throw new Error(`conv2d: bias must have shape (${info.outChannels}), got ${fmtShape(bias.shape)}`);
  }
  if (bias && bias.dtype !== x.dtype) throw new Error(`conv2d: dtypes differ (input ${x.dtype}, bias ${bias.dtype})`);
  const be = activeBackend();
  const yShape = [info.batch, info.outChannels, info.outHeight, info.outWidth];
  const y = fromStorage(
    be.conv2d(x.storageOn(be), w.storageOn(be), bias ? bias.storageOn(be) : null, info, x.dtype),
    yShape,
    x.dtype,
  );
  return record(y, 'conv2d', bias ? [x, w, bias] : [x, w], (g) => {
    const b = activeBackend();
    return [
      x.requiresGrad
        ? fromStorage(b.conv2dBackwardInput(g.storageOn(b), w.storageOn(b), info, x.dtype), x.shape, x.dtype)
        : null,
      w.requiresGrad
        ? fromStorage(b.conv2dBackwardFilter(x.storageOn(b), g.storageOn(b), info, x.dtype), w.shape, x.dtype)
        : null,
      bias?.requiresGrad ? g.sum([0, 2, 3]) : null,
    ];
  });
}

export interface UnfoldOptions {
  dilation?: Pair;
  padding?: Pair;
  stride?: Pair;
}

/** The im2col geometry of a call to unfold. */
export function im2colInfo(
  op: string,
  xShape: readonly number[],
  kernelSize: Pair,
  opts: UnfoldOptions = {},
): Im2colInfo {
  const [kh, kw] = pair(kernelSize);
  // A conv with one output channel and no groups has exactly unfold's geometry and validation.
  const { outChannels: _o, groups: _g, ...info } = conv2dInfo(op, xShape, [1, xShape[1] ?? 0, kh, kw], opts);
  return info;
}

/** F.unfold: (N, C, H, W) → (N, C·kh·kw, L) with row index c·kh·kw + ky·kw + kx and L = Ho·Wo. Differentiable. */
export function unfold(x: Tensor, kernelSize: Pair, opts: UnfoldOptions = {}): Tensor {
  expectRank('unfold', 'input', x, 4, '(N, C, H, W)');
  const info = im2colInfo('unfold', x.shape, kernelSize, opts);
  const be = activeBackend();
  const shape = [info.batch, info.inChannels * info.kernelH * info.kernelW, info.outHeight * info.outWidth];
  const out = fromStorage(be.im2col(x.storageOn(be), info, x.dtype), shape, x.dtype);
  return record(out, 'unfold', [x], (g) => {
    const b = activeBackend();
    return [fromStorage(b.col2im(g.storageOn(b), info, x.dtype), x.shape, x.dtype)];
  });
}
