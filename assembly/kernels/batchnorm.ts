// Batch normalisation, f32, on x laid out (N, C, L) (L = H·W). Threads take ranges of images, as the convolutions
// around BatchNorm do, so each thread reads the images it wrote (a split by channels had every thread read half its
// input from the other core's cache: the apply pass took 0.29 ms on two threads that way, 0.17 by images).
// The batch statistics are sums over every image, so the batch is cut into parts fixed by its shape: each part's
// sums are computed on their own (any thread), then the parts are added in order by a small combine kernel, and the
// results are bit-identical for any thread count. The statistics are two-pass per part (its mean, then its centred
// squares), the parts' squares combined exactly (Chan et al.): no Σx² − (Σx)² cancellation.
// A ReLU after the normalisation can run inside these passes: apply clamps y at 0 (`relu`), and the backward passes
// zero dy where that output y is ≤ 0 (`y`, 0 without a ReLU), which saves the ReLU's own two passes over the
// activations. (Recomputing y from x instead of reading it made the backward passes compute-bound: 30 % slower.)

import { relu1, relu4, reluGrad1, reluGrad4 } from './elementwise';

// @ts-ignore: decorator
@inline function at(base: usize, index: i32): usize {
  return base + (<usize>index << 2);
}

// @ts-ignore: decorator
@inline function lanes(v: v128): f32 {
  return f32x4.extract_lane(v, 0) + f32x4.extract_lane(v, 1) + f32x4.extract_lane(v, 2) + f32x4.extract_lane(v, 3);
}

/** Images first … first+count−1 of part p, whose parts hold `partImages` images each (the last may hold fewer). */
// @ts-ignore: decorator
@inline function partFirst(p: i32, partImages: i32): i32 {
  return p * partImages;
}

// @ts-ignore: decorator
@inline function partCount(p: i32, partImages: i32, N: i32): i32 {
  return min(partImages, N - p * partImages);
}

/** Σ x over channel c's runs in images n0 … n0+count−1. */
function channelSum(x: usize, n0: i32, count: i32, C: i32, L: i32, c: i32): f32 {
  let acc = f32x4.splat(0);
  let tail: f32 = 0;
  for (let n = n0; n < n0 + count; n++) {
    const run = at(x, (n * C + c) * L);
    let j = 0;
    for (; j + 4 <= L; j += 4) acc = f32x4.add(acc, v128.load(at(run, j)));
    for (; j < L; j++) tail += load<f32>(at(run, j));
  }
  return lanes(acc) + tail;
}

/** Σ (x − m)² over channel c's runs in images n0 … n0+count−1. */
function channelSquares(x: usize, n0: i32, count: i32, C: i32, L: i32, c: i32, m: f32): f32 {
  const vm = f32x4.splat(m);
  let acc = f32x4.splat(0);
  let tail: f32 = 0;
  for (let n = n0; n < n0 + count; n++) {
    const run = at(x, (n * C + c) * L);
    let j = 0;
    for (; j + 4 <= L; j += 4) {
      const d = f32x4.sub(v128.load(at(run, j)), vm);
      acc = f32x4.add(acc, f32x4.mul(d, d));
    }
    for (; j < L; j++) {
      const d = load<f32>(at(run, j)) - m;
      tail += d * d;
    }
  }
  return lanes(acc) + tail;
}

/**
 * Parts p0 … p1−1 of the batch statistics: per part p and channel c, the sum of x at sums[p·C + c] and the sum of
 * squares about the part's own mean at squares[p·C + c].
 */
export function channel_moments_parts_f32(sums: usize, squares: usize, x: usize, N: i32, C: i32, L: i32, p0: i32, p1: i32, partImages: i32): void {
  for (let p = p0; p < p1; p++) {
    const n0 = partFirst(p, partImages), count = partCount(p, partImages, N);
    for (let c = 0; c < C; c++) {
      const s = channelSum(x, n0, count, C, L, c);
      store<f32>(at(sums, p * C + c), s);
      store<f32>(at(squares, p * C + c), channelSquares(x, n0, count, C, L, c, s / <f32>(count * L)));
    }
  }
}

/**
 * mean[c] and biased variance[c] from the parts, added in order: mean = Σ sums / M, and the squares about it
 * Σ (squares_p + n_p·(mean_p − mean)²), M = N·L.
 */
export function channel_moments_combine_f32(mean: usize, variance: usize, sums: usize, squares: usize, parts: i32, partImages: i32, N: i32, C: i32, L: i32): void {
  const M = <f32>(N * L);
  for (let c = 0; c < C; c++) {
    let total: f32 = 0;
    for (let p = 0; p < parts; p++) total += load<f32>(at(sums, p * C + c));
    const m = total / M;
    let m2: f32 = 0;
    for (let p = 0; p < parts; p++) {
      const n = <f32>(partCount(p, partImages, N) * L);
      const d = load<f32>(at(sums, p * C + c)) / n - m;
      m2 += load<f32>(at(squares, p * C + c)) + n * d * d;
    }
    store<f32>(at(mean, c), m);
    store<f32>(at(variance, c), m2 / M);
  }
}

/**
 * y = (x − mean[c])·invstd[c]·scale[c] + shift[c] over `images` images, then max(y, 0) if `relu` (as the ReLU
 * kernel: a NaN propagates); scale 0 means 1, shift 0 means 0 (null pointers).
 */
