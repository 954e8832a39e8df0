// 3×3 convolution at stride 1 by Winograd's minimal filtering F(2×2, 3×3), f32 (Lavin & Gray, 2016). Each 2×2 block
// of output (a tile) comes from a 4×4 block of input d and the 3×3 filter g as
//   y = Aᵀ [(G g Gᵀ) ⊙ (Bᵀ d B)] A,
// so a tile costs 16 multiply-adds per (input, output) channel pair instead of 36: the 16 products, one per point ξ of
// the 4×4 transform, are 16 GEMMs M_ξ (Cout, tiles) = U_ξ (Cout, C) · V_ξ (C, tiles), over U = G g Gᵀ (the filter,
// transformed once per call) and V = Bᵀ d B (the input, transformed per chunk of images). The transforms only add
// and halve, so the error stays close to that of the direct sums (F(4×4, 3×3) would save more products, but its
// transforms scale by constants up to 8 and the float32 error grows with them).
//
// Layouts: U (16, Cout, C); V (16, C, T) and M (16, Cout, T), with T = images · tiles per image, a tile's column
// t = image · tilesH·tilesW + ty · tilesW + tx, rows and points padded apart (rowStride, pointStride). Input and
// output transforms work on 4 tiles of a row at once, one tile per lane.
import { C, COUT, geo, H, HO, PH, PW, W, WO } from './im2col';
import { gemm_f32, gemm_nt_f32, gemm_scratch_floats, gemm_strided_f32 } from './gemm';

// @ts-ignore: decorator
@inline function at(base: usize, index: i32): usize {
  return base + (<usize>index << 2);
}

/** Points of the transform, 4×4. */
const POINTS = 16;

/**
 * u (16, cout, cin) = G g Gᵀ for each filter g = w[o, c] (3×3) of w (cout, cin, 3, 3), with
 * G = [[1, 0, 0], [½, ½, ½], [½, −½, ½], [0, 0, 1]].
 */
export function winograd_filter_f32(u: usize, w: usize, cout: i32, cin: i32): void {
  const plane = cout * cin;
  for (let o = 0; o < cout; o++) {
    for (let c = 0; c < cin; c++) {
      const g = at(w, (o * cin + c) * 9);
      // G on the filter's columns, one row of G g at a time, then G on that row (its columns of G g Gᵀ).
      for (let i = 0; i < 4; i++) {
        const g0 = filterRow(g, i, 0), g1 = filterRow(g, i, 1), g2 = filterRow(g, i, 2);
        const dst = at(u, 4 * i * plane + o * cin + c);
        store<f32>(dst, g0);
        store<f32>(at(dst, plane), (g0 + g1 + g2) * 0.5);
        store<f32>(at(dst, 2 * plane), (g0 - g1 + g2) * 0.5);
        store<f32>(at(dst, 3 * plane), g2);
      }
    }
  }
}

/** (G g)[i, j] for the 3×3 filter at g. */
// @ts-ignore: decorator
@inline function filterRow(g: usize, i: i32, j: i32): f32 {
  const g0 = load<f32>(at(g, j)), g1 = load<f32>(at(g, 3 + j)), g2 = load<f32>(at(g, 6 + j));
  if (i == 0) return g0;
  if (i == 1) return (g0 + g1 + g2) * 0.5;
  if (i == 2) return (g0 - g1 + g2) * 0.5;
  return g2;
}

/** Tiles of an output line of n pixels: 2 pixels per tile. */
// @ts-ignore: decorator
@inline function tiles(n: i32): i32 {
  return (n + 1) >> 1;
}

/** Width of the zero-padded copy of a plane: 4 lanes of tiles read 12 floats from 8 tiles' step. */
// @ts-ignore: decorator
@inline function paddedWidth(tilesW: i32): i32 {
  return ((tilesW + 3) >> 2) * 8 + 4;
}

/**
 * pad (2·tilesH + 2, paddedWidth) ← the plane x (h, w) placed at (ph, pw), zeros around it: every tile's 4×4 block
 * of input, and the 12 floats its lane group loads, lie inside.
 */
