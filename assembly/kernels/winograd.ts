// 3×3 convolution at stride 1 by Winograd's minimal filtering F(2×4, 3×3), f32 (Lavin & Gray, 2016): F(2, 3) down
// the columns (points 0, ±1, ∞) and F(4, 3) along the lines (points 0, ±1, ±2, ∞). Each tile of 2 lines of 4 output
// pixels comes from a 4×6 block of input d and the 3×3 filter g as
//   y = A₂ᵀ [(G₂ g G₄ᵀ) ⊙ (B₂ᵀ d B₄)] A₄,
// 24 multiply-adds per tile and (input, output) channel pair: 3 per output element, against 4 for F(2×2, 3×3) and 9
// for the direct sums. The 24 products are 24 GEMMs M_ξ (Cout, T) = U_ξ (Cout, C) · V_ξ (C, T), point ξ = 6i + k for
// row i of the F(2, 3) side and k of the F(4, 3) side, over U = G₂ g G₄ᵀ (the filter, transformed once per call) and
// V = B₂ᵀ d B₄ (the input, transformed per chunk of images). F(4×4, 3×3) would save more products (2.25 per output),
// but its transforms scale by up to 8 (A₄) and 5 (B₄) on both sides: on inputs with a mean its float32 error is ~10×
// F(2×2, 3×3)'s, past what the direct sums make; F(4, 3) on one side only keeps it within ~2×.
//
// Layouts: U (24, Cout, C), its points padded apart (filterPointStride); V (24, C, T) and M (24, Cout, T), with
// T = images · tiles per image, a tile's column t = image · tilesH·tilesW + ty · tilesW + tx, rows and points padded
// apart (rowStride, pointStride).
//
// Input, output and gradient transforms take four tiles at a time, one per lane: the chunk's tiles t … t + 3 in their
// order (image, line of tiles, tile), whichever lines and images they lie in, so small maps fill the lanes as well
// as large ones. Each lane gathers its tile from the images' zero-padded planes.
import { C, COUT, geo, H, HO, PH, PW, W, WO } from './im2col';
import { storeLanes, storeTransposed4x4 } from './copy';
import { gemm_f32, gemm_nt_f32, gemm_scratch_floats, gemm_strided_f32 } from './gemm';

/** Points of the transform, 4×6. */
const POINTS = 24;
/** Floats of a group's staging area: the input's 4 lines through B₄ (24 vectors), or fewer of the others. */
const STAGE = 96;

const HALF: f32 = 0.5;
const QUARTER: f32 = 0.25;
const SIXTH: f32 = 1.0 / 6;
const TWELFTH: f32 = 1.0 / 12;
const TWENTY_FOURTH: f32 = 1.0 / 24;

// @ts-ignore: decorator
@inline function at(base: usize, index: i32): usize {
  return base + (<usize>index << 2);
}

/**
 * Floats between the points of U (and of dU): a (cout, cin) plane and 64 bytes. With planes of a multiple of 4 KiB
 * (64×64 or 128×128 channels), the points' stores of a filter all fell in one L1 set: the transform took 4× as
 * long.
 */
