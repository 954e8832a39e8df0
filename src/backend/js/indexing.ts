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

/** `shape` with size-1 axes dropped and axis i merged into i+1 wherever every operand is contiguous across the pair. */
function mergeAxes(
  shape: readonly number[],
  strides: readonly (readonly number[])[],
): { dims: number[]; st: number[][] } {
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
  return { dims, st };
}

/** Calls `visit` at every index of the first `outer` merged axes (row-major), with each operand's offset. */
function odometer(
  dims: readonly number[],
  st: readonly (readonly number[])[],
  outer: number,
  starts: readonly number[],
  visit: (offsets: number[]) => void,
): void {
  const offsets = [...starts];
  const counter = new Array<number>(Math.max(outer, 0)).fill(0);
  for (;;) {
    visit(offsets);
    let ax = outer - 1;
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
  const { dims, st } = mergeAxes(shape, strides);
  const rank = dims.length;
  const n = rank ? dims[rank - 1] : 1;
  const steps = st.map((s) => (rank ? s[rank - 1] : 0));
  odometer(dims, st, rank - 1, starts, (offsets) => visit(offsets, n, steps));
}

/**
 * Visits `shape` in row-major order as planes of `rows` runs of `cols` elements (the two innermost merged axes), so
 * that a kernel can take a whole plane per call: `rowSteps[k]` is operand k's stride between runs, `steps[k]` along
 * a run. Visiting the planes' runs in order visits the same runs, in the same order, as forEachRun.
 */
export function forEachPlane(
  shape: readonly number[],
  strides: readonly (readonly number[])[],
  visit: (offsets: number[], rows: number, cols: number, rowSteps: number[], steps: number[]) => void,
  starts: readonly number[] = strides.map(() => 0),
): void {
  if (shape.some((d) => d === 0)) return;
  const { dims, st } = mergeAxes(shape, strides);
  const rank = dims.length;
  const cols = rank ? dims[rank - 1] : 1;
  const rows = rank > 1 ? dims[rank - 2] : 1;
  const steps = st.map((s) => (rank ? s[rank - 1] : 0));
  const rowSteps = st.map((s) => (rank > 1 ? s[rank - 2] : 0));
  odometer(dims, st, rank - 2, starts, (offsets) => visit(offsets, rows, cols, rowSteps, steps));
}