function padPlane(pad: usize, rows: i32, width: i32, x: usize, h: i32, w: i32, ph: i32, pw: i32): void {
  for (let r = 0; r < rows; r++) {
    const line = at(pad, r * width);
    const y = r - ph;
    if (y < 0 || y >= h) {
      // A loop: memory.fill on shared memory is a call out of wasm, dearer than a short line.
      for (let j = 0; j < width; j += 4) v128.store(at(line, j), f32x4.splat(0));
      continue;
    }
    const j0 = min(pw, width);
    const j1 = min(width, pw + w);
    for (let j = 0; j < j0; j++) store<f32>(at(line, j), 0);
    const src = at(x, y * w - pw);
    let j = j0;
    for (; j + 4 <= j1; j += 4) v128.store(at(line, j), v128.load(at(src, j)));
    for (; j < j1; j++) store<f32>(at(line, j), load<f32>(at(src, j)));
    for (; j < width; j++) store<f32>(at(line, j), 0);
  }
}

/** Stores the first `n` (< 4) lanes of v at dst. */
// @ts-ignore: decorator
@inline function storeLanes(dst: usize, v: v128, n: i32): void {
  if (n > 0) store<f32>(dst, f32x4.extract_lane(v, 0));
  if (n > 1) store<f32>(dst, f32x4.extract_lane(v, 1), 4);
  if (n > 2) store<f32>(dst, f32x4.extract_lane(v, 2), 8);
}

/** (d B) for one line of 4 tiles side by side, from the padded line at the first tile's left edge: the tiles'
 * columns k = 0…3 are e_k (lane l: line[2l + k]), and h = (e0 − e2, e1 + e2, e2 − e1, e1 − e3), stored at dst, dst + 16, …
 */
// @ts-ignore: decorator
@inline function lineTimesB(dst: usize, line: usize): void {
  const a = v128.load(line), b = v128.load(line, 16), c = v128.load(line, 32);
  const e0 = v128.shuffle<f32>(a, b, 0, 2, 4, 6);
  const e1 = v128.shuffle<f32>(a, b, 1, 3, 5, 7);
  const e2 = v128.shuffle<f32>(e0, c, 1, 2, 3, 4);
  const e3 = v128.shuffle<f32>(e1, c, 1, 2, 3, 5);
  v128.store(dst, f32x4.sub(e0, e2));
  v128.store(dst, f32x4.add(e1, e2), 16);
  v128.store(dst, f32x4.sub(e2, e1), 32);
  v128.store(dst, f32x4.sub(e1, e3), 48);
}

/**
 * V[ξ, c, t0 + tile] = (Bᵀ d B)_ξ for each tile of the padded plane `pad`, Bᵀ = [[1, 0, −1, 0], [0, 1, 1, 0],
 * [0, −1, 1, 0], [0, 1, 0, −1]]; `v` points at V[0, c, t0], the points ld floats apart. `h` (64 floats) holds the
 * 4 lines' d B for a group of 4 tiles, which Bᵀ then combines column by column. A group past the end of a line of
 * tiles is stored whole: its extra lanes land on tiles stored later (the caller goes through each row of V in
 * order) or, past the row's last tile, in the room between rows.
 */
function inputTiles(v: usize, ld: i32, pad: usize, width: i32, tilesH: i32, tilesW: i32, h: usize): void {
  const step = <usize>ld << 2;
  for (let ty = 0; ty < tilesH; ty++) {
    const row = at(pad, 2 * ty * width);
    for (let tx = 0; tx < tilesW; tx += 4) {
      for (let r = 0; r < 4; r++) lineTimesB(h + (<usize>r << 6), at(row, r * width + 2 * tx));
      let out = at(v, ty * tilesW + tx);
      for (let j = 0; j < 4; j++) {
        const col = h + (<usize>j << 4);
        const h0 = v128.load(col), h1 = v128.load(col, 64), h2 = v128.load(col, 128), h3 = v128.load(col, 192);
        // Point ξ = 4i + j: row i of Bᵀ on column j.
        const v0 = f32x4.sub(h0, h2), v1 = f32x4.add(h1, h2), v2 = f32x4.sub(h2, h1), v3 = f32x4.sub(h1, h3);
        v128.store(out, v0);
        v128.store(out + 4 * step, v1);
        v128.store(out + 8 * step, v2);
        v128.store(out + 12 * step, v3);
        out += step;
      }
    }
  }
}

/** Row 0 of Aᵀ on a column of M (points p, p + 4·step, p + 8·step): m0 + m1 + m2. */
// @ts-ignore: decorator
@inline function topOfA(p: usize, step: usize): v128 {
  return f32x4.add(f32x4.add(v128.load(p), v128.load(p + 4 * step)), v128.load(p + 8 * step));
}

