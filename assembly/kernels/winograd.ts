// 3×3 convolution at stride 1 by Winograd's minimal filtering F(2×2, 3×3), f32 (Lavin & Gray, 2016). Each 2×2 block
// of output (a tile) comes from a 4×4 block of input d and the 3×3 filter g as
//   y = Aᵀ [(G g Gᵀ) ⊙ (Bᵀ d B)] A,
// so a tile costs 16 multiply-adds per (input, output) channel pair instead of 36: the 16 products, one per point ξ of
// the 4×4 transform, are 16 GEMMs M_ξ (Cout, tiles) = U_ξ (Cout, C) · V_ξ (C, tiles), over U = G g Gᵀ (the filter,
// transformed once per call) and V = Bᵀ d B (the input, transformed per chunk of images). The transforms only add
// and halve, so the error stays close to that of the direct sums (F(4×4, 3×3) would save more products, but its
// transforms scale by constants up to 8 and the float32 error grows with them).
//
// Layouts: U (16, Cout, C), its points padded apart (filterPointStride); V (16, C, T) and M (16, Cout, T), with
// T = images · tiles per image, a tile's column t = image · tilesH·tilesW + ty · tilesW + tx, rows and points padded
// apart (rowStride, pointStride). Input and output transforms work on 4 tiles of a row at once, one tile per lane.
import { C, COUT, geo, H, HO, PH, PW, W, WO } from './im2col';
import { storeLanes, storeTransposed4x4 } from './copy';
import { gemm_f32, gemm_nt_f32, gemm_scratch_floats, gemm_strided_f32 } from './gemm';

// @ts-ignore: decorator
@inline function at(base: usize, index: i32): usize {
  return base + (<usize>index << 2);
}

/** Points of the transform, 4×4. */
const POINTS = 16;

/**
 * Floats between the points of U (and of dU): a (cout, cin) plane and 64 bytes. With planes of a multiple of 4 KiB
 * (64×64 or 128×128 channels), the 16 points' stores of a filter all fell in one L1 set: the transform took 4× as
 * long.
 */
// @ts-ignore: decorator
@inline function filterPointStride(cout: i32, cin: i32): i32 {
  return cout * cin + 16;
}

/** Floats of U, or of one part of dU, for `cout` filters of `cin` channels: 16 points. */
export function winograd_filter_floats(cout: i32, cin: i32): i32 {
  return POINTS * filterPointStride(cout, cin);
}

/**
 * u (16 points, cout, cin) = G g Gᵀ for each filter g = w[o, c] (3×3) of w (cout, cin, 3, 3), with
 * G = [[1, 0, 0], [½, ½, ½], [½, −½, ½], [0, 0, 1]], the points filterPointStride apart (winograd_filter_floats in
 * all). Four filters side by side (input channels c … c + 3, 36 floats in a row) go through at once, one per lane,
 * so each point's four values are one store.
 */
export function winograd_filter_f32(u: usize, w: usize, cout: i32, cin: i32): void {
  const point = <usize>filterPointStride(cout, cin) << 2;
  for (let o = 0; o < cout; o++) {
    for (let c = 0; c < cin; c += 4) {
      const lanes = min(4, cin - c);
      const g = at(w, (o * cin + c) * 9);
      // Tap j of each lane's filter: a 4×4 transpose of the first 4 taps, one of the next 4, and the 9th.
      let t0: v128, t1: v128, t2: v128, t3: v128, t4: v128, t5: v128, t6: v128, t7: v128, t8: v128;
      if (lanes == 4) {
        const a0 = v128.load(g), a1 = v128.load(g, 36), a2 = v128.load(g, 72), a3 = v128.load(g, 108);
        const b0 = v128.load(g, 16), b1 = v128.load(g, 52), b2 = v128.load(g, 88), b3 = v128.load(g, 124);
        t0 = columnOf(a0, a1, a2, a3, 0);
        t1 = columnOf(a0, a1, a2, a3, 1);
        t2 = columnOf(a0, a1, a2, a3, 2);
        t3 = columnOf(a0, a1, a2, a3, 3);
        t4 = columnOf(b0, b1, b2, b3, 0);
        t5 = columnOf(b0, b1, b2, b3, 1);
        t6 = columnOf(b0, b1, b2, b3, 2);
        t7 = columnOf(b0, b1, b2, b3, 3);
        t8 = tapLanes(g, 8, 4);
      } else {
        t0 = tapLanes(g, 0, lanes);
        t1 = tapLanes(g, 1, lanes);
        t2 = tapLanes(g, 2, lanes);
        t3 = tapLanes(g, 3, lanes);
        t4 = tapLanes(g, 4, lanes);
        t5 = tapLanes(g, 5, lanes);
        t6 = tapLanes(g, 6, lanes);
        t7 = tapLanes(g, 7, lanes);
        t8 = tapLanes(g, 8, lanes);
      }
      // Rows i of G g (G on the filter's columns, taps j, 3 + j, 6 + j), each through G into points 4i … 4i + 3.
      const dst = at(u, o * cin + c);
      transformedRow(dst, point, lanes, t0, t1, t2);
      transformedRow(dst + 4 * point, point, lanes, halfSum(t0, t3, t6), halfSum(t1, t4, t7), halfSum(t2, t5, t8));
      transformedRow(dst + 8 * point, point, lanes, halfAlternate(t0, t3, t6), halfAlternate(t1, t4, t7), halfAlternate(t2, t5, t8));
      transformedRow(dst + 12 * point, point, lanes, t6, t7, t8);
    }
  }
}

