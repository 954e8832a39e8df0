// Data movement on wasm memory: each kernel runs its plan (../movement_plan.ts) as planes of strided runs, one wasm
// call per plane (split across threads when large); plus scatter-add, the adjoint of max pooling's and
// max-reduction's gathers.
import type { DType } from '../dtype.js';
import { forEachPlane } from '../js/indexing.js';
import {
  concatPlan,
  expandPlan,
  type MovePlan,
  padPlan,
  permutePlan,
  slicePlan,
  type StridedCopy,
} from '../movement_plan.js';
import { fmtShape, sizeOf } from '../shape_info.js';
import { expectSize, type Heap, type WasmStorage } from './heap.js';
import type { KernelExports } from './loader.js';
import { MIN_PARALLEL_ELEMENTS, type Threads } from './parallel.js';

/**
 * The copy with its axes reordered so that a transposing copy takes copy_runs_f32's 4×4-block path: when the
 * output's innermost axis is strided in the source and another axis is contiguous there, that axis becomes the
 * planes' rows. Without it, a permute such as (N, L, G, d) → (N, d, G, L) read one float per cache line, eight times
 * slower. Every element is written once, so the order of the runs does not change the result.
 */
function transposingPlanes(c: StridedCopy): StridedCopy {
  const axes = c.shape.map((_, i) => i).filter((i) => c.shape[i] > 1);
  const inner = axes[axes.length - 1];
  if (inner === undefined || c.dstStrides[inner] !== 1 || c.srcStrides[inner] <= 1) return c;
  const rows = axes.find((i) => i !== inner && c.srcStrides[i] === 1);
  if (rows === undefined || rows === axes[axes.length - 2]) return c;
  const order = [...axes.filter((i) => i !== rows && i !== inner), rows, inner];
  return {
    ...c,
    shape: order.map((i) => c.shape[i]),
    dstStrides: order.map((i) => c.dstStrides[i]),
    srcStrides: order.map((i) => c.srcStrides[i]),
  };
}

export function makeMovementKernels(k: KernelExports, heap: Heap, threads: Threads) {
  function run(
    what: string,
    plan: MovePlan,
    inputs: readonly WasmStorage[],
    shapes: readonly (readonly number[])[],
  ): WasmStorage {
    inputs.forEach((x, i) => {
      // The label is built only for the error (a shape's text costs more than the check).
      if (x.size !== sizeOf(shapes[i])) expectSize(what, `input ${i} ${fmtShape(shapes[i])}`, x, sizeOf(shapes[i]));
    });
    return heap.call(what, inputs, [plan.outSize], [], (ins, [po]) => {
      if (plan.fill !== null) k.fill_f32(po, plan.outSize, plan.fill);
      const calls: number[][] = [];
      for (const c of plan.copies.map(transposingPlanes)) {
        const src = ins[c.input];
        forEachPlane(
          c.shape,
          [c.dstStrides, c.srcStrides],
          ([o, i], rows, cols, [rd, rs], [dd, ds]) => {
            for (const [r0, r1] of threads.unitRanges(rows, cols))
              calls.push([po + 4 * (o + r0 * rd), rd, dd, src + 4 * (i + r0 * rs), rs, ds, r1 - r0, cols]);
          },
          [c.dstStart, c.srcStart],
        );
      }
      // Every output element is written by one copy: the calls' outputs are disjoint.
      threads.calls('copy_runs_f32', calls, plan.outSize >= MIN_PARALLEL_ELEMENTS);
    })[0];
  }

  return {
    expand: (x: WasmStorage, shape: readonly number[], outShape: readonly number[], _dtype: DType) =>
      run('expand', expandPlan(shape, outShape), [x], [shape]),
    permute: (x: WasmStorage, shape: readonly number[], perm: readonly number[], _dtype: DType) =>
      run('permute', permutePlan(shape, perm), [x], [shape]),
    slice: (
      x: WasmStorage,
      shape: readonly number[],
      begin: readonly number[],
      size: readonly number[],
      _dtype: DType,
    ) => run('slice', slicePlan(shape, begin, size), [x], [shape]),
    pad: (
      x: WasmStorage,
      shape: readonly number[],
      before: readonly number[],
      after: readonly number[],
      value: number,
      _dtype: DType,
    ) => run('pad', padPlan(shape, before, after, value), [x], [shape]),
    concat: (xs: readonly WasmStorage[], shapes: readonly (readonly number[])[], axis: number, _dtype: DType) =>
      run('concat', concatPlan(shapes, axis), xs, shapes),

    scatterAdd(values: WasmStorage, indices: Int32Array, outSize: number, _dtype: DType): WasmStorage {
      expectSize('scatterAdd', 'values', values, indices.length);
      return heap.call(
        'scatterAdd',
        [values],
        [outSize],
        [indices.length],
        ([pv], [po], [pi]) => {
          new Int32Array(heap.memory.buffer, pi, indices.length).set(indices);
          const bad = k.scatter_add_f32(po, outSize, pv, pi, indices.length);
          if (bad >= 0)
            throw new Error(
              `wasm scatterAdd: index ${indices[bad]} at position ${bad} is outside an output of ${outSize} elements`,
            );
        },
        true,
      )[0];
    },
  };
}