/** Row 1 of Aᵀ on a column of M: m1 − m2 − m3. */
// @ts-ignore: decorator
@inline function bottomOfA(p: usize, step: usize): v128 {
  return f32x4.sub(f32x4.sub(v128.load(p + 4 * step), v128.load(p + 8 * step)), v128.load(p + 12 * step));
}

/**
 * y (Ho, Wo) of one output channel, plus `b`, from M[ξ, o, t0 + tile] (`m` at M[0, o, t0], points ld floats apart):
 * each tile's 2×2 block is Aᵀ M A, Aᵀ = [[1, 1, 1, 0], [0, 1, −1, −1]], cropped to the plane at an odd edge.
 */
function outputTiles(y: usize, ho: i32, wo: i32, m: usize, ld: i32, tilesH: i32, tilesW: i32, b: f32): void {
  const step = <usize>ld << 2;
  const vb = f32x4.splat(b);
  for (let ty = 0; ty < tilesH; ty++) {
    for (let tx = 0; tx < tilesW; tx += 4) {
      // s_i = row i of Aᵀ on column j of M, for j = 0…3; then Aᵀ on the columns of s.
      const p = at(m, ty * tilesW + tx);
      const s00 = topOfA(p, step), s01 = topOfA(p + step, step), s02 = topOfA(p + 2 * step, step), s03 = topOfA(p + 3 * step, step);
      const s10 = bottomOfA(p, step), s11 = bottomOfA(p + step, step), s12 = bottomOfA(p + 2 * step, step), s13 = bottomOfA(p + 3 * step, step);
      const y00 = f32x4.add(f32x4.add(f32x4.add(s00, s01), s02), vb);
      const y01 = f32x4.add(f32x4.sub(f32x4.sub(s01, s02), s03), vb);
      const y10 = f32x4.add(f32x4.add(f32x4.add(s10, s11), s12), vb);
      const y11 = f32x4.add(f32x4.sub(f32x4.sub(s11, s12), s13), vb);
      // Interleave each output line's two columns: pixels 2·tx … 2·tx + 7.
      const top0 = v128.shuffle<f32>(y00, y01, 0, 4, 1, 5), top1 = v128.shuffle<f32>(y00, y01, 2, 6, 3, 7);
      const bot0 = v128.shuffle<f32>(y10, y11, 0, 4, 1, 5), bot1 = v128.shuffle<f32>(y10, y11, 2, 6, 3, 7);
      const x0 = 2 * tx, y0 = 2 * ty;
      const top = at(y, y0 * wo + x0);
      const n = min(8, wo - x0);
      const bottom = y0 + 1 < ho;
      if (n == 8) {
        v128.store(top, top0);
        v128.store(top, top1, 16);
        if (bottom) {
          v128.store(at(top, wo), bot0);
          v128.store(at(top, wo), bot1, 16);
        }
        continue;
      }
      storeRun(top, top0, top1, n);
      if (bottom) storeRun(at(top, wo), bot0, bot1, n);
    }
  }
}

/** Stores the first n (< 8) floats of the 8 in lo, hi at dst. */
function storeRun(dst: usize, lo: v128, hi: v128, n: i32): void {
  if (n >= 4) {
    v128.store(dst, lo);
    storeLanes(at(dst, 4), hi, n - 4);
    return;
  }
  storeLanes(dst, lo, n);
}

/**
 * V (rows ld floats apart, points vp apart) ← the input transform of images n0 … n0+nb−1 of x, each plane through the
 * padded copy at `pad`, with `h` (64 floats) for inputTiles: the forward pass's and the filter gradient's first step.
 */
function inputImages(v: usize, ld: i32, vp: i32, x: usize, g: usize, n0: i32, nb: i32, pad: usize, h: usize): void {
  const c = geo(g, C), ih = geo(g, H), iw = geo(g, W), ph = geo(g, PH), pw = geo(g, PW);
  const tilesH = tiles(geo(g, HO)), tilesW = tiles(geo(g, WO)), perImage = tilesH * tilesW;
  const width = paddedWidth(tilesW);
  for (let i = 0; i < nb; i++) {
    for (let ch = 0; ch < c; ch++) {
      padPlane(pad, 2 * tilesH + 2, width, at(x, ((n0 + i) * c + ch) * ih * iw), ih, iw, ph, pw);
      inputTiles(at(v, ch * ld + i * perImage), vp, pad, width, tilesH, tilesW, h);
    }
  }
}

