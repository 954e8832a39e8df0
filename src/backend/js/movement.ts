// Data-movement reference kernels: each is one strided copy between a source and a destination layout.
import { allocArray, type DType, type FloatArray } from '../dtype.js';
import { sizeOf, stridesOf } from '../shape_info.js';
import { broadcastStrides, forEachRun } from './indexing.js';

/** Copies the elements of `shape` from `src` (strides, start) to `dst` (strides, start). */
function copy(dst: FloatArray, dstStrides: readonly number[], dstStart: number, src: FloatArray, srcStrides: readonly number[], srcStart: number, shape: readonly number[]): void {
  forEachRun(shape, [dstStrides, srcStrides], ([o, i], n, [dd, ds]) => {
    for (let j = 0; j < n; j++) dst[o + j * dd] = src[i + j * ds];
  }, [dstStart, srcStart]);
}

export function expand(x: FloatArray, shape: readonly number[], outShape: readonly number[], dtype: DType): FloatArray {
  const out = allocArray(sizeOf(outShape), dtype);
  copy(out, stridesOf(outShape), 0, x, broadcastStrides(shape, outShape), 0, outShape);
  return out;
}

export function permute(x: FloatArray, shape: readonly number[], perm: readonly number[], dtype: DType): FloatArray {
  const outShape = perm.map((p) => shape[p]);
  const strides = stridesOf(shape);
  const out = allocArray(x.length, dtype);
  copy(out, stridesOf(outShape), 0, x, perm.map((p) => strides[p]), 0, outShape);
  return out;
}

export function slice(x: FloatArray, shape: readonly number[], begin: readonly number[], size: readonly number[], dtype: DType): FloatArray {
  const strides = stridesOf(shape);
  const out = allocArray(sizeOf(size), dtype);
  copy(out, stridesOf(size), 0, x, strides, begin.reduce((acc, b, i) => acc + b * strides[i], 0), size);
  return out;
}

export function pad(
  x: FloatArray, shape: readonly number[], before: readonly number[], after: readonly number[], value: number,
  dtype: DType,
): FloatArray {
  const outShape = shape.map((d, i) => d + before[i] + after[i]);
  const out = allocArray(sizeOf(outShape), dtype).fill(value);
  const outStrides = stridesOf(outShape);
  copy(out, outStrides, before.reduce((acc, b, i) => acc + b * outStrides[i], 0), x, stridesOf(shape), 0, shape);
  return out;
}

export function concat(xs: readonly FloatArray[], shapes: readonly (readonly number[])[], axis: number, dtype: DType): FloatArray {
  const outShape = shapes[0].slice();
  outShape[axis] = shapes.reduce((acc, s) => acc + s[axis], 0);
  const out = allocArray(sizeOf(outShape), dtype);
  const outStrides = stridesOf(outShape);
  let start = 0;
  xs.forEach((x, k) => {
    copy(out, outStrides, start * outStrides[axis], x, stridesOf(shapes[k]), 0, shapes[k]);
    start += shapes[k][axis];
  });
  return out;
}
