// Strided iteration for the reference kernels. An n-D loop over `shape` becomes a sequence of 1-D runs along the
// innermost axis; adjacent axes that every operand walks contiguously are merged first, so the runs are long
// (a BatchNorm broadcast over (N, C, H, W) runs over H·W at a time) and each kernel's inner loop is a plain loop.
import { stridesOf } from '../shape_info.js';

/** Strides of `inShape` viewed as broadcast to `outShape`: 0 where it is stretched or missing. */
export function broadcastStrides(inShape: readonly number[], outShape: readonly number[]): number[] {
  const inStrides = stridesOf(inShape);
  const lead = outShape.length - inShape.length;
  return outShape.map((_, i) => (i < lead || inShape[i - lead] === 1 ? 0 : inStrides[i - lead]));
}

/** Strides that map an element of `shape` to its slot in the reduction over `axes` (reduced axes: stride 0). */
export function reducedStrides(shape: readonly number[], axes: readonly number[]): number[] {
  const kept = stridesOf(shape.map((d, i) => (axes.includes(i) ? 1 : d)));
  return kept.map((s, i) => (axes.includes(i) ? 0 : s));
}

/**
 * Visits `shape` in row-major order as runs of `n` elements. For each operand k, `offsets[k]` is the flat index of
 * the run's first element and `steps[k]` the stride along the run. `strides[k]` gives operand k's stride per axis
 * and `starts[k]` its base offset.
 */
export function forEachRun(
  shape: readonly number[],
  strides: readonly (readonly number[])[],
  visit: (offsets: number[], n: number, steps: number[]) => void,
  starts: readonly number[] = strides.map(() => 0),
): void {
  if (shape.some((d) => d === 0)) return;
  // Drop size-1 axes, then merge axis i into i+1 wherever every operand is contiguous across the pair.
  const dims: number[] = [];
  const st: number[][] = strides.map(() => []);
  shape.forEach((d, i) => {
    if (d === 1) return;
    const last = dims.length - 1;
    if (last >= 0 && strides.every((s, k) => st[k][last] === s[i] * d)) {
      dims[last] *= d;
      strides.forEach((s, k) => (st[k][last] = s[i]));
    } else {
      dims.push(d);
      strides.forEach((s, k) => st[k].push(s[i]));
    }
  });
  const rank = dims.length;
  const n = rank ? dims[rank - 1] : 1;
  const steps = st.map((s) => (rank ? s[rank - 1] : 0));
  const offsets = [...starts];
  const counter = new Array<number>(Math.max(rank - 1, 0)).fill(0);
  for (;;) {
    visit(offsets, n, steps);
    // Advance the odometer over the outer axes.
    let ax = rank - 2;
    for (; ax >= 0; ax--) {
      counter[ax]++;
      for (let k = 0; k < offsets.length; k++) offsets[k] += st[k][ax];
      if (counter[ax] < dims[ax]) break;
      for (let k = 0; k < offsets.length; k++) offsets[k] -= st[k][ax] * dims[ax];
      counter[ax] = 0;
    }
    if (ax < 0) return;
  }
}