/**
 * Floats between the rows of V and M, and between their points: T + 16 and rows·(T + 16) + 16. With strides of a
 * multiple of 4 KiB (T = 1024, or 16 channels of 256 tiles), the 16 points' stores of the input transform, the 16 loads
 * of the output transform and the GEMM's reads down a panel of V would all fall in one L1 set; 64 bytes more per
 * row and per point spread them over the sets.
 */
// @ts-ignore: decorator
@inline function rowStride(T: i32): i32 {
  return T + 16;
}

// @ts-ignore: decorator
@inline function pointStride(rows: i32, T: i32): i32 {
  return rows * rowStride(T) + 16;
}

/**
 * Floats of a call's scratch before its GEMM's packing, for chunks of `sub` images: V and M (or dM), each with room
 * for the lanes a partial group reads past its last row, the padded plane (an input plane, or a plane of dy, whose
 * rows are fewer) and the 4 lines' d B of a group of tiles.
 */
// @ts-ignore: decorator
@inline function chunkFloats(sub: i32, c: i32, cout: i32, ho: i32, wo: i32): i32 {
  const th = tiles(ho), tw = tiles(wo), T = sub * th * tw;
  return POINTS * (pointStride(c, T) + pointStride(cout, T)) + 16 + (2 * th + 2) * paddedWidth(tw) + 64;
}

/** The area after V (M) or after M (the padded plane) in chunkFloats' layout, for up to maxT tiles a chunk. */
// @ts-ignore: decorator
@inline function afterPoints(area: usize, channels: i32, maxT: i32): usize {
  return at(area, POINTS * pointStride(channels, maxT) + 8);
}

/** Floats of scratch winograd_conv2d_images_f32 needs for chunks of `sub` images: chunkFloats, then the packing. */
export function winograd_scratch_floats(sub: i32, c: i32, cout: i32, ho: i32, wo: i32): i32 {
  return chunkFloats(sub, c, cout, ho, wo) + gemm_scratch_floats(sub * tiles(ho) * tiles(wo), c);
}

/**
 * y (N, Cout, Ho, Wo) for images first … first+count−1 of x (N, C, H, W), a 3×3 convolution at stride 1 with the
 * filter transformed into u (winograd_filter_f32) and bias (Cout) added unless `bias` is 0, `sub` images at a time,
 * in winograd_scratch_floats(sub, C, Cout, Ho, Wo) floats of `scratch`. The geometry at `g` as abi.ts lays it out
 * (its kernel, stride, dilation and groups are not read).
 */
export function winograd_conv2d_images_f32(y: usize, x: usize, u: usize, bias: usize, g: usize, first: i32, count: i32, sub: i32, scratch: usize, scratchFloats: i32): void {
  const c = geo(g, C);
  const ho = geo(g, HO), wo = geo(g, WO), cout = geo(g, COUT);
  // Sized by the caller; too small, the kernel would write past it into other tensors: trap instead.
  if (winograd_scratch_floats(sub, c, cout, ho, wo) > scratchFloats) unreachable();
  const tilesH = tiles(ho), tilesW = tiles(wo), perImage = tilesH * tilesW;
  const rows = 2 * tilesH + 2, width = paddedWidth(tilesW);
  const maxT = sub * perImage;
  const v = scratch, m = afterPoints(v, c, maxT), pad = afterPoints(m, cout, maxT);
  const hb = at(pad, rows * width), packing = at(hb, 64);
  for (let n0 = first; n0 < first + count; n0 += sub) {
    const nb = min(sub, first + count - n0);
    const T = nb * perImage, ld = rowStride(T), vp = pointStride(c, T), mp = pointStride(cout, T);
    inputImages(v, ld, vp, x, g, n0, nb, pad, hb);
    for (let p = 0; p < POINTS; p++) gemm_f32(at(m, p * mp), ld, at(u, p * cout * c), at(v, p * vp), ld, cout, T, c, 0, 0, 0, packing);
    for (let i = 0; i < nb; i++) {
      for (let o = 0; o < cout; o++) {
        const b: f32 = bias ? load<f32>(at(bias, o)) : 0;
        outputTiles(at(y, ((n0 + i) * cout + o) * ho * wo), ho, wo, at(m, o * ld + i * perImage), mp, tilesH, tilesW, b);
      }
    }
  }
}