export function batch_norm_apply_f32(y: usize, x: usize, mean: usize, invstd: usize, scale: usize, shift: usize, images: i32, C: i32, L: i32, relu: bool): void {
  for (let n = 0; n < images; n++) {
    for (let c = 0; c < C; c++) {
      const k = load<f32>(at(invstd, c)) * (scale ? load<f32>(at(scale, c)) : 1);
      const m = load<f32>(at(mean, c));
      const b: f32 = shift ? load<f32>(at(shift, c)) : 0;
      const vk = f32x4.splat(k), vm = f32x4.splat(m), vb = f32x4.splat(b);
      const o = (n * C + c) * L;
      const src = at(x, o), dst = at(y, o);
      let j = 0;
      for (; j + 4 <= L; j += 4) {
        const v = f32x4.add(f32x4.mul(f32x4.sub(v128.load(at(src, j)), vm), vk), vb);
        v128.store(at(dst, j), relu ? relu4(v) : v);
      }
      for (; j < L; j++) {
        const v = (load<f32>(at(src, j)) - m) * k + b;
        store<f32>(at(dst, j), relu ? relu1(v) : v);
      }
    }
  }
}

/**
 * Parts p0 … p1−1 of the backward pass's sums: per part p and channel c, Σ dy at sumDy[p·C + c] and Σ dy·(x − mean)
 * at sumDyCentred[p·C + c]. With a fused ReLU (`y`, its output; 0: none), dy counts unless y ≤ 0.
 */
export function batch_norm_backward_parts_f32(sumDy: usize, sumDyCentred: usize, dy: usize, x: usize, mean: usize, y: usize, N: i32, C: i32, L: i32, p0: i32, p1: i32, partImages: i32): void {
  for (let p = p0; p < p1; p++) {
    const n0 = partFirst(p, partImages), count = partCount(p, partImages, N);
    for (let c = 0; c < C; c++) {
      const m = load<f32>(at(mean, c));
      const vm = f32x4.splat(m);
      let accDy = f32x4.splat(0), accDyX = f32x4.splat(0);
      let tailDy: f32 = 0, tailDyX: f32 = 0;
      for (let n = n0; n < n0 + count; n++) {
        const o = (n * C + c) * L;
        const g = at(dy, o), src = at(x, o), out = at(y, o);
        let j = 0;
        for (; j + 4 <= L; j += 4) {
          let vg = v128.load(at(g, j));
          if (y) vg = reluGrad4(vg, v128.load(at(out, j)));
          accDy = f32x4.add(accDy, vg);
          accDyX = f32x4.add(accDyX, f32x4.mul(vg, f32x4.sub(v128.load(at(src, j)), vm)));
        }
        for (; j < L; j++) {
          const vg = y ? reluGrad1(load<f32>(at(g, j)), load<f32>(at(out, j))) : load<f32>(at(g, j));
          tailDy += vg;
          tailDyX += vg * (load<f32>(at(src, j)) - m);
        }
      }
      store<f32>(at(sumDy, p * C + c), lanes(accDy) + tailDy);
      store<f32>(at(sumDyCentred, p * C + c), lanes(accDyX) + tailDyX);
    }
  }
}

/** sumDy[c] = Σ_p partsDy, sumDyXhat[c] = invstd[c]·Σ_p partsDyCentred (x̂ = (x − mean)·invstd), parts in order. */
export function batch_norm_backward_combine_f32(sumDy: usize, sumDyXhat: usize, partsDy: usize, partsDyCentred: usize, invstd: usize, parts: i32, C: i32): void {
  for (let c = 0; c < C; c++) {
    let s: f32 = 0, sx: f32 = 0;
    for (let p = 0; p < parts; p++) {
      s += load<f32>(at(partsDy, p * C + c));
      sx += load<f32>(at(partsDyCentred, p * C + c));
    }
    store<f32>(at(sumDy, c), s);
    store<f32>(at(sumDyXhat, c), sx * load<f32>(at(invstd, c)));
  }
}

/**
 * dx = scale·invstd·(dy − sumDy/M − x̂·sumDyXhat/M) over `images` images, M = N·L of the whole batch: the backward
 * pass of batch statistics once its sums are known. With a fused ReLU (`y`, its output; 0: none), dy is 0 where
 * y ≤ 0, as in batch_norm_backward_parts_f32.
 */
export function batch_norm_backward_dx_f32(dx: usize, dy: usize, x: usize, mean: usize, invstd: usize, scale: usize, y: usize, sumDy: usize, sumDyXhat: usize, images: i32, C: i32, L: i32, M: f32): void {
  for (let n = 0; n < images; n++) {
    for (let c = 0; c < C; c++) {
      const s = load<f32>(at(invstd, c));
      const m = load<f32>(at(mean, c));
      // dx = k·(dy − a − (x − mean)·b) with k = scale·invstd, a = sumDy/M, b = invstd·sumDyXhat/M.
      const k = (scale ? load<f32>(at(scale, c)) : 1) * s;
      const a = load<f32>(at(sumDy, c)) / M, b = (s * load<f32>(at(sumDyXhat, c))) / M;
      const vm = f32x4.splat(m), va = f32x4.splat(a), vb = f32x4.splat(b), vk = f32x4.splat(k);
      const o = (n * C + c) * L;
      const g = at(dy, o), src = at(x, o), out = at(y, o), dst = at(dx, o);
      let j = 0;
      for (; j + 4 <= L; j += 4) {
        let vg = v128.load(at(g, j));
        if (y) vg = reluGrad4(vg, v128.load(at(out, j)));
        const centred = f32x4.sub(v128.load(at(src, j)), vm);
        v128.store(at(dst, j), f32x4.mul(vk, f32x4.sub(f32x4.sub(vg, va), f32x4.mul(centred, vb))));
      }
      for (; j < L; j++) {
        const vg = y ? reluGrad1(load<f32>(at(g, j)), load<f32>(at(out, j))) : load<f32>(at(g, j));
        store<f32>(at(dst, j), k * (vg - a - (load<f32>(at(src, j)) - m) * b));
      }
    }
  }
}
