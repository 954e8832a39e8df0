// Pooling reference kernels. Max pooling pads with −∞ (a padded cell never wins); average pooling divides by kh·kw,
// or by the in-bounds count when countIncludePad is false. The fused ReLU → max pooling is written as the two
// kernels composed: the wasm backend's one-pass version must give exactly these values and gradients.
import type { ValuesAndIndices } from '../backend.js';
import { allocArray, type DType, type FloatArray } from '../dtype.js';
import type { Pool2dInfo } from '../shape_info.js';
import { reluBackward, unary } from './elementwise.js';

/** Calls `visit(outIndex, planeOffset, y0, y1, x0, x1)` for every window, clipped to the input plane. */
function forEachWindow(
  info: Pool2dInfo,
  visit: (o: number, plane: number, y0: number, y1: number, x0: number, x1: number) => void,
): void {
  const { inHeight: H, inWidth: W, outHeight: Ho, outWidth: Wo } = info;
  let o = 0;
  for (let p = 0; p < info.batch * info.channels; p++) {
    for (let i = 0; i < Ho; i++) {
      const ys = i * info.strideH - info.padH;
      for (let j = 0; j < Wo; j++, o++) {
        const xs = j * info.strideW - info.padW;
        visit(
          o,
          p * H * W,
          Math.max(ys, 0),
          Math.min(ys + info.kernelH, H),
          Math.max(xs, 0),
          Math.min(xs + info.kernelW, W),
        );
      }
    }
  }
}

function outSize(info: Pool2dInfo): number {
  return info.batch * info.channels * info.outHeight * info.outWidth;
}

/** The flat index of the window's maximum: the first in row-major order; the first NaN wins outright (as reduceMax). */
function windowArgmax(x: FloatArray, W: number, plane: number, y0: number, y1: number, x0: number, x1: number): number {
  let best = -Infinity;
  let at = plane + y0 * W + x0;
  for (let y = y0; y < y1; y++) {
    for (let xx = x0; xx < x1; xx++) {
      const v = x[plane + y * W + xx];
      if (v !== v) return plane + y * W + xx;
      if (v > best) {
        best = v;
        at = plane + y * W + xx;
      }
    }
  }
  return at;
}

export function maxPool2dWithArgmax(x: FloatArray, info: Pool2dInfo, dtype: DType): ValuesAndIndices<FloatArray> {
  const values = allocArray(outSize(info), dtype);
  const indices = new Int32Array(values.length);
  forEachWindow(info, (o, plane, y0, y1, x0, x1) => {
    indices[o] = windowArgmax(x, info.inWidth, plane, y0, y1, x0, x1);
    values[o] = x[indices[o]];
  });
  return { values, indices };
}

export function maxPool2d(x: FloatArray, info: Pool2dInfo, dtype: DType): FloatArray {
  return maxPool2dWithArgmax(x, info, dtype).values;
}

export function maxPool2dBackward(dy: FloatArray, x: FloatArray, info: Pool2dInfo, dtype: DType): FloatArray {
  const dx = allocArray(info.batch * info.channels * info.inHeight * info.inWidth, dtype);
  forEachWindow(info, (o, plane, y0, y1, x0, x1) => {
    dx[windowArgmax(x, info.inWidth, plane, y0, y1, x0, x1)] += dy[o];
  });
  return dx;
}

export function fusedReluMaxPool2d(x: FloatArray, info: Pool2dInfo, dtype: DType): FloatArray {
  return maxPool2d(unary('relu', x, x.length, dtype), info, dtype);
}

export function fusedReluMaxPool2dBackward(dy: FloatArray, x: FloatArray, info: Pool2dInfo, dtype: DType): FloatArray {
  const dRelu = maxPool2dBackward(dy, unary('relu', x, x.length, dtype), info, dtype);
  return reluBackward(dRelu, x, x.length, dtype);
}

function divisor(info: Pool2dInfo, y0: number, y1: number, x0: number, x1: number): number {
  return info.countIncludePad ? info.kernelH * info.kernelW : (y1 - y0) * (x1 - x0);
}

export function avgPool2d(x: FloatArray, info: Pool2dInfo, dtype: DType): FloatArray {
  const out = allocArray(outSize(info), dtype);
  const W = info.inWidth;
  forEachWindow(info, (o, plane, y0, y1, x0, x1) => {
    let s = 0;
    for (let y = y0; y < y1; y++) for (let xx = x0; xx < x1; xx++) s += x[plane + y * W + xx];
    out[o] = s / divisor(info, y0, y1, x0, x1);
  });
  return out;
}

export function avgPool2dBackward(dy: FloatArray, info: Pool2dInfo, dtype: DType): FloatArray {
  const dx = allocArray(info.batch * info.channels * info.inHeight * info.inWidth, dtype);
  const W = info.inWidth;
  forEachWindow(info, (o, plane, y0, y1, x0, x1) => {
    const g = dy[o] / divisor(info, y0, y1, x0, x1);
    for (let y = y0; y < y1; y++) for (let xx = x0; xx < x1; xx++) dx[plane + y * W + xx] += g;
  });
  return dx;
}
