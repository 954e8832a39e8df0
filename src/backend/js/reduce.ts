// Reduction reference kernels. Sums accumulate in float64 so the oracle is more accurate than any float32 kernel.
import type { ValuesAndIndices } from '../backend.js';
import { allocArray, type DType, type FloatArray } from '../dtype.js';
import { sizeOf } from '../shape_info.js';
import { reduceIndex } from './indexing.js';

function outSize(shape: readonly number[], axes: readonly number[]): number {
  return sizeOf(shape.map((d, i) => (axes.includes(i) ? 1 : d)));
}

export function reduceSum(x: FloatArray, shape: readonly number[], axes: readonly number[], dtype: DType): FloatArray {
  const slot = reduceIndex(shape, axes);
  const acc = new Float64Array(outSize(shape, axes));
  for (let i = 0; i < x.length; i++) acc[slot[i]] += x[i];
  const out = allocArray(acc.length, dtype);
  out.set(acc);
  return out;
}

export function reduceMax(
  x: FloatArray, shape: readonly number[], axes: readonly number[], dtype: DType,
): ValuesAndIndices<FloatArray> {
  const slot = reduceIndex(shape, axes);
  const n = outSize(shape, axes);
  const values = allocArray(n, dtype).fill(-Infinity);
  const indices = new Int32Array(n).fill(-1);
  for (let i = 0; i < x.length; i++) {
    const o = slot[i];
    // Strict `>` keeps the first maximum; a NaN wins and stays, as in PyTorch.
    if (indices[o] < 0 || x[i] > values[o] || (x[i] !== x[i] && values[o] === values[o])) {
      values[o] = x[i];
      indices[o] = i;
    }
  }
  return { values, indices };
}

export function scatterAdd(values: FloatArray, indices: Int32Array, outSize: number, dtype: DType): FloatArray {
  const out = allocArray(outSize, dtype);
  for (let i = 0; i < indices.length; i++) out[indices[i]] += values[i];
  return out;
}
