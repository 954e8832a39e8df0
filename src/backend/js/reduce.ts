// Reduction reference kernels. Sums accumulate in float64 so the oracle is more accurate than any float32 kernel.
import type { ValuesAndIndices } from '../backend.js';
import { allocArray, type DType, type FloatArray } from '../dtype.js';
import { sizeOf, stridesOf } from '../shape_info.js';
import { forEachRun, reducedStrides } from './indexing.js';

function outSize(shape: readonly number[], axes: readonly number[]): number {
  return sizeOf(shape.map((d, i) => (axes.includes(i) ? 1 : d)));
}

export function reduceSum(x: FloatArray, shape: readonly number[], axes: readonly number[], dtype: DType): FloatArray {
  const acc = new Float64Array(outSize(shape, axes));
  forEachRun(shape, [stridesOf(shape), reducedStrides(shape, axes)], ([ix, io], n, [dx, dout]) => {
    for (let j = 0; j < n; j++) acc[io + j * dout] += x[ix + j * dx];
  });
  const out = allocArray(acc.length, dtype);
  out.set(acc);
  return out;
}

export function reduceMax(
  x: FloatArray,
  shape: readonly number[],
  axes: readonly number[],
  dtype: DType,
): ValuesAndIndices<FloatArray> {
  const n = outSize(shape, axes);
  const values = allocArray(n, dtype).fill(-Infinity);
  const indices = new Int32Array(n).fill(-1);
  forEachRun(shape, [stridesOf(shape), reducedStrides(shape, axes)], ([ix, io], len, [dx, dout]) => {
    for (let j = 0; j < len; j++) {
      const i = ix + j * dx;
      const o = io + j * dout;
      // Strict `>` keeps the first maximum in row-major order; a NaN wins and stays, as in PyTorch.
      if (indices[o] < 0 || x[i] > values[o] || (x[i] !== x[i] && values[o] === values[o])) {
        values[o] = x[i];
        indices[o] = i;
      }
    }
  });
  return { values, indices };
}

export function scatterAdd(values: FloatArray, indices: Int32Array, outSize: number, dtype: DType): FloatArray {
  const out = allocArray(outSize, dtype);
  for (let i = 0; i < indices.length; i++) {
    if (!(indices[i] >= 0 && indices[i] < outSize))
      throw new Error(`scatterAdd: index ${indices[i]} at position ${i} is outside an output of ${outSize} elements`);
    out[indices[i]] += values[i];
  }
  return out;
}
