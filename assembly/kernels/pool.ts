// Pooling, f32, over planes p0 … p1−1 of (H, W) (so threads can take ranges of planes; pointers and indices are
// those of the whole tensor), one window at a time clipped to the plane. Max pooling pads with −∞ (a
// padded cell never wins) and records the flat input index of each maximum; average pooling divides by kh·kw,
// or by the in-bounds count when countIncludePad is 0. Max pooling can take a ReLU before it (`relu`): it reads x
// through the ReLU, and its backward pass sends a window's dy on unless the maximum is ≤ 0, which saves
// the ReLU's own two passes over the (larger) input.

import { fill_f32, storeLanes } from './copy';
import { relu1, relu4, reluGrad1, reluGrad4 } from './elementwise';

// @ts-ignore: decorator
@inline function at(base: usize, index: i32): usize {
  return base + (<usize>index << 2);
}

/**
 * The flat index of the maximum of the window rows y0 … y1−1, columns x0 … x1−1 of the plane at `base` (of relu(x)
 * with `relu`): the first maximum in row-major order; the first NaN wins outright.
 */
// @ts-ignore: decorator
@inline function windowArgmax(x: usize, base: i32, W: i32, y0: i32, y1: i32, x0: i32, x1: i32, relu: bool): i32 {
  let best: f32 = -Infinity;
  let bestAt = base + y0 * W + x0;
  for (let y = y0; y < y1; y++) {
    for (let xx = x0; xx < x1; xx++) {
      const idx = base + y * W + xx;
      const raw = load<f32>(at(x, idx));
      const v = relu ? relu1(raw) : raw;
      if (v > best || v != v) {
        best = v;
        bestAt = idx;
        if (v != v) return idx;
      }
    }
  }
  return bestAt;
}

/** dx[index] += g. */
// @ts-ignore: decorator
@inline function addAt(dx: usize, index: i32, g: f32): void {
  const d = at(dx, index);
  store<f32>(d, load<f32>(d) + g);
}

/** Whether the pool is the usual 2×2, stride 2, unpadded one, which has its own SIMD loop. */
// @ts-ignore: decorator
@inline function is2x2(kh: i32, kw: i32, sh: i32, sw: i32, ph: i32, pw: i32): bool {
  return kh == 2 && kw == 2 && sh == 2 && sw == 2 && ph == 0 && pw == 0;
}

/** Max pooling (of relu(x) with `relu`): each window's maximum, and its flat input index when `indices` is not 0. */
export function max_pool2d_f32(out: usize, indices: usize, x: usize, p0: i32, p1: i32, H: i32, W: i32, Ho: i32, Wo: i32, kh: i32, kw: i32, sh: i32, sw: i32, ph: i32, pw: i32, relu: bool): void {
  if (is2x2(kh, kw, sh, sw, ph, pw)) {
    max_pool_2x2(out, indices, x, p0, p1, H, W, Ho, Wo, relu);
    return;
  }
  let o = p0 * Ho * Wo;
  for (let p = p0; p < p1; p++) {
    const base = p * H * W;
    for (let i = 0; i < Ho; i++) {
      const ys = i * sh - ph;
      for (let j = 0; j < Wo; j++, o++) {
        const xs = j * sw - pw;
        const bestAt = windowArgmax(x, base, W, max(ys, 0), min(ys + kh, H), max(xs, 0), min(xs + kw, W), relu);
        const v = load<f32>(at(x, bestAt));
        store<f32>(at(out, o), relu ? relu1(v) : v);
        if (indices) store<i32>(at(indices, o), bestAt);
      }
    }
  }
}

/** Whether max_pool2d_backward_f32 writes every element of dx's planes (the caller then skips zeroing dx). */
export function max_pool2d_backward_writes_all(kh: i32, kw: i32, sh: i32, sw: i32, ph: i32, pw: i32): bool {
  return is2x2(kh, kw, sh, sw, ph, pw);
}

/**
 * The gradient of max pooling: dx (zeroed by the caller) += each dy at its window's maximum in x, found again as
 * the forward pass finds it, so no indices are kept between the passes. The 2×2 pool's windows tile the plane, so
 * its loop writes each plane of dx whole instead (max_pool2d_backward_writes_all: the caller need not zero dx).
 * With `relu`, that of max pooling of relu(x): dy goes on unless the maximum is ≤ 0 (then 0 is added).
 */
