// Pooling, f32, over planes of (H, W), one window at a time clipped to the plane. Max pooling pads with −∞ (a
// padded cell never wins) and records the flat input index of each maximum; average pooling divides by kh·kw,
// or by the in-bounds count when countIncludePad is 0.

// @ts-ignore: decorator
@inline function at(base: usize, index: i32): usize {
  return base + (<usize>index << 2);
}

export function max_pool2d_f32(out: usize, indices: usize, x: usize, planes: i32, H: i32, W: i32, Ho: i32, Wo: i32, kh: i32, kw: i32, sh: i32, sw: i32, ph: i32, pw: i32): void {
  let o = 0;
  for (let p = 0; p < planes; p++) {
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

export function avg_pool2d_f32(out: usize, x: usize, planes: i32, H: i32, W: i32, Ho: i32, Wo: i32, kh: i32, kw: i32, sh: i32, sw: i32, ph: i32, pw: i32, countIncludePad: i32): void {
  let o = 0;
  for (let p = 0; p < planes; p++) {
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
export function avg_pool2d_backward_f32(dx: usize, dy: usize, planes: i32, H: i32, W: i32, Ho: i32, Wo: i32, kh: i32, kw: i32, sh: i32, sw: i32, ph: i32, pw: i32, countIncludePad: i32): void {
  let o = 0;
  for (let p = 0; p < planes; p++) {
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