/** Lane k of each of r0 … r3 as one vector: column k of the 4×4 block whose rows they are. */
// @ts-ignore: decorator
@inline function columnOf(r0: v128, r1: v128, r2: v128, r3: v128, k: i32): v128 {
  const top = k < 2 ? v128.shuffle<f32>(r0, r1, 0, 4, 1, 5) : v128.shuffle<f32>(r0, r1, 2, 6, 3, 7);
  const bottom = k < 2 ? v128.shuffle<f32>(r2, r3, 0, 4, 1, 5) : v128.shuffle<f32>(r2, r3, 2, 6, 3, 7);
  return (k & 1) == 0 ? v128.shuffle<f32>(top, bottom, 0, 1, 4, 5) : v128.shuffle<f32>(top, bottom, 2, 3, 6, 7);
}

/** Tap j of the `lanes` filters 9 floats apart at g, one per lane (zeros past them). */
// @ts-ignore: decorator
@inline function tapLanes(g: usize, j: i32, lanes: i32): v128 {
  let v = f32x4.splat(0);
  v = f32x4.replace_lane(v, 0, load<f32>(at(g, j)));
  if (lanes > 1) v = f32x4.replace_lane(v, 1, load<f32>(at(g, 9 + j)));
  if (lanes > 2) v = f32x4.replace_lane(v, 2, load<f32>(at(g, 18 + j)));
  if (lanes > 3) v = f32x4.replace_lane(v, 3, load<f32>(at(g, 27 + j)));
  return v;
}

/** (a + b + c) / 2: a row of G's middle rows on (a, b, c). */
// @ts-ignore: decorator
@inline function halfSum(a: v128, b: v128, c: v128): v128 {
  return f32x4.mul(f32x4.add(f32x4.add(a, b), c), f32x4.splat(0.5));
}

/** (a − b + c) / 2. */
// @ts-ignore: decorator
@inline function halfAlternate(a: v128, b: v128, c: v128): v128 {
  return f32x4.mul(f32x4.add(f32x4.sub(a, b), c), f32x4.splat(0.5));
}

