// im2col and its adjoint col2im, f32, one image at a time (the _images kernels take a range of images in one call):
// x (C, H, W) ↔ cols (C·kh·kw, Ho·Wo), row index c·kh·kw + ky·kw + kx, zero padding. Rows of cols are `ld` floats apart, so several images can sit side by side
// in one wide matrix (ld = images·Ho·Wo) and feed a single GEMM. For each (row, output line) the in-bounds output
// columns form one interval, computed once, so the inner loop has no bounds checks. Lines are short (Wo floats), so
// they are copied and zeroed with v128 loops: a memory.copy/fill call per line costs more than the line itself.

import { copyFloats } from './copy';

// @ts-ignore: decorator
@inline function at(base: usize, index: i32): usize {
  return base + (<usize>index << 2);
}

// A convolution's geometry as an i32 array in memory, laid out as ../abi.ts says; src/backend/wasm/conv.ts writes it.
export {
  GEO_C as C, GEO_H as H, GEO_W as W, GEO_KH as KH, GEO_KW as KW, GEO_SH as SH, GEO_SW as SW, GEO_PH as PH,
  GEO_PW as PW, GEO_DH as DH, GEO_DW as DW, GEO_HO as HO, GEO_WO as WO, GEO_COUT as COUT, GEO_GROUPS as GROUPS,
} from '../abi';
import {
  GEO_C as C, GEO_H as H, GEO_W as W, GEO_KH as KH, GEO_KW as KW, GEO_SH as SH, GEO_SW as SW, GEO_PH as PH,
  GEO_PW as PW, GEO_DH as DH, GEO_DW as DW, GEO_HO as HO, GEO_WO as WO,
} from '../abi';

// @ts-ignore: decorator
@inline export function geo(g: usize, i: i32): i32 {
  return load<i32>(g + (<usize>i << 2));
}

/** dst[j] = 0 for j < n. */
// @ts-ignore: decorator
@inline function zeroLine(dst: usize, n: i32): void {
  let j = 0;
  for (; j + 4 <= n; j += 4) v128.store(at(dst, j), i32x4.splat(0));
  for (; j < n; j++) store<f32>(at(dst, j), 0);
}

/** First output column j with 0 ≤ j·s − p + off, and one past the last with j·s − p + off < size. */
// @ts-ignore: decorator
@inline function lo(s: i32, p: i32, off: i32): i32 {
  const num = p - off;
  return num <= 0 ? 0 : (num + s - 1) / s;
}

// @ts-ignore: decorator
@inline function hi(s: i32, p: i32, off: i32, size: i32, outSize: i32): i32 {
  const num = size - 1 + p - off;
  return num < 0 ? 0 : min(outSize, num / s + 1);
}

export function im2col_f32(cols: usize, ld: i32, x: usize, C: i32, H: i32, W: i32, kh: i32, kw: i32, sh: i32, sw: i32, ph: i32, pw: i32, dh: i32, dw: i32, Ho: i32, Wo: i32): void {
  const contiguous = sh == 1 && sw == 1 && Wo == W;
  for (let c = 0; c < C; c++) {
    for (let ky = 0; ky < kh; ky++) {
      for (let kx = 0; kx < kw; kx++) {
        const row = at(cols, ((c * kh + ky) * kw + kx) * ld);
        const j0 = min(Wo, lo(sw, pw, kx * dw)); // a tap can sit in the padding for every output column
        const j1 = max(j0, hi(sw, pw, kx * dw, W, Wo));
        if (contiguous) {
          im2colRun(row, at(x, c * H * W), H, W, Ho, ph - ky * dh, kx * dw - pw, j0, j1);
          continue;
        }
        for (let i = 0; i < Ho; i++) {
          const dst = at(row, i * Wo);
          const y = i * sh - ph + ky * dh;
          if (y < 0 || y >= H) {
            zeroLine(dst, Wo);
            continue;
          }
          zeroLine(dst, j0);
          const src = at(x, (c * H + y) * W - pw + kx * dw);
          if (sw == 1) copyFloats(at(dst, j0), at(src, j0), j1 - j0);
          else if (sw == 2) gatherEven(dst, src, j0, j1);
          else for (let j = j0; j < j1; j++) store<f32>(at(dst, j), load<f32>(at(src, j * sw)));
          zeroLine(at(dst, j1), Wo - j1);
        }
      }
    }
  }
}

/**
 * dst[j] = src[2j] for j0 ≤ j < j1 (a stride-2 line), 4 at a time from 8 floats' even lanes. A group is taken whole
 * while its 8th float, src[2j + 7], lies before the line's last read, src[2(j1 − 1)].
 */
// @ts-ignore: decorator
@inline function gatherEven(dst: usize, src: usize, j0: i32, j1: i32): void {
  let j = j0;
  for (; j + 4 < j1; j += 4) {
    const a = at(src, 2 * j);
    v128.store(at(dst, j), v128.shuffle<f32>(v128.load(a), v128.load(a, 16), 0, 2, 4, 6));
  }
  for (; j < j1; j++) store<f32>(at(dst, j), load<f32>(at(src, 2 * j)));
}

/**
 * dst[2j] += src[j] for j0 ≤ j < j1 (col2im's stride-2 line), 4 at a time: src's 4 values interleaved with −0, which
 * leaves the odd floats between them as they are (x + −0 = x for every x, −0 included). Groups are whole as in
 * gatherEven.
 */