// ---------------------------------------------------------------------------------------------------------------
// The filter gradient. With dM = A dY Aᵀ per tile (the adjoint of the output transform), the gradient of U_ξ is
// dU_ξ (Cout, C) = Σ_tiles dM_ξ · V_ξᵀ, 16 GEMMs as deep as the tiles, and dW = Gᵀ dU G per filter (the adjoint of
// the filter transform).

/**
 * dM[ξ, o, t0 + tile] = (A dY Aᵀ)_ξ for each tile of the padded plane `pad` of dy (one output channel, zeros past
 * its edges), A = [[1, 0], [1, 1], [1, −1], [0, −1]]; `dm` points at dM[0, o, t0], the points ld floats apart.
 * Groups past the end of a line of tiles are stored whole, as inputTiles stores them.
 */
function gradientTiles(dm: usize, ld: i32, pad: usize, width: i32, tilesH: i32, tilesW: i32): void {
  const step = <usize>ld << 2;
  for (let ty = 0; ty < tilesH; ty++) {
    const top = at(pad, 2 * ty * width), bottom = at(top, width);
    for (let tx = 0; tx < tilesW; tx += 4) {
      // The tiles' 2×2 blocks, lane by lane: row a, column b as yab.
      const t0 = v128.load(at(top, 2 * tx)), t1 = v128.load(at(top, 2 * tx + 4));
      const b0 = v128.load(at(bottom, 2 * tx)), b1 = v128.load(at(bottom, 2 * tx + 4));
      const y00 = v128.shuffle<f32>(t0, t1, 0, 2, 4, 6), y01 = v128.shuffle<f32>(t0, t1, 1, 3, 5, 7);
      const y10 = v128.shuffle<f32>(b0, b1, 0, 2, 4, 6), y11 = v128.shuffle<f32>(b0, b1, 1, 3, 5, 7);
      const out = at(dm, ty * tilesW + tx);
      // Rows of A dY: (y0, y0 + y1, y0 − y1, −y1) for each column; then A on each row's two values.
      gradientRow(out, step, y00, y01);
      gradientRow(out + 4 * step, step, f32x4.add(y00, y10), f32x4.add(y01, y11));
      gradientRow(out + 8 * step, step, f32x4.sub(y00, y10), f32x4.sub(y01, y11));
      gradientRow(out + 12 * step, step, f32x4.neg(y10), f32x4.neg(y11));
    }
  }
}

/** Points 4i … 4i + 3 of dM from row i of A dY, (r0, r1): (r0, r0 + r1, r0 − r1, −r1). */
// @ts-ignore: decorator
@inline function gradientRow(dst: usize, step: usize, r0: v128, r1: v128): void {
  v128.store(dst, r0);
  v128.store(dst + step, f32x4.add(r0, r1));
  v128.store(dst + 2 * step, f32x4.sub(r0, r1));
  v128.store(dst + 3 * step, f32x4.neg(r1));
}

/**
 * Floats of scratch winograd_filter_gradient_images_f32 needs for chunks of `sub` images: chunkFloats, then the
 * packing (none by dot products).
 */
export function winograd_filter_gradient_scratch_floats(sub: i32, c: i32, cout: i32, ho: i32, wo: i32, dot: i32): i32 {
  return chunkFloats(sub, c, cout, ho, wo) + (dot ? 0 : gemm_scratch_floats(c, sub * tiles(ho) * tiles(wo)));
}

/**
 * The parts of dU for images first … first+count−1 (first a multiple of `perPart`), a 3×3 convolution at stride 1 of
 * x (N, C, H, W) with output gradient dy (N, Cout, Ho, Wo): part p (images p·perPart … p·perPart + perPart − 1, a
 * multiple of `sub`) gets dU_p (16, Cout, C) at parts + p·16·Cout·C, summed over its chunks of `sub` images in order,
 * by dot products where `dot` (no packing), else by the packed kernel. The caller adds the parts in order
 * (winograd_filter_gradient_f32), so the batch's partition into parts, not the threads, fixes every summation order.
 * Scratch: winograd_filter_gradient_scratch_floats(sub, C, Cout, Ho, Wo, dot) floats.
 */
