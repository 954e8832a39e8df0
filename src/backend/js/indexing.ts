// Index maps for the reference kernels: for every output element, where its source lives.
// Materialising the map costs memory but keeps each kernel a single readable loop.
import { sizeOf, stridesOf } from '../shape_info.js';

/** For each element of `outShape`, the flat index of the element of `inShape` that broadcasts to it. */
export function broadcastIndex(inShape: readonly number[], outShape: readonly number[]): Int32Array {
  const rank = outShape.length;
  const inStrides = stridesOf(inShape);
  // Stride of each output axis in the input: 0 where the input is stretched or missing.
  const strides = outShape.map((d, i) => {
    const j = i - (rank - inShape.length);
    return j < 0 || inShape[j] === 1 ? 0 : inStrides[j];
  });
  return stridedIndex(outShape, strides, 0);
}

/** Flat source indices of an odometer walk over `shape`, stepping `strides[i]` along axis i from `offset`. */
export function stridedIndex(shape: readonly number[], strides: readonly number[], offset: number): Int32Array {
  const n = sizeOf(shape);
  const out = new Int32Array(n);
  const rank = shape.length;
  const counter = new Array<number>(rank).fill(0);
  let src = offset;
  for (let i = 0; i < n; i++) {
    out[i] = src;
    for (let ax = rank - 1; ax >= 0; ax--) {
      counter[ax]++;
      src += strides[ax];
      if (counter[ax] < shape[ax]) break;
      src -= strides[ax] * shape[ax];
      counter[ax] = 0;
    }
  }
  return out;
}

/** For each element of `shape`, the flat index of its slot in the reduction over `axes` (reduced axes kept as 1). */
export function reduceIndex(shape: readonly number[], axes: readonly number[]): Int32Array {
  const outShape = shape.map((d, i) => (axes.includes(i) ? 1 : d));
  const outStrides = stridesOf(outShape).map((s, i) => (axes.includes(i) ? 0 : s));
  return stridedIndex(shape, outStrides, 0);
}
