// Copies, f32: strided block copies for the layout changes around the batched convolution GEMMs
// ((images, channels, L) ↔ (channels, images·L)), strided runs for data movement, fills and scatter-add.

/** Floats from which memory.copy beats a v128 loop (measured per 100,000 floats: rows of 72 18 vs 12 µs, of 196 9.7
 * vs 10.7, of 784 8.6 vs 9.7). */
const SHORT_RUN = 128;

/**
 * Copies `n` floats (non-overlapping). Runs shorter than SHORT_RUN floats go through a v128 loop: V8's memory.copy
 * on shared memory is a call out of wasm, which costs more than a short run itself (a 16-float row: 2×; in a
 * training step a worker's half of an expand to (3136, 16) took 45 µs by memory.copy, 11 by the loop).
 */
// @ts-ignore: decorator
@inline export function copyFloats(dst: usize, src: usize, n: i32): void {
  if (n >= SHORT_RUN) {
    memory.copy(dst, src, <usize>n << 2);
    return;
  }
  let j = 0;
  for (; j + 4 <= n; j += 4) v128.store(dst + (<usize>j << 2), v128.load(src + (<usize>j << 2)));
  for (; j < n; j++) store<f32>(dst + (<usize>j << 2), load<f32>(src + (<usize>j << 2)));
}

/** For i < n1, j < n2: copy `len` floats from src + i·s1 + j·s2 to dst + i·d1 + j·d2 (strides in floats). */
export function copy2d_f32(dst: usize, d1: i32, d2: i32, src: usize, s1: i32, s2: i32, n1: i32, n2: i32, len: i32): void {
  for (let i = 0; i < n1; i++) {
    for (let j = 0; j < n2; j++) copyFloats(dst + (<usize>(i * d1 + j * d2) << 2), src + (<usize>(i * s1 + j * s2) << 2), len);
  }
}

/**
 * Stores the 4×4 transpose of the rows r0…r3 (4 floats each) at dst, dst + step, dst + 2·step, dst + 3·step
 * (bytes): row k gets the k-th lane of each.
 */
// @ts-ignore: decorator
@inline export function storeTransposed4x4(dst: usize, step: usize, r0: v128, r1: v128, r2: v128, r3: v128): void {
  const t0 = v128.shuffle<f32>(r0, r1, 0, 4, 1, 5);
  const t1 = v128.shuffle<f32>(r2, r3, 0, 4, 1, 5);
  const t2 = v128.shuffle<f32>(r0, r1, 2, 6, 3, 7);
  const t3 = v128.shuffle<f32>(r2, r3, 2, 6, 3, 7);
  v128.store(dst, v128.shuffle<f32>(t0, t1, 0, 1, 4, 5));
  v128.store(dst + step, v128.shuffle<f32>(t0, t1, 2, 3, 6, 7));
  v128.store(dst + 2 * step, v128.shuffle<f32>(t2, t3, 0, 1, 4, 5));
  v128.store(dst + 3 * step, v128.shuffle<f32>(t2, t3, 2, 3, 6, 7));
}

/**
 * dst[r·rd + j] = src[r + j·cs] for r < rows, j < cols: a plane whose rows are the source's columns (a permute that
 * transposes, as (N, C, L) → (N, L, C)), by 4×4 blocks transposed in registers where a run-by-run copy read one
 * strided float per step.
 */
// @ts-ignore: decorator
@inline function transposeRuns(dst: usize, rd: i32, src: usize, cs: i32, rows: i32, cols: i32): void {
  const colBytes = <usize>cs << 2;
  let r = 0;
  for (; r + 4 <= rows; r += 4) {
    let j = 0;
    for (; j + 4 <= cols; j += 4) {
      const s = src + (<usize>(r + j * cs) << 2);
      storeTransposed4x4(dst + (<usize>(r * rd + j) << 2), <usize>rd << 2, v128.load(s), v128.load(s + colBytes), v128.load(s + 2 * colBytes), v128.load(s + 3 * colBytes));
    }
    for (; j < cols; j++) {
      for (let i = 0; i < 4; i++) store<f32>(dst + (<usize>((r + i) * rd + j) << 2), load<f32>(src + (<usize>(r + i + j * cs) << 2)));
    }
  }
  for (; r < rows; r++) {
    for (let j = 0; j < cols; j++) store<f32>(dst + (<usize>(r * rd + j) << 2), load<f32>(src + (<usize>(r + j * cs) << 2)));
  }
}

/** dst[j·dd] = src[j·ds] for j < n (strides in floats; ds = 0 broadcasts one value). */
// @ts-ignore: decorator
@inline function copyRun(dst: usize, dd: i32, src: usize, ds: i32, n: i32): void {
  if (dd == 1 && ds == 1) {
    copyFloats(dst, src, n);
  } else if (dd == 1 && ds == 0) {
    fill_f32(dst, n, load<f32>(src));
  } else {
    for (let j = 0; j < n; j++) store<f32>(dst + (<usize>(j * dd) << 2), load<f32>(src + (<usize>(j * ds) << 2)));
  }
}

/** For r < rows: run r of a plane, dst + r·rd ← src + r·rs (strides in floats), as copyRun. */
export function copy_runs_f32(dst: usize, rd: i32, dd: i32, src: usize, rs: i32, ds: i32, rows: i32, cols: i32): void {
  if (dd == 1 && rs == 1 && ds > 1) {
    transposeRuns(dst, rd, src, ds, rows, cols);
    return;
  }
  for (let r = 0; r < rows; r++) copyRun(dst + (<usize>(r * rd) << 2), dd, src + (<usize>(r * rs) << 2), ds, cols);
}

/**
 * The first `count` (1 to 4) lanes of v at dst, as 32-bit patterns (floats or ints alike): a vector's tail that must
 * not overwrite what follows it.
 */
// @ts-ignore: decorator
@inline export function storeLanes(dst: usize, v: v128, count: i32): void {
  if (count >= 4) {
    v128.store(dst, v);
    return;
  }
  store<i32>(dst, i32x4.extract_lane(v, 0));
  if (count > 1) store<i32>(dst, i32x4.extract_lane(v, 1), 4);
  if (count > 2) store<i32>(dst, i32x4.extract_lane(v, 2), 8);
}

/** dst[j] = value for j < n. */
export function fill_f32(dst: usize, n: i32, value: f32): void {
  const v = f32x4.splat(value);
  let j = 0;
  for (; j + 4 <= n; j += 4) v128.store(dst + (<usize>j << 2), v);
  for (; j < n; j++) store<f32>(dst + (<usize>j << 2), value);
}

/**
 * out[indices[i]] += values[i] for i < n, the adjoint of a gather. Returns −1, or the position of the first index
 * outside [0, outSize) (nothing is written from there on), so the caller can report it instead of corrupting memory.
 */
export function scatter_add_f32(out: usize, outSize: i32, values: usize, indices: usize, n: i32): i32 {
  for (let i = 0; i < n; i++) {
    const k = load<i32>(indices + (<usize>i << 2));
    if (<u32>k >= <u32>outSize) return i;
    const p = out + (<usize>k << 2);
    store<f32>(p, load<f32>(p) + load<f32>(values + (<usize>i << 2)));
  }
  return -1;
}