export function max_pool2d_backward_f32(dx: usize, dy: usize, x: usize, p0: i32, p1: i32, H: i32, W: i32, Ho: i32, Wo: i32, kh: i32, kw: i32, sh: i32, sw: i32, ph: i32, pw: i32, relu: bool): void {
  if (is2x2(kh, kw, sh, sw, ph, pw)) {
    max_pool_2x2_backward(dx, dy, x, p0, p1, H, W, Ho, Wo, relu);
    return;
  }
  let o = p0 * Ho * Wo;
  for (let p = p0; p < p1; p++) {
    const base = p * H * W;
    for (let i = 0; i < Ho; i++) {
      const ys = i * sh - ph;
      for (let j = 0; j < Wo; j++, o++) {
        const xs = j * sw - pw;
        const bestAt = windowArgmax(x, base, W, max(ys, 0), min(ys + kh, H), max(xs, 0), min(xs + kw, W), relu);
        const g = load<f32>(at(dy, o));
        addAt(dx, bestAt, relu ? reluGrad1(g, load<f32>(at(x, bestAt))) : g);
      }
    }
  }
}

export function avg_pool2d_f32(out: usize, x: usize, p0: i32, p1: i32, H: i32, W: i32, Ho: i32, Wo: i32, kh: i32, kw: i32, sh: i32, sw: i32, ph: i32, pw: i32, countIncludePad: i32): void {
  let o = p0 * Ho * Wo;
  for (let p = p0; p < p1; p++) {
    const base = p * H * W;
    for (let i = 0; i < Ho; i++) {
      const ys = i * sh - ph;
      const y0 = max(ys, 0), y1 = min(ys + kh, H);
      for (let j = 0; j < Wo; j++, o++) {
        const xs = j * sw - pw;
        const x0 = max(xs, 0), x1 = min(xs + kw, W);
        let s: f32 = 0;
        for (let y = y0; y < y1; y++) for (let xx = x0; xx < x1; xx++) s += load<f32>(at(x, base + y * W + xx));
        const div: f32 = countIncludePad ? <f32>(kh * kw) : <f32>((y1 - y0) * (x1 - x0));
        store<f32>(at(out, o), s / div);
      }
    }
  }
}

/** dx (zeroed by the caller) += each window's dy / divisor over its in-bounds cells. */
export function avg_pool2d_backward_f32(dx: usize, dy: usize, p0: i32, p1: i32, H: i32, W: i32, Ho: i32, Wo: i32, kh: i32, kw: i32, sh: i32, sw: i32, ph: i32, pw: i32, countIncludePad: i32): void {
  let o = p0 * Ho * Wo;
  for (let p = p0; p < p1; p++) {
    const base = p * H * W;
    for (let i = 0; i < Ho; i++) {
      const ys = i * sh - ph;
      const y0 = max(ys, 0), y1 = min(ys + kh, H);
      for (let j = 0; j < Wo; j++, o++) {
        const xs = j * sw - pw;
        const x0 = max(xs, 0), x1 = min(xs + kw, W);
        const div: f32 = countIncludePad ? <f32>(kh * kw) : <f32>((y1 - y0) * (x1 - x0));
        const g = load<f32>(at(dy, o)) / div;
        for (let y = y0; y < y1; y++) for (let xx = x0; xx < x1; xx++) addAt(dx, base + y * W + xx, g);
      }
    }
  }
}

/** Takes `v` (and its index) over `best` where v > best, or where v is the first NaN: the scalar loop's rule. */
// @ts-ignore: decorator
@inline function better(v: v128, best: v128): v128 {
  return v128.or(f32x4.gt(v, best), v128.andnot(f32x4.ne(v, v), f32x4.ne(best, best)));
}

/** The maxima of maxima2x2's last call. A global is this thread's own: each thread has its own wasm instance. */
let windowMaxima: v128 = f32x4.splat(0);

/**
 * The usual 2×2, stride 2, unpadded max pool, four outputs at a time: the even and odd columns of two input rows
 * are split apart with shuffles and compared in row-major order, so ties and NaNs resolve as in the general loop.
 * Returns the maxima's flat indices and leaves their values in windowMaxima (of relu(x) with `relu`). A row's last
 * group may have fewer `lanes` (its other lanes are garbage, not to be stored): with at most 2, the second half is
 * not loaded, so no load reaches more than 2 floats past the row (the heap leaves 4 after every block).
 */