export function winograd_filter_gradient_images_f32(parts: usize, x: usize, dy: usize, g: usize, first: i32, count: i32, sub: i32, perPart: i32, dot: i32, scratch: usize, scratchFloats: i32): void {
  const c = geo(g, C);
  const ho = geo(g, HO), wo = geo(g, WO), cout = geo(g, COUT);
  if (winograd_filter_gradient_scratch_floats(sub, c, cout, ho, wo, dot) > scratchFloats || perPart % sub != 0) unreachable();
  const tilesH = tiles(ho), tilesW = tiles(wo), perImage = tilesH * tilesW;
  const rows = 2 * tilesH + 2, width = paddedWidth(tilesW);
  const maxT = sub * perImage;
  const v = scratch, dm = afterPoints(v, c, maxT), pad = afterPoints(dm, cout, maxT);
  const hb = at(pad, rows * width), packing = at(hb, 64);
  for (let n0 = first; n0 < first + count; n0 += sub) {
    const nb = min(sub, first + count - n0);
    const T = nb * perImage, ld = rowStride(T), vp = pointStride(c, T), mp = pointStride(cout, T);
    inputImages(v, ld, vp, x, g, n0, nb, pad, hb);
    for (let i = 0; i < nb; i++) {
      for (let o = 0; o < cout; o++) {
        padPlane(pad, 2 * tilesH, width, at(dy, ((n0 + i) * cout + o) * ho * wo), ho, wo, 0, 0);
        gradientTiles(at(dm, o * ld + i * perImage), mp, pad, width, tilesH, tilesW);
      }
    }
    const part = at(parts, (n0 / perPart) * POINTS * cout * c);
    // A part's first chunk sets its dU, the later ones add to it.
    const accumulate = i32(n0 % perPart != 0);
    for (let p = 0; p < POINTS; p++) {
      const du = at(part, p * cout * c);
      if (dot) gemm_nt_f32(du, c, at(dm, p * mp), ld, at(v, p * vp), ld, cout, c, T, accumulate);
      else gemm_strided_f32(du, c, at(dm, p * mp), ld, at(v, p * vp), ld, cout, c, T, 0, 1, accumulate, packing);
    }
  }
}

/**
 * dw[o, c] (3×3) = Gᵀ dU[·, o, c] G for filters o0 … o1−1, dU the sum in order of `count` parts (16, cout, cin) at
 * `parts`, 16·cout·cin floats apart (summed into the first part): the adjoint of winograd_filter_f32.
 */
export function winograd_filter_gradient_f32(dw: usize, parts: usize, count: i32, cout: i32, cin: i32, o0: i32, o1: i32): void {
  const plane = cout * cin, part = POINTS * plane;
  const rows = (o1 - o0) * cin;
  for (let p = 0; p < POINTS; p++) {
    const acc = at(parts, p * plane + o0 * cin);
    for (let q = 1; q < count; q++) {
      const src = at(acc, q * part);
      let j = 0;
      for (; j + 4 <= rows; j += 4) v128.store(at(acc, j), f32x4.add(v128.load(at(acc, j)), v128.load(at(src, j))));
      for (; j < rows; j++) store<f32>(at(acc, j), load<f32>(at(acc, j)) + load<f32>(at(src, j)));
    }
  }
  for (let o = o0; o < o1; o++) {
    for (let c = 0; c < cin; c++) {
      const src = at(parts, o * cin + c);
      const out = at(dw, (o * cin + c) * 9);
      // Gᵀ on the columns j of dU (each column's 4 values to 3), then on the rows of that 3×4 result.
      for (let a = 0; a < 3; a++) {
        const r0 = transposedG(src, plane, a, 0), r1 = transposedG(src, plane, a, 1);
        const r2 = transposedG(src, plane, a, 2), r3 = transposedG(src, plane, a, 3);
        store<f32>(at(out, 3 * a), r0 + (r1 + r2) * 0.5);
        store<f32>(at(out, 3 * a + 1), (r1 - r2) * 0.5);
        store<f32>(at(out, 3 * a + 2), (r1 + r2) * 0.5 + r3);
      }
    }
  }
}

/** (Gᵀ dU)[a, j] for one filter, dU[i, j] at src + (4i + j)·plane. */
// @ts-ignore: decorator
@inline function transposedG(src: usize, plane: i32, a: i32, j: i32): f32 {
  const u1 = load<f32>(at(src, (4 + j) * plane)), u2 = load<f32>(at(src, (8 + j) * plane));
  if (a == 0) return load<f32>(at(src, j * plane)) + (u1 + u2) * 0.5;
  if (a == 1) return (u1 - u2) * 0.5;
  return (u1 + u2) * 0.5 + load<f32>(at(src, (12 + j) * plane));
}