// @ts-ignore: decorator
@inline function filterPointStride(cout: i32, cin: i32): i32 {
  return cout * cin + 16;
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

/**
 * pad (rows, width) ← the plane x (h, w) placed at (ph, pw), zeros around it: every tile's 4×6 block of input, and
 * the 8 floats a lane loads from each of its lines, lie inside (paddedRows, paddedWidth).
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

/**
 * Floats between the rows of V and M, and between their points: T + 16 and rows·(T + 16) + 16. With strides of a
 * multiple of 4 KiB (T = 1024, or 16 channels of 256 tiles), the points' stores of the input transform, the loads
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
 * The parts' sum in order into the first, for filters o0 … o1−1: `count` parts (POINTS, cout, cin), laid out as U,
 * one after the other.
 */
// @ts-ignore: decorator
@inline function sumParts(parts: usize, count: i32, cout: i32, cin: i32, o0: i32, o1: i32): void {
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
}

/** Taps j of `lanes` (3×3) filters side by side at out (9 floats apart), tap j of filter l in lane l of tj. */
// @ts-ignore: decorator
@inline function storeTaps(out: usize, lanes: i32, t0: v128, t1: v128, t2: v128, t3: v128, t4: v128, t5: v128, t6: v128, t7: v128, t8: v128): void {
  if (lanes == 4) {
    storeTransposed4x4(out, 36, t0, t1, t2, t3);
    storeTransposed4x4(out + 16, 36, t4, t5, t6, t7);
    store<f32>(out, f32x4.extract_lane(t8, 0), 32);
    store<f32>(out, f32x4.extract_lane(t8, 1), 68);
    store<f32>(out, f32x4.extract_lane(t8, 2), 104);
    store<f32>(out, f32x4.extract_lane(t8, 3), 140);
    return;
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

// @ts-ignore: decorator
@inline function splat(x: f32): v128 {
  return f32x4.splat(x);
}

/** Floats of U, or of one part of dU, for `cout` filters of `cin` channels: 24 points. */
export function winograd_filter_floats(cout: i32, cin: i32): i32 {
  return POINTS * filterPointStride(cout, cin);
}

/** Row k of G₄ = [[¼, 0, 0], [−⅙, −⅙, −⅙], [−⅙, ⅙, −⅙], [1/24, 1/12, ⅙], [1/24, −1/12, ⅙], [0, 0, 1]] on (a, b, c). */
// @ts-ignore: decorator
@inline function rowOfG4(k: i32, a: v128, b: v128, c: v128): v128 {
  if (k == 0) return f32x4.mul(a, splat(QUARTER));
  if (k == 5) return c;
  if (k < 3) {
    const ac = f32x4.add(a, c);
    return f32x4.mul(k == 1 ? f32x4.add(ac, b) : f32x4.sub(ac, b), splat(-SIXTH));
  }
  const ac = f32x4.add(f32x4.mul(a, splat(TWENTY_FOURTH)), f32x4.mul(c, splat(SIXTH)));
  const b12 = f32x4.mul(b, splat(TWELFTH));
  return k == 3 ? f32x4.add(ac, b12) : f32x4.sub(ac, b12);
}

/** Row i of G₂ = [[1, 0, 0], [½, ½, ½], [½, −½, ½], [0, 0, 1]] on (a, b, c). */
// @ts-ignore: decorator
@inline function rowOfG2(i: i32, a: v128, b: v128, c: v128): v128 {
  if (i == 0) return a;
  if (i == 3) return c;
  const ac = f32x4.add(a, c);
  return f32x4.mul(i == 1 ? f32x4.add(ac, b) : f32x4.sub(ac, b), splat(HALF));
}

/** tapLanes; for four whole filters, taps 0 … 7 as a column of a 4×4 block of taps (shuffles, no lane inserts). */
// @ts-ignore: decorator
@inline function tapOf(g: usize, lanes: i32, j: i32): v128 {
  if (lanes < 4 || j == 8) return tapLanes(g, j, lanes);
  // Taps 0 … 3 or 4 … 7 of the four filters: one column of their 4×4 block.
  const q = g + (j < 4 ? 0 : 16);
  return columnOf(v128.load(q), v128.load(q, 36), v128.load(q, 72), v128.load(q, 108), j & 3);
}

/**
 * u (24 points, cout, cin) = G₂ g G₄ᵀ for each filter g = w[o, c] (3×3) of w (cout, cin, 3, 3), the points
 * filterPointStride apart (winograd_filter_floats in all); with `flipped`, of each filter turned by 180° (its tap j
 * is w's tap 8 − j). Four filters side by side (input channels c … c + 3) go through at once, one per lane.
 */
export function winograd_filter_f32(u: usize, w: usize, cout: i32, cin: i32, flipped: i32): void {
  const point = <usize>filterPointStride(cout, cin) << 2;
  const first = flipped ? 8 : 0, next = flipped ? -1 : 1;
  for (let o = 0; o < cout; o++) {
    for (let c = 0; c < cin; c += 4) {
      const lanes = min(4, cin - c);
      const g = at(w, (o * cin + c) * 9);
      const t0 = tapOf(g, lanes, first), t1 = tapOf(g, lanes, first + next), t2 = tapOf(g, lanes, first + 2 * next);
      const t3 = tapOf(g, lanes, first + 3 * next), t4 = tapOf(g, lanes, first + 4 * next), t5 = tapOf(g, lanes, first + 5 * next);
      const t6 = tapOf(g, lanes, first + 6 * next), t7 = tapOf(g, lanes, first + 7 * next), t8 = tapOf(g, lanes, first + 8 * next);
      const dst = at(u, o * cin + c);
      for (let i = 0; i < 4; i++) {
        // Row i of G₂ g (G₂ on the filter's columns: taps j, 3 + j, 6 + j), then G₄ on it: points 6i … 6i + 5.
        const y0 = rowOfG2(i, t0, t3, t6), y1 = rowOfG2(i, t1, t4, t7), y2 = rowOfG2(i, t2, t5, t8);
        for (let k = 0; k < 6; k++) storeLanes(dst + <usize>(6 * i + k) * point, rowOfG4(k, y0, y1, y2), lanes);
      }
    }
  }
}

/** Lines of tiles of an output plane n pixels tall: 2 lines per tile. */
// @ts-ignore: decorator
@inline function tilesDown(n: i32): i32 {
  return (n + 1) >> 1;
}

/** Tiles of an output line of n pixels: 4 pixels per tile. */
// @ts-ignore: decorator
@inline function tilesAcross(n: i32): i32 {
  return (n + 3) >> 2;
}

/** Lines of an image's padded plane: a tile reads 4 lines from 2 lines' step. */
// @ts-ignore: decorator
@inline function paddedRows(tilesH: i32): i32 {
  return 2 * tilesH + 2;
}

/** Width of an image's padded plane: a tile's lane loads 8 floats from 4 floats' step. */
// @ts-ignore: decorator
@inline function paddedWidth(tilesW: i32): i32 {
  return 4 * tilesW + 4;
}

/**
 * Where each of the chunk's T tiles (nb images of tilesH × tilesW) lies, as i32 tables of `cap` entries at `table`:
 * its block's offset in the padded planes (`width` floats a line, planeFloats apart), its output's offset from the
 * first image's plane (images imageFloats apart, wo floats a line), and its output's lines << 8 | columns (cropped
 * to ho × wo). Entries T … T + 3 of the first table are 0: a group's lanes past the chunk read the first tile.
 */
function tileTables(table: usize, cap: i32, nb: i32, tilesH: i32, tilesW: i32, width: i32, planeFloats: i32, ho: i32, wo: i32, imageFloats: i32): void {
  let e = table;
  const outputs = <usize>cap << 2, extents = <usize>cap << 3;
  for (let image = 0; image < nb; image++) {
    for (let ty = 0; ty < tilesH; ty++) {
      for (let tx = 0; tx < tilesW; tx++) {
        store<i32>(e, image * planeFloats + 2 * ty * width + 4 * tx);
        store<i32>(e + outputs, image * imageFloats + 2 * ty * wo + 4 * tx);
        store<i32>(e + extents, (min(2, ho - 2 * ty) << 8) | min(4, wo - 4 * tx));
        e += 4;
      }
    }
  }
  v128.store(e, i32x4.splat(0));
}

/** The block of the chunk's tile t in the padded planes, by the first of tileTables' tables. */
// @ts-ignore: decorator
@inline function blockOf(planes: usize, table: usize, t: i32): usize {
  return at(planes, load<i32>(table + (<usize>t << 2)));
}

/**
 * Rows of B₄ᵀ = [[4, 0, −5, 0, 1, 0], [0, −4, −4, 1, 1, 0], [0, 4, −4, −1, 1, 0], [0, −2, −1, 2, 1, 0],
 * [0, 2, −1, −2, 1, 0], [0, 4, 0, −5, 0, 1]] on (e0 … e5), stored at dst, dst + step, …, dst + 5·step (bytes).
 */
// @ts-ignore: decorator
@inline function storeBt(dst: usize, step: usize, e0: v128, e1: v128, e2: v128, e3: v128, e4: v128, e5: v128): void {
  const four = splat(4), five = splat(5);
  v128.store(dst, f32x4.add(f32x4.sub(f32x4.mul(e0, four), f32x4.mul(e2, five)), e4));
  v128.store(dst + step, f32x4.sub(f32x4.add(e3, e4), f32x4.mul(f32x4.add(e1, e2), four)));
  v128.store(dst + 2 * step, f32x4.add(f32x4.sub(e4, e3), f32x4.mul(f32x4.sub(e1, e2), four)));
  const e42 = f32x4.sub(e4, e2), e31 = f32x4.mul(f32x4.sub(e3, e1), splat(2));
  v128.store(dst + 3 * step, f32x4.add(e42, e31));
  v128.store(dst + 4 * step, f32x4.sub(e42, e31));
  v128.store(dst + 5 * step, f32x4.add(f32x4.sub(f32x4.mul(e1, four), f32x4.mul(e3, five)), e5));
}

/**
 * V[ξ, c, tile] = (B₂ᵀ d B₄)_ξ for each tile of the chunk, d its 4×6 block of the padded planes of channel c; `v`
 * at V[0, c, 0], the points `step` bytes apart. A group of 4 tiles puts each of its blocks' 4 lines through B₄ (the
 * 4×4 transposes of the lanes' loads give the blocks' columns e_k), staged, then B₂ᵀ on each column. A group past
 * the last tile stores its extra lanes in the room after the row (rowStride).
 */
function inputTiles(v: usize, step: usize, T: i32, planes: usize, width: i32, table: usize, stage: usize): void {
  const line = <usize>width << 2;
  for (let t = 0; t < T; t += 4) {
    let p0 = blockOf(planes, table, t), p1 = blockOf(planes, table, t + 1);
    let p2 = blockOf(planes, table, t + 2), p3 = blockOf(planes, table, t + 3);
    for (let r = 0; r < 4; r++) {
      const a0 = v128.load(p0), a1 = v128.load(p1), a2 = v128.load(p2), a3 = v128.load(p3);
      const b0 = v128.load(p0, 16), b1 = v128.load(p1, 16), b2 = v128.load(p2, 16), b3 = v128.load(p3, 16);
      const lo01 = v128.shuffle<f32>(a0, a1, 0, 4, 1, 5), hi01 = v128.shuffle<f32>(a0, a1, 2, 6, 3, 7);
      const lo23 = v128.shuffle<f32>(a2, a3, 0, 4, 1, 5), hi23 = v128.shuffle<f32>(a2, a3, 2, 6, 3, 7);
      const b01 = v128.shuffle<f32>(b0, b1, 0, 4, 1, 5), b23 = v128.shuffle<f32>(b2, b3, 0, 4, 1, 5);
      storeBt(
        stage + r * 96,
        16,
        v128.shuffle<f32>(lo01, lo23, 0, 1, 4, 5),
        v128.shuffle<f32>(lo01, lo23, 2, 3, 6, 7),
        v128.shuffle<f32>(hi01, hi23, 0, 1, 4, 5),
        v128.shuffle<f32>(hi01, hi23, 2, 3, 6, 7),
        v128.shuffle<f32>(b01, b23, 0, 1, 4, 5),
        v128.shuffle<f32>(b01, b23, 2, 3, 6, 7),
      );
      p0 += line;
      p1 += line;
      p2 += line;
      p3 += line;
    }
    // Point ξ = 6i + k: row i of B₂ᵀ = [[1, 0, −1, 0], [0, 1, 1, 0], [0, −1, 1, 0], [0, 1, 0, −1]] on column k.
    const out = at(v, t);
    for (let k = 0; k < 6; k++) {
      const col = stage + (<usize>k << 4);
      const h0 = v128.load(col), h1 = v128.load(col, 96), h2 = v128.load(col, 192), h3 = v128.load(col, 288);
      const dst = out + <usize>k * step;
      v128.store(dst, f32x4.sub(h0, h2));
      v128.store(dst + 6 * step, f32x4.add(h1, h2));
      v128.store(dst + 12 * step, f32x4.sub(h2, h1));
      v128.store(dst + 18 * step, f32x4.sub(h1, h3));
    }
  }
}

/**
 * V (rows ld floats apart, points vp apart) ← the input transform of images n0 … n0 + nb − 1 of x, channel by
 * channel through the images' padded planes at `planes`: the forward pass's and the filter gradient's first step.
 */
function inputImages(v: usize, ld: i32, vp: i32, x: usize, g: usize, n0: i32, nb: i32, planes: usize, table: usize, stage: usize): void {
  const c = geo(g, C), ih = geo(g, H), iw = geo(g, W), ph = geo(g, PH), pw = geo(g, PW);
  const tilesH = tilesDown(geo(g, HO)), tilesW = tilesAcross(geo(g, WO));
  const rows = paddedRows(tilesH), width = paddedWidth(tilesW), planeFloats = rows * width;
  for (let ch = 0; ch < c; ch++) {
    for (let i = 0; i < nb; i++) {
      padPlane(at(planes, i * planeFloats), rows, width, at(x, ((n0 + i) * c + ch) * ih * iw), ih, iw, ph, pw);
    }
    inputTiles(at(v, ch * ld), <usize>vp << 2, nb * tilesH * tilesW, planes, width, table, stage);
  }
}

/** The 4 rows of A₄ᵀ = [[1, 1, 1, 1, 1, 0], [0, 1, −1, 2, −2, 0], [0, 1, 1, 4, 4, 0], [0, 1, −1, 8, −8, 1]] on
 * (m0 … m5), plus b, transposed: lane l's 4 values at dst + l·step (bytes). */
// @ts-ignore: decorator
@inline function storeAtTransposed(dst: usize, step: usize, m0: v128, m1: v128, m2: v128, m3: v128, m4: v128, m5: v128, b: v128): void {
  const a = f32x4.add(m1, m2), d = f32x4.sub(m1, m2), c = f32x4.add(m3, m4), e = f32x4.sub(m3, m4);
  storeTransposed4x4(
    dst,
    step,
    f32x4.add(f32x4.add(f32x4.add(m0, a), c), b),
    f32x4.add(f32x4.add(d, f32x4.mul(e, splat(2))), b),
    f32x4.add(f32x4.add(a, f32x4.mul(c, splat(4))), b),
    f32x4.add(f32x4.add(f32x4.add(d, f32x4.mul(e, splat(8))), m5), b),
  );
}

/**
 * y (Ho, Wo) of one output channel for the chunk's T tiles (`y` at the first image's plane, images imageFloats
 * apart), plus `b`, from M[ξ, o, tile] (`m` at M[0, o, 0], the points `step` bytes apart): each tile's 2×4 block is
 * A₂ᵀ M A₄, A₂ᵀ = [[1, 1, 1, 0], [0, 1, −1, −1]], cropped to the plane. A₂ᵀ on M's 6 columns is staged, then A₄ᵀ on
 * its 2 rows stages each tile's 2 lines for the stores.
 */
function outputTiles(y: usize, wo: i32, m: usize, step: usize, T: i32, cap: i32, table: usize, b: f32, stage: usize): void {
  const vb = splat(b);
  const lines = stage + 192;
  for (let t = 0; t < T; t += 4) {
    const p = at(m, t);
    // Row i of A₂ᵀ M at stage + 96·i + 16·k.
    for (let k = 0; k < 6; k++) {
      const q = p + <usize>k * step;
      const m1 = v128.load(q + 6 * step), m2 = v128.load(q + 12 * step);
      v128.store(stage + (<usize>k << 4), f32x4.add(f32x4.add(v128.load(q), m1), m2));
      v128.store(stage + (<usize>k << 4), f32x4.sub(f32x4.sub(m1, m2), v128.load(q + 18 * step)), 96);
    }
    // Line i of tile l at lines + 16·(2l + i).
    for (let i = 0; i < 2; i++) {
      const r = stage + i * 96;
      storeAtTransposed(lines + (<usize>i << 4), 32, v128.load(r), v128.load(r, 16), v128.load(r, 32), v128.load(r, 48), v128.load(r, 64), v128.load(r, 80), vb);
    }
    const lanes = min(4, T - t);
    for (let l = 0; l < lanes; l++) {
      const entry = table + (<usize>(cap + t + l) << 2);
      const dst = at(y, load<i32>(entry)), extent = load<i32>(entry + (<usize>cap << 2));
      const rows = extent >> 8, n = extent & 0xff;
      for (let i = 0; i < rows; i++) {
        const line = v128.load(lines + (<usize>(2 * l + i) << 4));
        if (n == 4) v128.store(at(dst, i * wo), line);
        else storeLanes(at(dst, i * wo), line, n);
      }
    }
  }
}

/**
 * Floats of a call's scratch before its GEMM's packing, for chunks of `sub` images: V and M (or dM), each with room
 * for the lanes a partial group stores past its last row, the images' padded planes, the staging area and the three
 * tile tables (tileTables).
 */
// @ts-ignore: decorator
@inline function chunkFloats(sub: i32, c: i32, cout: i32, ho: i32, wo: i32): i32 {
  const th = tilesDown(ho), tw = tilesAcross(wo), T = sub * th * tw;
  return POINTS * (pointStride(c, T) + pointStride(cout, T)) + 16 + sub * paddedRows(th) * paddedWidth(tw) + STAGE + 3 * (T + 4);
}

/** The area after V (M) or after M (the padded planes) in chunkFloats' layout, for up to maxT tiles a chunk. */
// @ts-ignore: decorator
@inline function afterPoints(area: usize, channels: i32, maxT: i32): usize {
  return at(area, POINTS * pointStride(channels, maxT) + 8);
}

/** Floats of scratch winograd_conv2d_images_f32 needs for chunks of `sub` images: chunkFloats, then the packing. */
export function winograd_scratch_floats(sub: i32, c: i32, cout: i32, ho: i32, wo: i32): i32 {
  return chunkFloats(sub, c, cout, ho, wo) + gemm_scratch_floats(sub * tilesDown(ho) * tilesAcross(wo), c);
}

/**
 * y (N, Cout, Ho, Wo) for images first … first+count−1 of x (N, C, H, W), a 3×3 convolution at stride 1 with the
 * filter transformed into u (winograd_filter_f32) and bias (Cout) added unless `bias` is 0, `sub` images at a time,
 * in winograd_scratch_floats(sub, C, Cout, Ho, Wo) floats of `scratch`. The geometry at `g` as abi.ts lays it out
 * (its kernel, stride, dilation and groups are not read). With `transposed`, u holds the transform of a (C, Cout)
 * filter, each point's matrix read transposed: an input gradient, as a forward convolution of dy with the filter
 * flipped (winograd_filter_f32's `flipped`) and its channels swapped.
 */
export function winograd_conv2d_images_f32(y: usize, x: usize, u: usize, transposed: i32, bias: usize, g: usize, first: i32, count: i32, sub: i32, scratch: usize, scratchFloats: i32): void {
  const c = geo(g, C);
  const ho = geo(g, HO), wo = geo(g, WO), cout = geo(g, COUT);
  // Sized by the caller; too small, the kernel would write past it into other tensors: trap instead.
  if (winograd_scratch_floats(sub, c, cout, ho, wo) > scratchFloats) unreachable();
  const tilesH = tilesDown(ho), tilesW = tilesAcross(wo), perImage = tilesH * tilesW, maxT = sub * perImage;
  const width = paddedWidth(tilesW), planeFloats = paddedRows(tilesH) * width;
  const v = scratch, m = afterPoints(v, c, maxT), planes = afterPoints(m, cout, maxT);
  const stage = at(planes, sub * planeFloats), table = at(stage, STAGE), cap = maxT + 4, packing = at(table, 3 * cap);
  for (let n0 = first; n0 < first + count; n0 += sub) {
    const nb = min(sub, first + count - n0);
    const T = nb * perImage, ld = rowStride(T), vp = pointStride(c, T), mp = pointStride(cout, T);
    tileTables(table, cap, nb, tilesH, tilesW, width, planeFloats, ho, wo, cout * ho * wo);
    inputImages(v, ld, vp, x, g, n0, nb, planes, table, stage);
    for (let p = 0; p < POINTS; p++) {
      gemm_f32(at(m, p * mp), ld, at(u, p * filterPointStride(cout, c)), at(v, p * vp), ld, cout, T, c, transposed, 0, 0, packing);
    }
    for (let o = 0; o < cout; o++) {
      const b: f32 = bias ? load<f32>(at(bias, o)) : 0;
      outputTiles(at(y, (n0 * cout + o) * ho * wo), wo, at(m, o * ld), <usize>mp << 2, T, cap, table, b, stage);
    }
  }
}

// ---------------------------------------------------------------------------------------------------------------
// The filter gradient. With dM = A₂ dY A₄ᵀ per tile (the adjoint of the output transform), the gradient of U_ξ is
// dU_ξ (Cout, C) = Σ_tiles dM_ξ · V_ξᵀ, 24 GEMMs as deep as the tiles, and dW = G₂ᵀ dU G₄ per filter (the adjoint
// of the filter transform).

/** The 6 rows of A₄ = [[1, 0, 0, 0], [1, 1, 1, 1], [1, −1, 1, −1], [1, 2, 4, 8], [1, −2, 4, −8], [0, 0, 0, 1]] on
 * (r0 … r3), stored at dst, dst + step, …, dst + 5·step (bytes). */
// @ts-ignore: decorator
@inline function storeA(dst: usize, step: usize, r0: v128, r1: v128, r2: v128, r3: v128): void {
  const p = f32x4.add(r0, r2), q = f32x4.add(r1, r3);
  const p4 = f32x4.add(r0, f32x4.mul(r2, splat(4))), q8 = f32x4.add(f32x4.mul(r1, splat(2)), f32x4.mul(r3, splat(8)));
  v128.store(dst, r0);
  v128.store(dst + step, f32x4.add(p, q));
  v128.store(dst + 2 * step, f32x4.sub(p, q));
  v128.store(dst + 3 * step, f32x4.add(p4, q8));
  v128.store(dst + 4 * step, f32x4.sub(p4, q8));
  v128.store(dst + 5 * step, r3);
}

/**
 * dM[ξ, o, tile] = (A₂ dY A₄ᵀ)_ξ for each of the chunk's T tiles, dY its 2×4 block of the padded planes of dy (one
 * output channel, zeros past its edges), A₂ = [[1, 0], [1, 1], [1, −1], [0, −1]]; `dm` at dM[0, o, 0], the points
 * `step` bytes apart. Groups as inputTiles makes them: the lanes' 2 lines (transposed: the blocks' columns, lane by
 * lane), A₄ on each line staged, then A₂ on each staged column.
 */
function gradientTiles(dm: usize, step: usize, T: i32, planes: usize, width: i32, table: usize, stage: usize): void {
  const line = <usize>width << 2;
  const rows = stage + 128;
  for (let t = 0; t < T; t += 4) {
    const p0 = blockOf(planes, table, t), p1 = blockOf(planes, table, t + 1);
    const p2 = blockOf(planes, table, t + 2), p3 = blockOf(planes, table, t + 3);
    // dY[r][b] over the lanes at stage + 16·(4r + b); A₄ on line r at rows + 96·r + 16·k.
    for (let r: usize = 0; r < 2; r++) {
      const o = r * line, y = stage + (r << 6);
      storeTransposed4x4(y, 16, v128.load(p0 + o), v128.load(p1 + o), v128.load(p2 + o), v128.load(p3 + o));
      storeA(rows + r * 96, 16, v128.load(y), v128.load(y, 16), v128.load(y, 32), v128.load(y, 48));
    }
    // Point ξ = 6i + k: row i of A₂ on column k, (z0, z0 + z1, z0 − z1, −z1).
    const out = at(dm, t);
    for (let k = 0; k < 6; k++) {
      const z0 = v128.load(rows + (<usize>k << 4)), z1 = v128.load(rows + (<usize>k << 4), 96);
      const dst = out + <usize>k * step;
      v128.store(dst, z0);
      v128.store(dst + 6 * step, f32x4.add(z0, z1));
      v128.store(dst + 12 * step, f32x4.sub(z0, z1));
      v128.store(dst + 18 * step, f32x4.neg(z1));
    }
  }
}

/**
 * Floats of scratch winograd_filter_gradient_images_f32 needs for chunks of `sub` images: chunkFloats, then the
 * packing (none by dot products).
 */
export function winograd_filter_gradient_scratch_floats(sub: i32, c: i32, cout: i32, ho: i32, wo: i32, dot: i32): i32 {
  return chunkFloats(sub, c, cout, ho, wo) + (dot ? 0 : gemm_scratch_floats(c, sub * tilesDown(ho) * tilesAcross(wo)));
}

/**
 * The parts of dU for images first … first+count−1 (first a multiple of `perPart`), a 3×3 convolution at stride 1 of
 * x (N, C, H, W) with output gradient dy (N, Cout, Ho, Wo): part p (images p·perPart … p·perPart + perPart − 1, a
 * multiple of `sub`) gets dU_p (24, Cout, C), laid out as U, at parts + p·winograd_filter_floats(Cout, C), summed
 * over its chunks of `sub` images in order, by dot products where `dot` (no packing), else by the packed kernel.
 * The caller adds the parts in order (winograd_filter_gradient_f32), so the batch's partition into parts, not the
 * threads, fixes every summation order. Scratch: winograd_filter_gradient_scratch_floats(sub, C, Cout, Ho, Wo, dot)
 * floats.
 */
export function winograd_filter_gradient_images_f32(parts: usize, x: usize, dy: usize, g: usize, first: i32, count: i32, sub: i32, perPart: i32, dot: i32, scratch: usize, scratchFloats: i32): void {
  const c = geo(g, C);
  const ho = geo(g, HO), wo = geo(g, WO), cout = geo(g, COUT);
  if (winograd_filter_gradient_scratch_floats(sub, c, cout, ho, wo, dot) > scratchFloats || perPart % sub != 0) unreachable();
  const tilesH = tilesDown(ho), tilesW = tilesAcross(wo), perImage = tilesH * tilesW, maxT = sub * perImage;
  const width = paddedWidth(tilesW), planeFloats = paddedRows(tilesH) * width;
  const v = scratch, dm = afterPoints(v, c, maxT), planes = afterPoints(dm, cout, maxT);
  const stage = at(planes, sub * planeFloats), table = at(stage, STAGE), cap = maxT + 4, packing = at(table, 3 * cap);
  for (let n0 = first; n0 < first + count; n0 += sub) {
    const nb = min(sub, first + count - n0);
    const T = nb * perImage, ld = rowStride(T), vp = pointStride(c, T), mp = pointStride(cout, T);
    tileTables(table, cap, nb, tilesH, tilesW, width, planeFloats, ho, wo, 0);
    inputImages(v, ld, vp, x, g, n0, nb, planes, table, stage);
    for (let o = 0; o < cout; o++) {
      for (let i = 0; i < nb; i++) {
        padPlane(at(planes, i * planeFloats), 2 * tilesH, width, at(dy, ((n0 + i) * cout + o) * ho * wo), ho, wo, 0, 0);
      }
      gradientTiles(at(dm, o * ld), <usize>mp << 2, T, planes, width, table, stage);
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

/** Row b of G₄ᵀ = [[¼, −⅙, −⅙, 1/24, 1/24, 0], [0, −⅙, ⅙, 1/12, −1/12, 0], [0, −⅙, −⅙, ⅙, ⅙, 1]] on (u0 … u5). */
// @ts-ignore: decorator
@inline function rowOfG4t(b: i32, u0: v128, u1: v128, u2: v128, u3: v128, u4: v128, u5: v128): v128 {
  if (b == 1) return f32x4.add(f32x4.mul(f32x4.sub(u2, u1), splat(SIXTH)), f32x4.mul(f32x4.sub(u3, u4), splat(TWELFTH)));
  const s12 = f32x4.add(u1, u2), s34 = f32x4.add(u3, u4);
  if (b == 0) return f32x4.add(f32x4.sub(f32x4.mul(u0, splat(QUARTER)), f32x4.mul(s12, splat(SIXTH))), f32x4.mul(s34, splat(TWENTY_FOURTH)));
  return f32x4.add(f32x4.mul(f32x4.sub(s34, s12), splat(SIXTH)), u5);
}

/**
 * Row a of G₂ᵀ = [[1, ½, ½, 0], [0, ½, −½, 0], [0, ½, ½, 1]] on column k of dU for `lanes` filters side by side:
 * dU[i, k] at src + (6i + k)·point (bytes).
 */
// @ts-ignore: decorator
@inline function columnOfG2t(src: usize, point: usize, lanes: i32, k: i32, a: i32): v128 {
  const q = src + <usize>k * point;
  const u1 = loadLanes(q + 6 * point, lanes), u2 = loadLanes(q + 12 * point, lanes);
  if (a == 1) return f32x4.mul(f32x4.sub(u1, u2), splat(HALF));
  const half = f32x4.mul(f32x4.add(u1, u2), splat(HALF));
  return f32x4.add(a == 0 ? loadLanes(q, lanes) : loadLanes(q + 18 * point, lanes), half);
}

/**
 * dw[o, c] (3×3) = G₂ᵀ dU[·, o, c] G₄ for filters o0 … o1−1, dU the sum in order of `count` parts (24, cout, cin) at
 * `parts`, winograd_filter_floats(cout, cin) apart (summed into the first part): the adjoint of
 * winograd_filter_f32.
 */
export function winograd_filter_gradient_f32(dw: usize, parts: usize, count: i32, cout: i32, cin: i32, o0: i32, o1: i32): void {
  sumParts(parts, count, cout, cin, o0, o1);
  const point = <usize>filterPointStride(cout, cin) << 2;
  for (let o = o0; o < o1; o++) {
    // Four filters side by side (input channels c … c + 3), one per lane, as winograd_filter_f32 takes them.
    for (let c = 0; c < cin; c += 4) {
      const lanes = min(4, cin - c);
      const src = at(parts, o * cin + c);
      // Row a of G₂ᵀ dU (its columns wa0 … wa5), then G₄ᵀ on it: taps 3a … 3a + 2.
      const w00 = columnOfG2t(src, point, lanes, 0, 0), w01 = columnOfG2t(src, point, lanes, 1, 0), w02 = columnOfG2t(src, point, lanes, 2, 0);
      const w03 = columnOfG2t(src, point, lanes, 3, 0), w04 = columnOfG2t(src, point, lanes, 4, 0), w05 = columnOfG2t(src, point, lanes, 5, 0);
      const w10 = columnOfG2t(src, point, lanes, 0, 1), w11 = columnOfG2t(src, point, lanes, 1, 1), w12 = columnOfG2t(src, point, lanes, 2, 1);
      const w13 = columnOfG2t(src, point, lanes, 3, 1), w14 = columnOfG2t(src, point, lanes, 4, 1), w15 = columnOfG2t(src, point, lanes, 5, 1);
      const w20 = columnOfG2t(src, point, lanes, 0, 2), w21 = columnOfG2t(src, point, lanes, 1, 2), w22 = columnOfG2t(src, point, lanes, 2, 2);
      const w23 = columnOfG2t(src, point, lanes, 3, 2), w24 = columnOfG2t(src, point, lanes, 4, 2), w25 = columnOfG2t(src, point, lanes, 5, 2);
      storeTaps(
        at(dw, (o * cin + c) * 9),
        lanes,
        rowOfG4t(0, w00, w01, w02, w03, w04, w05),
        rowOfG4t(1, w00, w01, w02, w03, w04, w05),
        rowOfG4t(2, w00, w01, w02, w03, w04, w05),
        rowOfG4t(0, w10, w11, w12, w13, w14, w15),
        rowOfG4t(1, w10, w11, w12, w13, w14, w15),
        rowOfG4t(2, w10, w11, w12, w13, w14, w15),
        rowOfG4t(0, w20, w21, w22, w23, w24, w25),
        rowOfG4t(1, w20, w21, w22, w23, w24, w25),
        rowOfG4t(2, w20, w21, w22, w23, w24, w25),
      );
    }
  }
}
