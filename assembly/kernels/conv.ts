// Convolution passes over a range of images, f32, one call per range: unfold a few images' patches side by side,
// multiply, re-lay out, and go on to the next few. A thread thus carries its images through every phase with their
// patch matrix still in its cache, and no thread waits for the others between phases (src/backend/wasm/conv.ts
// hands out the ranges). Each element of y or dx is computed as the whole-batch GEMM computes it (a column split
// does not change any element's arithmetic), and the filter gradient is one partial sum per fixed part of the batch
// (the caller adds them in order), so any split of the batch across threads gives the same bits.
import { gemm_either_f32, gemm_f32, gemm_scratch_floats } from './gemm';
import { C, col2imWith, COUT, geo, GROUPS, H, HO, im2colWith, KH, KW, W, WO } from './im2col';
import { copyFloats } from './copy';

// @ts-ignore: decorator
@inline function at(base: usize, index: i32): usize {
  return base + (<usize>index << 2);
}

/** The three passes of byImages. */
const FORWARD = 0, INPUT_GRADIENT = 1, FILTER_GRADIENT = 2;

/**
 * y (N, Cout, L) for images first … first+count−1 of x (N, C, H, W), with w (Cout, C/groups·kh·kw), `sub` images
 * at a time: their patches side by side in cols (C·kh·kw, sub·L), one GEMM per group into wide (Cout, sub·L), then
 * wide re-laid out into y with bias (Cout) added, unless `bias` is 0. `scratch` holds `scratchFloats` floats, at
 * least gemm_scratch_floats(sub·L, C/groups·kh·kw).
 */
export function conv2d_images_f32(y: usize, x: usize, w: usize, bias: usize, g: usize, first: i32, count: i32, sub: i32, cols: usize, wide: usize, scratch: usize, scratchFloats: i32): void {
  byImages(FORWARD, y, x, w, bias, g, first, count, sub, cols, wide, scratch, scratchFloats);
}

/**
 * y (images, Cout, L) ← wide (Cout, width), image i's channel c from wide's row c at column i·L, plus bias[c]
 * unless `bias` is 0: the forward pass's re-layout, which adds the bias on the way (no pass of its own over y).
 * `wide` may be y itself (one image): then only the bias is added.
 */
export function unwiden_f32(y: usize, wide: usize, bias: usize, images: i32, cout: i32, L: i32, width: i32): void {
  if (wide == y && bias == 0) return;
  for (let i = 0; i < images; i++) {
    for (let c = 0; c < cout; c++) {
      const dst = at(y, (i * cout + c) * L);
      const src = at(wide, c * width + i * L);
      if (bias == 0) {
        copyFloats(dst, src, L);
        continue;
      }
      const b = load<f32>(at(bias, c));
      const vb = f32x4.splat(b);
      let j = 0;
      for (; j + 4 <= L; j += 4) v128.store(at(dst, j), f32x4.add(v128.load(at(src, j)), vb));
      for (; j < L; j++) store<f32>(at(dst, j), load<f32>(at(src, j)) + b);
    }
  }
}

/**
 * The filter of the input gradient taken as a forward convolution (stride 1: dx is dy convolved with w flipped in
 * space, inputs and outputs swapped within each group): dst[g·cg + c, o, t] = w[g·og + o, c, taps − 1 − t], w
 * (groups·og, cg, taps), dst (groups·cg, og, taps).
 */
export function flip_filter_f32(dst: usize, w: usize, groups: i32, og: i32, cg: i32, taps: i32): void {
  for (let j = 0; j < groups; j++) {
    for (let o = 0; o < og; o++) {
      for (let c = 0; c < cg; c++) {
        const src = at(w, ((j * og + o) * cg + c) * taps);
        const out = at(dst, ((j * cg + c) * og + o) * taps);
        for (let t = 0; t < taps; t++) store<f32>(at(out, t), load<f32>(at(src, taps - 1 - t)));
      }
    }
  }
}

/**
 * dx (N, C, H, W) += the input gradient of images first … first+count−1 from dy (N, Cout, L) and w, `sub` images at
 * a time: dy re-laid out into wide (Cout, sub·L), one GEMM per group (Wᵀ·dy) into cols, then folded back (col2im).
 * `scratch` holds `scratchFloats` floats, at least gemm_scratch_floats(sub·L, Cout/groups).
 */
export function conv2d_backward_input_images_f32(dx: usize, dy: usize, w: usize, g: usize, first: i32, count: i32, sub: i32, cols: usize, wide: usize, scratch: usize, scratchFloats: i32): void {
  byImages(INPUT_GRADIENT, dx, dy, w, 0, g, first, count, sub, cols, wide, scratch, scratchFloats);
}