// @ts-ignore: decorator
@inline function scatterAddEven(dst: usize, src: usize, j0: i32, j1: i32): void {
  const keep = f32x4.splat(-0.0);
  let j = j0;
  for (; j + 4 < j1; j += 4) {
    const d = at(dst, 2 * j);
    const s = v128.load(at(src, j));
    v128.store(d, f32x4.add(v128.load(d), v128.shuffle<f32>(s, keep, 0, 4, 1, 5)));
    v128.store(d, f32x4.add(v128.load(d, 16), v128.shuffle<f32>(s, keep, 2, 6, 3, 7)), 16);
  }
  for (; j < j1; j++) store<f32>(at(dst, 2 * j), load<f32>(at(dst, 2 * j)) + load<f32>(at(src, j)));
}

/**
 * One row of cols for a stride-1 convolution whose output lines are as long as the input's (Wo = W): output line i
 * reads input line i − shift at columns j + offset, and both sides' lines are W floats apart, so the in-bounds
 * values (lines i0 … i1−1, columns j0 … j1−1) are one run of `plane` shifted by a constant, taken in one copy; then
 * the padding is zeroed: before the run, after it, and between lines (columns j1 … W−1 of a line and 0 … j0−1 of the
 * next are adjacent). A loop per output line would cost more than a short line's copy itself.
 */
// @ts-ignore: decorator
@inline function im2colRun(row: usize, plane: usize, H: i32, W: i32, Ho: i32, shift: i32, offset: i32, j0: i32, j1: i32): void {
  const size = Ho * W;
  const i0 = min(Ho, max(0, shift));
  const i1 = max(i0, min(Ho, H + shift));
  if (i0 == i1 || j0 == j1) {
    zeroLine(row, size);
    return;
  }
  const start = i0 * W + j0;
  const end = (i1 - 1) * W + j1;
  zeroLine(row, start);
  copyFloats(at(row, start), at(plane, start - shift * W + offset), end - start);
  const gap = W - j1 + j0;
  if (gap > 0) for (let i = i0; i < i1 - 1; i++) zeroLine(at(row, i * W + j1), gap);
  zeroLine(at(row, end), size - end);
}

/** x (C, H, W) += the patches of cols scattered back (the adjoint of im2col_f32). */
export function col2im_f32(x: usize, cols: usize, ld: i32, C: i32, H: i32, W: i32, kh: i32, kw: i32, sh: i32, sw: i32, ph: i32, pw: i32, dh: i32, dw: i32, Ho: i32, Wo: i32): void {
  for (let c = 0; c < C; c++) {
    for (let ky = 0; ky < kh; ky++) {
      for (let kx = 0; kx < kw; kx++) {
        const row = at(cols, ((c * kh + ky) * kw + kx) * ld);
        const j0 = min(Wo, lo(sw, pw, kx * dw)); // a tap can sit in the padding for every output column
        const j1 = max(j0, hi(sw, pw, kx * dw, W, Wo));
        for (let i = 0; i < Ho; i++) {
          const y = i * sh - ph + ky * dh;
          if (y < 0 || y >= H) continue;
          const src = at(row, i * Wo);
          const dst = at(x, (c * H + y) * W - pw + kx * dw);
          if (sw == 1) {
            let j = j0;
            for (; j + 4 <= j1; j += 4) {
              const d = at(dst, j);
              v128.store(d, f32x4.add(v128.load(d), v128.load(at(src, j))));
            }
            for (; j < j1; j++) store<f32>(at(dst, j), load<f32>(at(dst, j)) + load<f32>(at(src, j)));
          } else if (sw == 2) {
            scatterAddEven(dst, src, j0, j1);
          } else {
            for (let j = j0; j < j1; j++) {
              const d = at(dst, j * sw);
              store<f32>(d, load<f32>(d) + load<f32>(at(src, j)));
            }
          }
        }
      }
    }
  }
}

/** im2col_f32 of one image with the geometry at g. */
// @ts-ignore: decorator
@inline export function im2colWith(g: usize, cols: usize, ld: i32, x: usize): void {
  im2col_f32(cols, ld, x, geo(g, C), geo(g, H), geo(g, W), geo(g, KH), geo(g, KW), geo(g, SH), geo(g, SW), geo(g, PH), geo(g, PW), geo(g, DH), geo(g, DW), geo(g, HO), geo(g, WO));
}

/** col2im_f32 of one image with the geometry at g. */
// @ts-ignore: decorator
@inline export function col2imWith(g: usize, x: usize, cols: usize, ld: i32): void {
  col2im_f32(x, cols, ld, geo(g, C), geo(g, H), geo(g, W), geo(g, KH), geo(g, KW), geo(g, SH), geo(g, SW), geo(g, PH), geo(g, PW), geo(g, DH), geo(g, DW), geo(g, HO), geo(g, WO));
}

/** im2col of `count` images: image i from x + i·xStep to cols + i·colStep (bytes), rows ld floats apart; the geometry at g. */
export function im2col_images_f32(cols: usize, colStep: usize, ld: i32, x: usize, xStep: usize, count: i32, g: usize): void {
  for (let i = 0; i < count; i++) im2colWith(g, cols + <usize>i * colStep, ld, x + <usize>i * xStep);
}

/** col2im of `count` images: image i from cols + i·colStep added into x + i·xStep (bytes); the geometry at g. */
export function col2im_images_f32(x: usize, xStep: usize, cols: usize, colStep: usize, ld: i32, count: i32, g: usize): void {
  for (let i = 0; i < count; i++) col2imWith(g, x + <usize>i * xStep, cols + <usize>i * colStep, ld);
}