/** The 4 points of G on the row (y0, y1, y2), at dst, dst + point, …, `lanes` filters each. */
// @ts-ignore: decorator
@inline function transformedRow(dst: usize, point: usize, lanes: i32, y0: v128, y1: v128, y2: v128): void {
  storeLanes(dst, y0, lanes);
  storeLanes(dst + point, halfSum(y0, y1, y2), lanes);
  storeLanes(dst + 2 * point, halfAlternate(y0, y1, y2), lanes);
  storeLanes(dst + 3 * point, y2, lanes);
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

/** (d B) for one line of 4 tiles side by side, from the padded line at the first tile's left edge: the tiles'
 * columns k = 0…3 are e_k (lane l: line[2l + k]), and h = (e0 − e2, e1 + e2, e2 − e1, e1 − e3), stored at dst, dst + 16, …
 */
// @ts-ignore: decorator
@inline function lineTimesB(dst: usize, line: usize): void {
  const a = v128.load(line), b = v128.load(line, 16), c = v128.load(line, 32);
  const e0 = v128.shuffle<f32>(a, b, 0, 2, 4, 6);
  const e1 = v128.shuffle<f32>(a, b, 1, 3, 5, 7);
  storeTimesB(dst, e0, e1, v128.shuffle<f32>(e0, c, 1, 2, 3, 4), v128.shuffle<f32>(e1, c, 1, 2, 3, 5));
}

/**
 * lineTimesB for a group of two lines of 2 tiles (a plane 2 tiles wide): lanes 0 and 1 from `line`, 2 and 3 from
 * the same line of the next row of tiles, `below`.
 */
// @ts-ignore: decorator
@inline function linePairTimesB(dst: usize, line: usize, below: usize): void {
  const a = v128.load(line), c = v128.load(below);
  const ab = v128.shuffle<f32>(a, v128.load(line, 16), 2, 3, 4, 5), cd = v128.shuffle<f32>(c, v128.load(below, 16), 2, 3, 4, 5);
  const e0 = v128.shuffle<f32>(a, c, 0, 2, 4, 6), e1 = v128.shuffle<f32>(a, c, 1, 3, 5, 7);
  storeTimesB(dst, e0, e1, v128.shuffle<f32>(ab, cd, 0, 2, 4, 6), v128.shuffle<f32>(ab, cd, 1, 3, 5, 7));
}

/** h = (e0 − e2, e1 + e2, e2 − e1, e1 − e3) at dst, dst + 16, … : d B from the tiles' columns e_k. */
// @ts-ignore: decorator
@inline function storeTimesB(dst: usize, e0: v128, e1: v128, e2: v128, e3: v128): void {
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
 * order) or, past the row's last tile, in the room between rows. In a plane 2 tiles wide (3×3 or 4×4 outputs), a
 * group is 2 tiles of two lines (twoLines), which are the next 4 tiles of V: no lane is idle.
 */
function inputTiles(v: usize, ld: i32, pad: usize, width: i32, tilesH: i32, tilesW: i32, h: usize): void {
  const step = <usize>ld << 2;
  for (let ty = 0; ty < tilesH; ty += twoLines(ty, tilesH, tilesW) ? 2 : 1) {
    const row = at(pad, 2 * ty * width);
    const pair = twoLines(ty, tilesH, tilesW);
    for (let tx = 0; tx < tilesW; tx += 4) {
      for (let r = 0; r < 4; r++) {
        const line = at(row, r * width + 2 * tx);
        if (pair) linePairTimesB(h + (<usize>r << 6), line, at(line, 2 * width));
        else lineTimesB(h + (<usize>r << 6), line);
      }
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

/** Whether the group at line of tiles ty takes two lines: a plane 2 tiles wide, with a line after ty. */
// @ts-ignore: decorator
@inline function twoLines(ty: i32, tilesH: i32, tilesW: i32): bool {
  return tilesW == 2 && ty + 1 < tilesH;
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
  for (let ty = 0; ty < tilesH; ty += twoLines(ty, tilesH, tilesW) ? 2 : 1) {
    const pair = twoLines(ty, tilesH, tilesW);
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
      if (pair) {
        // Lanes 2 and 3 are the next line of tiles: top1 and bot1 are output lines y0 + 2 and y0 + 3, wo ≤ 4 wide.
        storeLanes(top, top0, wo);
        storeLanes(at(top, wo), bot0, wo);
        storeLanes(at(top, 2 * wo), top1, wo);
        if (y0 + 3 < ho) storeLanes(at(top, 3 * wo), bot1, wo);
        continue;
      }
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
    if (n > 4) storeLanes(at(dst, 4), hi, n - 4);
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

/** The point (4·σ(i) + σ(j)) that point 4i + j of a flipped filter's transform is, σ swapping 0 and 3. */
// @ts-ignore: decorator
@inline function mirroredPoint(p: i32): i32 {
  const i = p >> 2, j = p & 3;
  return 4 * (i == 0 || i == 3 ? 3 - i : i) + (j == 0 || j == 3 ? 3 - j : j);
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
 *
 * With `flipped`, u is the transform of a (C, Cout) filter w and the convolution's filter is w flipped, its channels
 * swapped (an input gradient, as a forward convolution of dy). That filter's transform is u's with each point's
 * matrix transposed and the points mirrored: G·J = P·G for the flip J and the swap P of rows 0 and 3, so
 * G (J g J) Gᵀ = P (G g Gᵀ) Pᵀ. The GEMMs read u so, and no flipped filter is made.
 */
export function winograd_conv2d_images_f32(y: usize, x: usize, u: usize, flipped: i32, bias: usize, g: usize, first: i32, count: i32, sub: i32, scratch: usize, scratchFloats: i32): void {
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
    for (let p = 0; p < POINTS; p++) {
      const a = at(u, (flipped ? mirroredPoint(p) : p) * filterPointStride(cout, c));
      gemm_f32(at(m, p * mp), ld, a, at(v, p * vp), ld, cout, T, c, flipped, 0, 0, packing);
    }
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
 * Groups are as inputTiles makes them (whole past the end of a line of tiles, two lines in a plane 2 tiles wide).
 */
function gradientTiles(dm: usize, ld: i32, pad: usize, width: i32, tilesH: i32, tilesW: i32): void {
  const step = <usize>ld << 2;
  for (let ty = 0; ty < tilesH; ty += twoLines(ty, tilesH, tilesW) ? 2 : 1) {
    const top = at(pad, 2 * ty * width), bottom = at(top, width);
    // Lanes 2 and 3 from 4 floats on, or, in a group of two lines, from the next line of tiles.
    const second = twoLines(ty, tilesH, tilesW) ? 2 * width : 4;
    for (let tx = 0; tx < tilesW; tx += 4) {
      // The tiles' 2×2 blocks, lane by lane: row a, column b as yab.
      const t0 = v128.load(at(top, 2 * tx)), t1 = v128.load(at(top, 2 * tx + second));
      const b0 = v128.load(at(bottom, 2 * tx)), b1 = v128.load(at(bottom, 2 * tx + second));
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
 * multiple of `sub`) gets dU_p (16, Cout, C), laid out as U, at parts + p·winograd_filter_floats(Cout, C), summed
 * over its chunks of `sub` images in order, by dot products where `dot` (no packing), else by the packed kernel.
 * The caller adds the parts in order (winograd_filter_gradient_f32), so the batch's partition into parts, not the
 * threads, fixes every summation order. Scratch: winograd_filter_gradient_scratch_floats(sub, C, Cout, Ho, Wo, dot)
 * floats.
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
    const part = at(parts, (n0 / perPart) * winograd_filter_floats(cout, c));
    // A part's first chunk sets its dU, the later ones add to it.
    const accumulate = i32(n0 % perPart != 0);
    for (let p = 0; p < POINTS; p++) {
      const du = at(part, p * filterPointStride(cout, c));
      if (dot) gemm_nt_f32(du, c, at(dm, p * mp), ld, at(v, p * vp), ld, cout, c, T, accumulate);
      else gemm_strided_f32(du, c, at(dm, p * mp), ld, at(v, p * vp), ld, cout, c, T, 0, 1, accumulate, packing);
    }
  }
}

/**
 * dw[o, c] (3×3) = Gᵀ dU[·, o, c] G for filters o0 … o1−1, dU the sum in order of `count` parts (16, cout, cin) at
 * `parts`, winograd_filter_floats(cout, cin) apart (summed into the first part): the adjoint of winograd_filter_f32.
 */
export function winograd_filter_gradient_f32(dw: usize, parts: usize, count: i32, cout: i32, cin: i32, o0: i32, o1: i32): void {
  const stride = filterPointStride(cout, cin), part = POINTS * stride;
  const rows = (o1 - o0) * cin;
  for (let p = 0; p < POINTS; p++) {
    const acc = at(parts, p * stride + o0 * cin);
    for (let q = 1; q < count; q++) {
      const src = at(acc, q * part);
      let j = 0;
      for (; j + 4 <= rows; j += 4) v128.store(at(acc, j), f32x4.add(v128.load(at(acc, j)), v128.load(at(src, j))));
      for (; j < rows; j++) store<f32>(at(acc, j), load<f32>(at(acc, j)) + load<f32>(at(src, j)));
    }
  }
  const point = <usize>stride << 2;
  for (let o = o0; o < o1; o++) {
    // Four filters side by side (input channels c … c + 3), one per lane, as winograd_filter_f32 takes them.
    for (let c = 0; c < cin; c += 4) {
      const lanes = min(4, cin - c);
      const src = at(parts, o * cin + c);
      // Gᵀ on the columns j of dU (rows a of Gᵀ dU), then on each row's 4 values: taps 3a … 3a + 2.
      let r0 = transposedG(src, point, lanes, 0), r1 = transposedG(src + point, point, lanes, 0);
      let r2 = transposedG(src + 2 * point, point, lanes, 0), r3 = transposedG(src + 3 * point, point, lanes, 0);
      const t0 = rowOfGt(0, r0, r1, r2, r3), t1 = rowOfGt(1, r0, r1, r2, r3), t2 = rowOfGt(2, r0, r1, r2, r3);
      r0 = transposedG(src, point, lanes, 1);
      r1 = transposedG(src + point, point, lanes, 1);
      r2 = transposedG(src + 2 * point, point, lanes, 1);
      r3 = transposedG(src + 3 * point, point, lanes, 1);
      const t3 = rowOfGt(0, r0, r1, r2, r3), t4 = rowOfGt(1, r0, r1, r2, r3), t5 = rowOfGt(2, r0, r1, r2, r3);
      r0 = transposedG(src, point, lanes, 2);
      r1 = transposedG(src + point, point, lanes, 2);
      r2 = transposedG(src + 2 * point, point, lanes, 2);
      r3 = transposedG(src + 3 * point, point, lanes, 2);
      const t6 = rowOfGt(0, r0, r1, r2, r3), t7 = rowOfGt(1, r0, r1, r2, r3), t8 = rowOfGt(2, r0, r1, r2, r3);
      const out = at(dw, (o * cin + c) * 9);
      if (lanes == 4) {
        storeTransposed4x4(out, 36, t0, t1, t2, t3);
        storeTransposed4x4(out + 16, 36, t4, t5, t6, t7);
        store<f32>(out, f32x4.extract_lane(t8, 0), 32);
        store<f32>(out, f32x4.extract_lane(t8, 1), 68);
        store<f32>(out, f32x4.extract_lane(t8, 2), 104);
        store<f32>(out, f32x4.extract_lane(t8, 3), 140);
        continue;
      }
      for (let l = 0; l < lanes; l++) {
        const filter = at(out, 9 * l);
        store<f32>(filter, laneOf(t0, l));
        store<f32>(filter, laneOf(t1, l), 4);
        store<f32>(filter, laneOf(t2, l), 8);
        store<f32>(filter, laneOf(t3, l), 12);
        store<f32>(filter, laneOf(t4, l), 16);
        store<f32>(filter, laneOf(t5, l), 20);
        store<f32>(filter, laneOf(t6, l), 24);
        store<f32>(filter, laneOf(t7, l), 28);
        store<f32>(filter, laneOf(t8, l), 32);
      }
    }
  }
}

/** v / 2. */
// @ts-ignore: decorator
@inline function halfOf(v: v128): v128 {
  return f32x4.mul(v, f32x4.splat(0.5));
}

/** Lane l (0 to 3) of v. */
// @ts-ignore: decorator
@inline function laneOf(v: v128, l: i32): f32 {
  if (l == 0) return f32x4.extract_lane(v, 0);
  if (l == 1) return f32x4.extract_lane(v, 1);
  if (l == 2) return f32x4.extract_lane(v, 2);
  return f32x4.extract_lane(v, 3);
}

/** The first `lanes` floats at p, zeros past them. */
// @ts-ignore: decorator
@inline function loadLanes(p: usize, lanes: i32): v128 {
  if (lanes == 4) return v128.load(p);
  let v = f32x4.splat(0);
  v = f32x4.replace_lane(v, 0, load<f32>(p));
  if (lanes > 1) v = f32x4.replace_lane(v, 1, load<f32>(p, 4));
  if (lanes > 2) v = f32x4.replace_lane(v, 2, load<f32>(p, 8));
  return v;
}

/**
 * Row a of Gᵀ on column j of dU, for `lanes` filters side by side: dU[i, j] at src + i·4·point (bytes), src at
 * column j.
 */
// @ts-ignore: decorator
@inline function transposedG(src: usize, point: usize, lanes: i32, a: i32): v128 {
  const u1 = loadLanes(src + 4 * point, lanes), u2 = loadLanes(src + 8 * point, lanes);
  // Row 0 reads u0, row 2 u3, row 1 neither.
  const edge = a == 0 ? loadLanes(src, lanes) : a == 2 ? loadLanes(src + 12 * point, lanes) : u1;
  return rowOfGt(a, edge, u1, u2, edge);
}

/** Row a of Gᵀ = [[1, ½, ½, 0], [0, ½, −½, 0], [0, ½, ½, 1]] on (u0, u1, u2, u3). */
// @ts-ignore: decorator
@inline function rowOfGt(a: i32, u0: v128, u1: v128, u2: v128, u3: v128): v128 {
  if (a == 0) return f32x4.add(u0, halfOf(f32x4.add(u1, u2)));
  if (a == 1) return halfOf(f32x4.sub(u1, u2));
  return f32x4.add(halfOf(f32x4.add(u1, u2)), u3);
}
