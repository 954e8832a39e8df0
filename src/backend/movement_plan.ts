// Data movement as plans. expand, permute, slice, pad and concat are each one or more strided copies from a source
// layout to a destination layout (plus a fill for pad). The plans are computed here once; each backend only runs
// them (js/movement.ts on typed arrays, wasm/movement.ts on wasm memory).
import { sizeOf, stridesOf } from './shape_info.js';
import { broadcastStrides } from './js/indexing.js';

/** Copy the elements of `shape` from input `input` (strides, start) to the output (strides, start). */
export interface StridedCopy {
  input: number;
  shape: readonly number[];
  dstStrides: readonly number[];
  dstStart: number;
  srcStrides: readonly number[];
  srcStart: number;
}

export interface MovePlan {
  outSize: number;
  /** The value of output elements no copy writes (pad), or null when the copies cover the output. */
  fill: number | null;
  copies: StridedCopy[];
}

const dot = (a: readonly number[], b: readonly number[]) => a.reduce((acc, v, i) => acc + v * b[i], 0);

export function expandPlan(shape: readonly number[], outShape: readonly number[]): MovePlan {
  return {
    outSize: sizeOf(outShape),
    fill: null,
    copies: [
      {
        input: 0,
        shape: outShape,
        dstStrides: stridesOf(outShape),
        dstStart: 0,
        srcStrides: broadcastStrides(shape, outShape),
        srcStart: 0,
      },
    ],
  };
}

export function permutePlan(shape: readonly number[], perm: readonly number[]): MovePlan {
  const outShape = perm.map((p) => shape[p]);
  const strides = stridesOf(shape);
  return {
    outSize: sizeOf(shape),
    fill: null,
    copies: [
      {
        input: 0,
        shape: outShape,
        dstStrides: stridesOf(outShape),
        dstStart: 0,
        srcStrides: perm.map((p) => strides[p]),
        srcStart: 0,
      },
    ],
  };
}

export function slicePlan(shape: readonly number[], begin: readonly number[], size: readonly number[]): MovePlan {
  const strides = stridesOf(shape);
  return {
    outSize: sizeOf(size),
    fill: null,
    copies: [
      {
        input: 0,
        shape: size,
        dstStrides: stridesOf(size),
        dstStart: 0,
        srcStrides: strides,
        srcStart: dot(begin, strides),
      },
    ],
  };
}

export function padPlan(
  shape: readonly number[],
  before: readonly number[],
  after: readonly number[],
  value: number,
): MovePlan {
  const outShape = shape.map((d, i) => d + before[i] + after[i]);
  const outStrides = stridesOf(outShape);
  return {
    outSize: sizeOf(outShape),
    fill: value,
    copies: [
      {
        input: 0,
        shape,
        dstStrides: outStrides,
        dstStart: dot(before, outStrides),
        srcStrides: stridesOf(shape),
        srcStart: 0,
      },
    ],
  };
}

export function concatPlan(shapes: readonly (readonly number[])[], axis: number): MovePlan {
  const outShape = shapes[0].slice();
  outShape[axis] = shapes.reduce((acc, s) => acc + s[axis], 0);
  const outStrides = stridesOf(outShape);
  let start = 0;
  const copies = shapes.map((shape, input) => {
    const c: StridedCopy = {
      input,
      shape,
      dstStrides: outStrides,
      dstStart: start * outStrides[axis],
      srcStrides: stridesOf(shape),
      srcStart: 0,
    };
    start += shape[axis];
    return c;
  });
  return { outSize: sizeOf(outShape), fill: null, copies };
}
