// Data-movement reference kernels: expand, permute, slice, pad, concat. Each is one gather through an index map.
import { allocArray, type DType, type FloatArray } from '../dtype.js';
import { sizeOf, stridesOf } from '../shape_info.js';
import { broadcastIndex, stridedIndex } from './indexing.js';

function gather(x: FloatArray, index: Int32Array, dtype: DType): FloatArray {
  const out = allocArray(index.length, dtype);
  for (let i = 0; i < index.length; i++) out[i] = x[index[i]];
  return out;
}

export function expand(x: FloatArray, shape: readonly number[], outShape: readonly number[], dtype: DType): FloatArray {
  return gather(x, broadcastIndex(shape, outShape), dtype);
}

export function permute(x: FloatArray, shape: readonly number[], perm: readonly number[], dtype: DType): FloatArray {
  const strides = stridesOf(shape);
  return gather(x, stridedIndex(perm.map((p) => shape[p]), perm.map((p) => strides[p]), 0), dtype);
}

export function slice(
  x: FloatArray, shape: readonly number[], begin: readonly number[], size: readonly number[], dtype: DType,
): FloatArray {
  const strides = stridesOf(shape);
  const offset = begin.reduce((acc, b, i) => acc + b * strides[i], 0);
  return gather(x, stridedIndex(size, strides, offset), dtype);
}

export function pad(
  x: FloatArray, shape: readonly number[], before: readonly number[], after: readonly number[], value: number,
  dtype: DType,
): FloatArray {
  const outShape = shape.map((d, i) => d + before[i] + after[i]);
  const out = allocArray(sizeOf(outShape), dtype).fill(value);
  const outStrides = stridesOf(outShape);
  const offset = before.reduce((acc, b, i) => acc + b * outStrides[i], 0);
  const dest = stridedIndex(shape, outStrides, offset);
  for (let i = 0; i < dest.length; i++) out[dest[i]] = x[i];
  return out;
}

export function concat(
  xs: readonly FloatArray[], shapes: readonly (readonly number[])[], axis: number, dtype: DType,
): FloatArray {
  const outShape = shapes[0].slice();
  outShape[axis] = shapes.reduce((acc, s) => acc + s[axis], 0);
  const out = allocArray(sizeOf(outShape), dtype);
  const outStrides = stridesOf(outShape);
  let start = 0;
  xs.forEach((x, k) => {
    const dest = stridedIndex(shapes[k], outStrides, start * outStrides[axis]);
    for (let i = 0; i < dest.length; i++) out[dest[i]] = x[i];
    start += shapes[k][axis];
  });
  return out;
}