/**
 * The filter gradient's parts for images first … first+count−1 (first a multiple of `sub`): part p (images
 * p·sub … p·sub+sub−1) gets its patches in cols (C·kh·kw, sub·L) and dy re-laid out in wide (Cout, sub·L), then per
 * group dW_p (og, kk) = dy_g·cols_gᵀ over the part's pixels, at parts + p·Cout·kk: by dot products where `dot`
 * (no scratch), else by the packed kernel, `scratch` holding `scratchFloats` floats, at least
 * gemm_scratch_floats(C/groups·kh·kw, sub·L). The caller sums the parts in order, so the batch's partition into
 * parts, not the threads, fixes every summation order.
 */
export function conv2d_backward_filter_images_f32(parts: usize, x: usize, dy: usize, g: usize, first: i32, count: i32, sub: i32, cols: usize, wide: usize, dot: i32, scratch: usize, scratchFloats: i32): void {
  byImages(FILTER_GRADIENT, parts, x, dy, 0, g, first, count, sub, cols, wide, scratch, scratchFloats, dot != 0);
}

/**
 * The passes' common loop over chunks of `sub` images. `input` is x (forward, filter gradient) or dy (input
 * gradient); `other` is w, or dy for the filter gradient; `out` is y, dx or the filter gradient's parts; `bias`
 * (forward only) is 0 or the bias; `byDots` (filter gradient only): its products by dot products.
 */
// @ts-ignore: decorator
@inline function byImages(pass: i32, out: usize, input: usize, other: usize, bias: usize, g: usize, first: i32, count: i32, sub: i32, cols: usize, wide: usize, scratch: usize, scratchFloats: i32, byDots: bool = false): void {
  const L = geo(g, HO) * geo(g, WO);
  const cout = geo(g, COUT);
  const groups = geo(g, GROUPS);
  const og = cout / groups;
  const kk = (geo(g, C) * geo(g, KH) * geo(g, KW)) / groups;
  const plane = geo(g, C) * geo(g, H) * geo(g, W);
  // The caller sizes the GEMM's packing area; too small, it would write past it into other tensors: trap instead.
  const packing = byDots ? 0 : pass == FILTER_GRADIENT ? gemm_scratch_floats(kk, sub * L) : gemm_scratch_floats(sub * L, pass == FORWARD ? kk : og);
  if (packing > scratchFloats) unreachable();
  for (let n0 = first; n0 < first + count; n0 += sub) {
    const nb = min(sub, first + count - n0);
    const width = nb * L;
    if (pass != INPUT_GRADIENT) {
      for (let i = 0; i < nb; i++) {
        im2colWith(g, at(cols, i * L), width, at(input, (n0 + i) * plane));
      }
    }
    // One image's (Cout, L) block of y or dy is already laid out as wide (Cout, 1·L): the GEMM uses it in place.
    let wideAt = wide;
    if (pass != FORWARD) {
      // dy (images, Cout, L) → wide (Cout, images·L)
      const dy = pass == INPUT_GRADIENT ? input : other;
      if (nb == 1) wideAt = at(dy, n0 * cout * L);
      else {
        for (let i = 0; i < nb; i++) {
          for (let c = 0; c < cout; c++) copyFloats(at(wide, c * width + i * L), at(dy, ((n0 + i) * cout + c) * L), L);
        }
      }
    } else if (nb == 1) wideAt = at(out, n0 * cout * L);
    if (pass == FORWARD) {
      for (let j = 0; j < groups; j++) gemm_f32(at(wideAt, j * og * width), width, at(other, j * og * kk), at(cols, j * kk * width), width, og, width, kk, 0, 0, 0, scratch);
      unwiden_f32(at(out, n0 * cout * L), wideAt, bias, nb, cout, L, width);
    } else if (pass == INPUT_GRADIENT) {
      for (let j = 0; j < groups; j++) gemm_f32(at(cols, j * kk * width), width, at(other, j * og * kk), at(wideAt, j * og * width), width, kk, width, og, 1, 0, 0, scratch);
      for (let i = 0; i < nb; i++) {
        col2imWith(g, at(out, (n0 + i) * plane), at(cols, i * L), width);
      }
    } else {
      const part = at(out, (n0 / sub) * cout * kk);
      for (let j = 0; j < groups; j++) gemm_either_f32(byDots, at(part, j * og * kk), kk, at(wideAt, j * og * width), at(cols, j * kk * width), width, og, kk, width, 0, 1, 0, scratch);
    }
  }
}
