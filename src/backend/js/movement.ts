// Data-movement reference kernels: each runs a plan of strided copies (../movement_plan.ts) on typed arrays.
import { allocArray, type DType, type FloatArray } from '../dtype.js';
import { concatPlan, expandPlan, type MovePlan, padPlan, permutePlan, slicePlan } from '../movement_plan.js';
import { forEachRun } from './indexing.js';

function run(plan: MovePlan, inputs: readonly FloatArray[], dtype: DType): FloatArray {
  const out = allocArray(plan.outSize, dtype);
  if (plan.fill !== null) out.fill(plan.fill);
  for (const c of plan.copies) {
    const src = inputs[c.input];
    forEachRun(
      c.shape,
      [c.dstStrides, c.srcStrides],
      ([o, i], n, [dd, ds]) => {
        for (let j = 0; j < n; j++) out[o + j * dd] = src[i + j * ds];
      },
      [c.dstStart, c.srcStart],
    );
  }
  return out;
}

export function expand(x: FloatArray, shape: readonly number[], outShape: readonly number[], dtype: DType): FloatArray {
  return run(expandPlan(shape, outShape), [x], dtype);
}

export function permute(x: FloatArray, shape: readonly number[], perm: readonly number[], dtype: DType): FloatArray {
  return run(permutePlan(shape, perm), [x], dtype);
}

export function slice(
  x: FloatArray,
  shape: readonly number[],
  begin: readonly number[],
  size: readonly number[],
  dtype: DType,
): FloatArray {
  return run(slicePlan(shape, begin, size), [x], dtype);
}

export function pad(
  x: FloatArray,
  shape: readonly number[],
  before: readonly number[],
  after: readonly number[],
  value: number,
  dtype: DType,
): FloatArray {
  return run(padPlan(shape, before, after, value), [x], dtype);
}

export function concat(
  xs: readonly FloatArray[],
  shapes: readonly (readonly number[])[],
  axis: number,
  dtype: DType,
): FloatArray {
  return run(concatPlan(shapes, axis), xs, dtype);
}
