// Pooling, f32, over planes p0 … p1−1 of (H, W) (so threads can take ranges of planes; pointers and indices are
// those of the whole tensor), one window at a time clipped to the plane. Max pooling pads with −∞ (a
// padded cell never wins) and records the flat input index of each maximum; average pooling divides by kh·kw,
// or by the in-bounds count when countIncludePad is 0.

// @ts-ignore: decorator
@inline function at(base: usize, index: i32): usize {
  return base + (<usize>index << 2);
}

export function max_pool2d_f32(out: usize, indices: usize, x: usize, p0: i32, p1: i32, H: i32, W: i32, Ho: i32, Wo: i32, kh: i32, kw: i32, sh: i32, sw: i32, ph: i32, pw: i32): void {
  if (kh == 2 && kw == 2 && sh == 2 && sw == 2 && ph == 0 && pw == 0) {
    max_pool_2x2(out, indices, x, p0, p1, H, W, Ho, Wo);
    return;
  }
  let o = p0 * Ho * Wo;
  for (let p = p0; p < p1; p++) {
    const base = p * H * W;
    for (let i = 0; i < Ho; i++) {
      const ys = i * sh - ph;
      const y0 = max(ys, 0), y1 = min(ys + kh, H);
      for (let j = 0; j < Wo; j++, o++) {
        const xs = j * sw - pw;
        const x0 = max(xs, 0), x1 = min(xs + kw, W);
        let best: f32 = -Infinity;
        let bestAt = base + y0 * W + x0;
        for (let y = y0; y < y1; y++) {
          for (let xx = x0; xx < x1; xx++) {
            const idx = base + y * W + xx;
            const v = load<f32>(at(x, idx));
            if (v > best || v != v) {
              best = v;
              bestAt = idx;
              if (v != v) break;
            }
          }
          if (best != best) break;
        }
        store<f32>(at(out, o), best);
        store<i32>(at(indices, o), bestAt);
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
        for (let y = y0; y < y1; y++) {
          for (let xx = x0; xx < x1; xx++) {
            const d = at(dx, base + y * W + xx);
            store<f32>(d, load<f32>(d) + g);
          }
        }
      }
    }
  }
}

/** Takes `v` (and its index) over `best` where v > best, or where v is the first NaN: the scalar loop's rule. */
// @ts-ignore: decorator
@inline function better(v: v128, best: v128): v128 {
  return v128.or(f32x4.gt(v, best), v128.andnot(f32x4.ne(v, v), f32x4.ne(best, best)));
}

/**
 * The usual 2×2, stride 2, unpadded max pool, four outputs per step: the even and odd columns of two input rows
 * are split apart with shuffles and compared in row-major order, so ties and NaNs resolve as in the general loop.
 */
function max_pool_2x2(out: usize, indices: usize, x: usize, p0: i32, p1: i32, H: i32, W: i32, Ho: i32, Wo: i32): void {
  const lane = i32x4(0, 2, 4, 6);
  for (let p = p0; p < p1; p++) {
    const base = p * H * W;
    for (let i = 0; i < Ho; i++) {
      const r0 = base + 2 * i * W;
      const r1 = r0 + W;
      const o = (p * Ho + i) * Wo;
      let j = 0;
      for (; j + 4 <= Wo; j += 4) {
        const a0 = v128.load(at(x, r0 + 2 * j)), a1 = v128.load(at(x, r0 + 2 * j + 4));
        const b0 = v128.load(at(x, r1 + 2 * j)), b1 = v128.load(at(x, r1 + 2 * j + 4));
        const aEven = v128.shuffle<f32>(a0, a1, 0, 2, 4, 6), aOdd = v128.shuffle<f32>(a0, a1, 1, 3, 5, 7);
        const bEven = v128.shuffle<f32>(b0, b1, 0, 2, 4, 6), bOdd = v128.shuffle<f32>(b0, b1, 1, 3, 5, 7);
        const i0 = i32x4.add(i32x4.splat(r0 + 2 * j), lane);
        const i1 = i32x4.add(i32x4.splat(r1 + 2 * j), lane);
        let best = aEven, at0 = i0;
        let m = better(aOdd, best);
        best = v128.bitselect(aOdd, best, m); at0 = v128.bitselect(i32x4.add(i0, i32x4.splat(1)), at0, m);
        m = better(bEven, best);
        best = v128.bitselect(bEven, best, m); at0 = v128.bitselect(i1, at0, m);
        m = better(bOdd, best);
        best = v128.bitselect(bOdd, best, m); at0 = v128.bitselect(i32x4.add(i1, i32x4.splat(1)), at0, m);
        v128.store(at(out, o + j), best);
        v128.store(at(indices, o + j), at0);
      }
      for (; j < Wo; j++) {
        let best = load<f32>(at(x, r0 + 2 * j)), bestAt = r0 + 2 * j;
        for (let k = 1; k < 4; k++) {
          const idx = (k < 2 ? r0 : r1) + 2 * j + (k & 1);
          const v = load<f32>(at(x, idx));
          if (v > best || (v != v && best == best)) {
            best = v;
            bestAt = idx;
          }
        }
        store<f32>(at(out, o + j), best);
        store<i32>(at(indices, o + j), bestAt);
      }
    }
  }
}