// @ts-ignore: decorator
@inline function maxima2x2(x: usize, r0: i32, r1: i32, lanes: i32, relu: bool): v128 {
  let a0 = v128.load(at(x, r0)), a1 = lanes > 2 ? v128.load(at(x, r0 + 4)) : a0;
  let b0 = v128.load(at(x, r1)), b1 = lanes > 2 ? v128.load(at(x, r1 + 4)) : b0;
  if (relu) {
    a0 = relu4(a0); a1 = relu4(a1);
    b0 = relu4(b0); b1 = relu4(b1);
  }
  const aEven = v128.shuffle<f32>(a0, a1, 0, 2, 4, 6), aOdd = v128.shuffle<f32>(a0, a1, 1, 3, 5, 7);
  const bEven = v128.shuffle<f32>(b0, b1, 0, 2, 4, 6), bOdd = v128.shuffle<f32>(b0, b1, 1, 3, 5, 7);
  const lane = i32x4(0, 2, 4, 6);
  const i0 = i32x4.add(i32x4.splat(r0), lane);
  const i1 = i32x4.add(i32x4.splat(r1), lane);
  let best = aEven, bestAt = i0;
  let m = better(aOdd, best);
  best = v128.bitselect(aOdd, best, m); bestAt = v128.bitselect(i32x4.add(i0, i32x4.splat(1)), bestAt, m);
  m = better(bEven, best);
  best = v128.bitselect(bEven, best, m); bestAt = v128.bitselect(i1, bestAt, m);
  m = better(bOdd, best);
  best = v128.bitselect(bOdd, best, m); bestAt = v128.bitselect(i32x4.add(i1, i32x4.splat(1)), bestAt, m);
  windowMaxima = best;
  return bestAt;
}

function max_pool_2x2(out: usize, indices: usize, x: usize, p0: i32, p1: i32, H: i32, W: i32, Ho: i32, Wo: i32, relu: bool): void {
  for (let p = p0; p < p1; p++) {
    const base = p * H * W;
    for (let i = 0; i < Ho; i++) {
      const r0 = base + 2 * i * W;
      const r1 = r0 + W;
      const o = (p * Ho + i) * Wo;
      for (let j = 0; j < Wo; j += 4) {
        const lanes = min(4, Wo - j);
        const bestAt = maxima2x2(x, r0 + 2 * j, r1 + 2 * j, lanes, relu);
        storeLanes(at(out, o + j), windowMaxima, lanes);
        if (indices) storeLanes(at(indices, o + j), bestAt, lanes);
      }
    }
  }
}

/**
 * max_pool2d_backward_f32 for the 2×2 pool, writing dx whole: per pair of input rows, four windows at a time, each
 * window's dy goes to the cell that won and 0 to the other three (0 + dy, as adding into a zeroed dx gives: −0
 * becomes +0); an odd last row or column, which no window covers, gets zeros.
 */
function max_pool_2x2_backward(dx: usize, dy: usize, x: usize, p0: i32, p1: i32, H: i32, W: i32, Ho: i32, Wo: i32, relu: bool): void {
  const zero = f32x4.splat(0);
  const one = i32x4.splat(1);
  const lane = i32x4(0, 2, 4, 6); // a window's top-left cell, per lane, from the group's first
  for (let p = p0; p < p1; p++) {
    const base = p * H * W;
    for (let i = 0; i < Ho; i++) {
      const r0 = base + 2 * i * W;
      const r1 = r0 + W;
      const o = (p * Ho + i) * Wo;
      for (let j = 0; j < Wo; j += 4) {
        const lanes = min(4, Wo - j);
        const c0 = r0 + 2 * j, c1 = r1 + 2 * j;
        const bestAt = maxima2x2(x, c0, c1, lanes, relu);
        let g = v128.load(at(dy, o + j)); // lanes past `lanes` are garbage, never stored (the heap pads each block)
        if (relu) g = reluGrad4(g, windowMaxima); // the ReLU passes no gradient where its max is 0
        // Each window's gradient at its four cells, in the pooling's lane order (even columns, odd columns).
        const top = i32x4.add(i32x4.splat(c0), lane), bottom = i32x4.add(i32x4.splat(c1), lane);
        const topEven = f32x4.add(zero, v128.and(g, i32x4.eq(bestAt, top)));
        const topOdd = f32x4.add(zero, v128.and(g, i32x4.eq(bestAt, i32x4.add(top, one))));
        const bottomEven = f32x4.add(zero, v128.and(g, i32x4.eq(bestAt, bottom)));
        const bottomOdd = f32x4.add(zero, v128.and(g, i32x4.eq(bestAt, i32x4.add(bottom, one))));
        // Interleaved back into columns: 2·lanes floats per row.
        storeLanes(at(dx, c0), v128.shuffle<f32>(topEven, topOdd, 0, 4, 1, 5), min(4, 2 * lanes));
        storeLanes(at(dx, c1), v128.shuffle<f32>(bottomEven, bottomOdd, 0, 4, 1, 5), min(4, 2 * lanes));
        if (lanes > 2) {
          storeLanes(at(dx, c0 + 4), v128.shuffle<f32>(topEven, topOdd, 2, 6, 3, 7), 2 * lanes - 4);
          storeLanes(at(dx, c1 + 4), v128.shuffle<f32>(bottomEven, bottomOdd, 2, 6, 3, 7), 2 * lanes - 4);
        }
      }
      if (W & 1) {
        store<f32>(at(dx, r0 + W - 1), 0);
        store<f32>(at(dx, r1 + W - 1), 0);
      }
    }
    if (H & 1) fill_f32(at(dx, base + (H - 1) * W), W, 0);
  }
}
