// Batch normalisation, f32, on x laid out (N, C, L) (L = H·W), over channels c0 … c1−1 (so threads can take
// ranges of channels). Each pass is one sweep over the channel's N runs of L contiguous floats, in f32x4 lanes.
// The statistics are two-pass (mean, then centred squares) as the composed ops compute them.

// @ts-ignore: decorator
@inline function at(base: usize, index: i32): usize {
  return base + (<usize>index << 2);
}

// @ts-ignore: decorator
@inline function lanes(v: v128): f32 {
  return f32x4.extract_lane(v, 0) + f32x4.extract_lane(v, 1) + f32x4.extract_lane(v, 2) + f32x4.extract_lane(v, 3);
}

/** Σ x over channel c's N runs. */
function channelSum(x: usize, N: i32, C: i32, L: i32, c: i32): f32 {
  let acc = f32x4.splat(0);
  let tail: f32 = 0;
  for (let n = 0; n < N; n++) {
    const run = at(x, (n * C + c) * L);
    let j = 0;
    for (; j + 4 <= L; j += 4) acc = f32x4.add(acc, v128.load(at(run, j)));
    for (; j < L; j++) tail += load<f32>(at(run, j));
  }
  return lanes(acc) + tail;
}

/** mean[c] and biased variance[c] of x over N and L. */
export function channel_moments_f32(mean: usize, variance: usize, x: usize, N: i32, C: i32, L: i32, c0: i32, c1: i32): void {
  const M = <f32>(N * L);
  for (let c = c0; c < c1; c++) {
    const m = channelSum(x, N, C, L, c) / M;
    const vm = f32x4.splat(m);
    let acc = f32x4.splat(0);
    let tail: f32 = 0;
    for (let n = 0; n < N; n++) {
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
    store<f32>(at(mean, c), m);
    store<f32>(at(variance, c), (lanes(acc) + tail) / M);
  }
}

/** y = (x − mean[c])·invstd[c]·scale[c] + shift[c]; scale 0 means 1, shift 0 means 0 (null pointers). */
export function batch_norm_apply_f32(y: usize, x: usize, mean: usize, invstd: usize, scale: usize, shift: usize, N: i32, C: i32, L: i32, c0: i32, c1: i32): void {
  for (let c = c0; c < c1; c++) {
    const k = load<f32>(at(invstd, c)) * (scale ? load<f32>(at(scale, c)) : 1);
    const m = load<f32>(at(mean, c));
    const b: f32 = shift ? load<f32>(at(shift, c)) : 0;
    const vk = f32x4.splat(k), vm = f32x4.splat(m), vb = f32x4.splat(b);
    for (let n = 0; n < N; n++) {
      const o = (n * C + c) * L;
      const src = at(x, o), dst = at(y, o);
      let j = 0;
      for (; j + 4 <= L; j += 4) v128.store(at(dst, j), f32x4.add(f32x4.mul(f32x4.sub(v128.load(at(src, j)), vm), vk), vb));
      for (; j < L; j++) store<f32>(at(dst, j), (load<f32>(at(src, j)) - m) * k + b);
    }
  }
}

/**
 * The backward pass of batch statistics: sumDy[c] = Σ dy, sumDyXhat[c] = Σ dy·x̂ with x̂ = (x − mean)·invstd, and
 * dx = scale·invstd·(dy − sumDy/M − x̂·sumDyXhat/M), M = N·L.
 */
export function batch_norm_backward_f32(dx: usize, sumDy: usize, sumDyXhat: usize, dy: usize, x: usize, mean: usize, invstd: usize, scale: usize, N: i32, C: i32, L: i32, c0: i32, c1: i32): void {
  const M = <f32>(N * L);
  for (let c = c0; c < c1; c++) {
    const s = load<f32>(at(invstd, c));
    const m = load<f32>(at(mean, c));
    const vm = f32x4.splat(m);
    let accDy = f32x4.splat(0), accDyX = f32x4.splat(0);
    let tailDy: f32 = 0, tailDyX: f32 = 0;
    for (let n = 0; n < N; n++) {
      const o = (n * C + c) * L;
      const g = at(dy, o), src = at(x, o);
      let j = 0;
      for (; j + 4 <= L; j += 4) {
        const vg = v128.load(at(g, j));
        accDy = f32x4.add(accDy, vg);
        accDyX = f32x4.add(accDyX, f32x4.mul(vg, f32x4.sub(v128.load(at(src, j)), vm)));
      }
      for (; j < L; j++) {
        const vg = load<f32>(at(g, j));
        tailDy += vg;
        tailDyX += vg * (load<f32>(at(src, j)) - m);
      }
    }
    const sDy = lanes(accDy) + tailDy;
    const sDyX = (lanes(accDyX) + tailDyX) * s;
    store<f32>(at(sumDy, c), sDy);
    store<f32>(at(sumDyXhat, c), sDyX);
    // dx = k·(dy − a − (x − mean)·b) with k = scale·invstd, a = sumDy/M, b = invstd·sumDyXhat/M.
    const k = (scale ? load<f32>(at(scale, c)) : 1) * s;
    const va = f32x4.splat(sDy / M), vb = f32x4.splat((s * sDyX) / M), vk = f32x4.splat(k);
    const a = sDy / M, b = (s * sDyX) / M;
    for (let n = 0; n < N; n++) {
      const o = (n * C + c) * L;
      const g = at(dy, o), src = at(x, o), dst = at(dx, o);
      let j = 0;
      for (; j + 4 <= L; j += 4) {
        const centred = f32x4.sub(v128.load(at(src, j)), vm);
        v128.store(at(dst, j), f32x4.mul(vk, f32x4.sub(f32x4.sub(v128.load(at(g, j)), va), f32x4.mul(centred, vb))));
      }
      for (; j < L; j++) store<f32>(at(dst, j), k * (load<f32>(at(g, j)) - a - (load<f32>(at(src, j)) - m) * b));
    }
  }
}
