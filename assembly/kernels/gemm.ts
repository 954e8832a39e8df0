// GEMM, f32, row-major: C[m×n] (+)= op(A)[m×k] · op(B)[k×n], op(X) = X or Xᵀ as stored.
// Pointer-and-size arguments only; the caller passes scratch for the packed panels, nothing is allocated here.
//
// BLIS-style blocking: for each KC-deep slice of the product, B is packed into NR-wide column panels and A into
// MR-tall row panels (transposes are absorbed by the packing, and tails are zero-padded), then an MR×NR register
// tile accumulates kc rank-1 updates. MR×NR = 4×8 keeps 8 v128 accumulators plus 2 B vectors and a broadcast
// A value live: well under the ~15 v128 values past which V8 starts spilling.

import { storeTransposed4x4 } from './copy';

import { MR, NR } from '../abi';
/** Depth of one packed slice: an MR×KC panel of A (4 KiB) and a KC×NR panel of B (8 KiB) stay in L1. */
export const GEMM_KC: i32 = 256;
/** Rows of A packed at once: MC×KC floats (96 KiB) stay in L2. */
export const GEMM_MC: i32 = 96;
/** Columns of B packed at once: KC×NC floats (1 MiB) stay in L2 while every row panel of A passes over them. */
export const GEMM_NC: i32 = 1024;

/** acc + a·b, fused in the relaxed-SIMD build. */
// @ts-ignore: decorator
@inline export function madd(acc: v128, a: v128, b: v128): v128 {
  if (ASC_FEATURE_RELAXED_SIMD) return f32x4.relaxed_madd(a, b, acc);
  return f32x4.add(acc, f32x4.mul(a, b));
}

// @ts-ignore: decorator
@inline function at(base: usize, index: i32): usize {
  return base + (<usize>index << 2);
}

/**
 * Packs op(A)[i0:i0+mc, p0:p0+kc] as panels of MR rows (A's stored rows lda floats apart): panel r holds kc groups of MR values. Full panels move
 * 4 values per load: a column of Aᵀ as stored, or a 4×4 block of A transposed in registers.
 */
function packA(dst: usize, a: usize, lda: i32, transA: i32, i0: i32, mc: i32, p0: i32, kc: i32): void {
  for (let ir = 0; ir < mc; ir += MR) {
    const panel = dst + (<usize>(ir * kc) << 2);
    const i = i0 + ir;
    let p = 0;
    if (ir + MR <= mc) {
      if (transA) {
        for (; p < kc; p++) v128.store(at(panel, p * MR), v128.load(at(a, (p0 + p) * lda + i)));
      } else {
        const row = at(a, i * lda + p0);
        for (; p + 4 <= kc; p += 4) {
          const src = at(row, p);
          storeTransposed4x4(at(panel, p * MR), MR << 2, v128.load(src), v128.load(src + (<usize>lda << 2)), v128.load(src + (<usize>(2 * lda) << 2)), v128.load(src + (<usize>(3 * lda) << 2)));
        }
      }
    }
    for (; p < kc; p++) {
      for (let r = 0; r < MR; r++) {
        let v: f32 = 0;
        if (ir + r < mc) v = transA ? load<f32>(at(a, (p0 + p) * lda + i + r)) : load<f32>(at(a, (i + r) * lda + p0 + p));
        store<f32>(at(panel, p * MR + r), v);
      }
    }
  }
}

/**
 * Packs op(B)[p0:p0+kc, j0:j0+nc] as panels of NR columns: panel c holds kc rows of NR values. B's stored rows are
 * ldb apart. Full panels move 4 values per load: a row of B as stored, or two 4×4 blocks of Bᵀ transposed.
 */
function packB(dst: usize, b: usize, ldb: i32, transB: i32, p0: i32, kc: i32, j0: i32, nc: i32): void {
  const ld = <usize>ldb << 2;
  for (let jr = 0; jr < nc; jr += NR) {
    const panel = dst + (<usize>(jr * kc) << 2);
    const cols = min(NR, nc - jr);
    let p = 0;
    if (cols == NR) {
      if (!transB) {
        for (; p < kc; p++) {
          const src = at(b, (p0 + p) * ldb + j0 + jr);
          v128.store(at(panel, p * NR), v128.load(src));
          v128.store(at(panel, p * NR + 4), v128.load(src, 16));
        }
      } else {
        const col = at(b, (j0 + jr) * ldb + p0);
        for (; p + 4 <= kc; p += 4) {
          const lo = at(col, p), hi = lo + 4 * ld;
          storeTransposed4x4(at(panel, p * NR), NR << 2, v128.load(lo), v128.load(lo + ld), v128.load(lo + 2 * ld), v128.load(lo + 3 * ld));
          storeTransposed4x4(at(panel, p * NR + 4), NR << 2, v128.load(hi), v128.load(hi + ld), v128.load(hi + 2 * ld), v128.load(hi + 3 * ld));
        }
      }
    }
    for (; p < kc; p++) {
      for (let c = 0; c < NR; c++) {
        const j = j0 + jr + c;
        let v: f32 = 0;
        if (c < cols) v = transB ? load<f32>(at(b, j * ldb + p0 + p)) : load<f32>(at(b, (p0 + p) * ldb + j));
        store<f32>(at(panel, p * NR + c), v);
      }
    }
  }
}

/**
 * C[MR×NR tile] (+)= packed A panel · packed B panel. A partial tile (rows < MR or cols < NR) goes through `tile`.
 */
function microkernel(kc: i32, ap: usize, bp: usize, bstride: usize, c: usize, ldc: i32, rows: i32, cols: i32, add: bool, tile: usize): void {
  tileProduct(kc, ap, bp, bstride, c, ldc, rows, cols, add, tile);
}

/** microkernel's body: inlined by gemmDirect, whose shallow tiles pay for a call as for a large part of their work. */
// @ts-ignore: decorator
@inline function tileProduct(kc: i32, ap: usize, bp: usize, bstride: usize, c: usize, ldc: i32, rows: i32, cols: i32, add: bool, tile: usize): void {
  let c00 = f32x4.splat(0), c01 = f32x4.splat(0);
  let c10 = f32x4.splat(0), c11 = f32x4.splat(0);
  let c20 = f32x4.splat(0), c21 = f32x4.splat(0);
  let c30 = f32x4.splat(0), c31 = f32x4.splat(0);
  for (let p = 0; p < kc; p++) {
    const b0 = v128.load(bp);
    const b1 = v128.load(bp, 16);
    let a = v128.load32_splat(ap);
    c00 = madd(c00, a, b0);
    c01 = madd(c01, a, b1);
    a = v128.load32_splat(ap, 4);
    c10 = madd(c10, a, b0);
    c11 = madd(c11, a, b1);
    a = v128.load32_splat(ap, 8);
    c20 = madd(c20, a, b0);
    c21 = madd(c21, a, b1);
    a = v128.load32_splat(ap, 12);
    c30 = madd(c30, a, b0);
    c31 = madd(c31, a, b1);
    ap += MR << 2;
    bp += bstride;
  }
  const full = rows == MR && cols == NR;
  const out = full ? c : tile;
  const ld: usize = full ? <usize>ldc << 2 : <usize>NR << 2;
  const addHere = add && full;
  let r0 = out;
  v128.store(r0, addHere ? f32x4.add(v128.load(r0), c00) : c00);
  v128.store(r0, addHere ? f32x4.add(v128.load(r0, 16), c01) : c01, 16);
  r0 += ld;
  v128.store(r0, addHere ? f32x4.add(v128.load(r0), c10) : c10);
  v128.store(r0, addHere ? f32x4.add(v128.load(r0, 16), c11) : c11, 16);
  r0 += ld;
  v128.store(r0, addHere ? f32x4.add(v128.load(r0), c20) : c20);
  v128.store(r0, addHere ? f32x4.add(v128.load(r0, 16), c21) : c21, 16);
  r0 += ld;
  v128.store(r0, addHere ? f32x4.add(v128.load(r0), c30) : c30);
  v128.store(r0, addHere ? f32x4.add(v128.load(r0, 16), c31) : c31, 16);
  if (full) return;
  for (let i = 0; i < rows; i++) {
    for (let j = 0; j < cols; j++) {
      const dst = at(c, i * ldc + j);
      const v = load<f32>(at(tile, i * NR + j));
      store<f32>(dst, add ? load<f32>(dst) + v : v);
    }
  }
}

/**
 * Below this depth, packing B costs as much as the product itself (a first conv layer has k = C·9 = 27), so B is
 * read in place: row p of an NR-wide panel is NR contiguous floats n apart. Reads past a row's end only reach
 * lanes that a partial tile discards (the arena leaves a gap after every buffer).
 */
const DIRECT_B_MAX_K: i32 = 64;

/** Columns of B packed at once for a product n wide: NC, or n rounded up to whole panels. */
// @ts-ignore: decorator
@inline function packedColumns(n: i32): i32 {
  return min(GEMM_NC, ((n + NR - 1) / NR) * NR);
}

/** GEMM_KC, for callers that split a product at the kernel's own slices (src/backend/wasm/gemm.ts: by depth). */
export function gemm_depth_slice(): i32 {
  return GEMM_KC;
}

/** Floats of scratch gemm_f32 needs for an n-wide, k-deep product: packed A, packed B, the edge tile. */
export function gemm_scratch_floats(n: i32, k: i32): i32 {
  return GEMM_MC * GEMM_KC + packedColumns(n) * min(k, GEMM_KC) + MR * NR;
}

/**
 * C[m×n] = op(A)·op(B), or C += op(A)·op(B) when `accumulate`. A is (m×k), or (k×m) when transA, densely packed;
 * B is (k×n), or (n×k) when transB, with its stored rows ldb floats apart; C's rows are ldc floats apart (so a
 * block of columns of a larger product is one call: the threaded split). `scratch` holds gemm_scratch_floats(n, k)
 * floats, 16-byte aligned.
 */
export function gemm_f32(c: usize, ldc: i32, a: usize, b: usize, ldb: i32, m: i32, n: i32, k: i32, transA: i32, transB: i32, accumulate: i32, scratch: usize): void {
  gemm_strided_f32(c, ldc, a, transA ? m : k, b, ldb, m, n, k, transA, transB, accumulate, scratch);
}

/**
 * gemm_strided_f32 for a product at most DIRECT_B_MAX_K deep with B as stored: A packed once per row block, B read
 * in place (one slice: k ≤ GEMM_KC). Its tiles take 16 to 64 rank-1 updates, so their code is inlined here: as a
 * call, the 16-deep products of a Winograd convolution ran 0.9× as fast.
 */
function gemmDirect(c: usize, ldc: i32, a: usize, lda: i32, b: usize, ldb: i32, m: i32, n: i32, k: i32, transA: i32, add: bool, pa: usize, tile: usize): void {
  const bstride: usize = <usize>ldb << 2;
  for (let i0 = 0; i0 < m; i0 += GEMM_MC) {
    const mc = min(GEMM_MC, m - i0);
    packA(pa, a, lda, transA, i0, mc, 0, k);
    for (let jr = 0; jr < n; jr += NR) {
      const cols = min(NR, n - jr);
      for (let ir = 0; ir < mc; ir += MR) {
        tileProduct(k, at(pa, ir * k), at(b, jr), bstride, at(c, (i0 + ir) * ldc + jr), ldc, min(MR, mc - ir), cols, add, tile);
      }
    }
  }
}

/** gemm_f32 with A's stored rows lda floats apart: op(A) may be the first m rows of a wider product's operand. */
export function gemm_strided_f32(c: usize, ldc: i32, a: usize, lda: i32, b: usize, ldb: i32, m: i32, n: i32, k: i32, transA: i32, transB: i32, accumulate: i32, scratch: usize): void {
  if (k == 0) {
    if (!accumulate) for (let i = 0; i < m; i++) memory.fill(at(c, i * ldc), 0, <usize>n << 2);
    return;
  }
  const pa = scratch;
  const pb = at(scratch, GEMM_MC * GEMM_KC);
  const tile = at(pb, packedColumns(n) * min(k, GEMM_KC));
  if (!transB && k <= DIRECT_B_MAX_K) {
    gemmDirect(c, ldc, a, lda, b, ldb, m, n, k, transA, accumulate != 0, pa, tile);
    return;
  }
  const bstride: usize = <usize>NR << 2;
  // With A in one row block, each B panel is used by that block alone: pack it just before use, into a buffer
  // that stays in L1, instead of packing the whole NC-wide slice through L2 first.
  const panelwise = m <= GEMM_MC;
  for (let j0 = 0; j0 < n; j0 += GEMM_NC) {
    const nc = min(GEMM_NC, n - j0);
    for (let p0 = 0; p0 < k; p0 += GEMM_KC) {
      const kc = min(GEMM_KC, k - p0);
      const add = accumulate != 0 || p0 > 0;
      if (panelwise) {
        packA(pa, a, lda, transA, 0, m, p0, kc);
        for (let jr = 0; jr < nc; jr += NR) {
          const cols = min(NR, nc - jr);
          packB(pb, b, ldb, transB, p0, kc, j0 + jr, cols);
          for (let ir = 0; ir < m; ir += MR) microkernel(kc, at(pa, ir * kc), pb, bstride, at(c, ir * ldc + j0 + jr), ldc, min(MR, m - ir), cols, add, tile);
        }
        continue;
      }
      packB(pb, b, ldb, transB, p0, kc, j0, nc);
      for (let i0 = 0; i0 < m; i0 += GEMM_MC) {
        const mc = min(GEMM_MC, m - i0);
        packA(pa, a, lda, transA, i0, mc, p0, kc);
        for (let jr = 0; jr < nc; jr += NR) {
          const bp = at(pb, jr * kc);
          const cols = min(NR, nc - jr);
          for (let ir = 0; ir < mc; ir += MR) {
            microkernel(kc, at(pa, ir * kc), bp, bstride, at(c, (i0 + ir) * ldc + j0 + jr), ldc, min(MR, mc - ir), cols, add, tile);
          }
        }
      }
    }
  }
}

// ---------------------------------------------------------------------------------------------------------------
// The dot-product form, C (+)= A·Bᵀ with both operands' rows contiguous along k: every element of C is the dot
// product of a row of A and a row of B, read in place. It is for the products packing cannot pay for: thin outputs
// over long reductions (a convolution's filter gradient, og × C·kh·kw, sums over every output pixel of the batch),
// where gemm_f32 would pack both operands whole for a few multiply-adds per packed value.
//
// Every element is computed the same way whichever tile holds it: within each DOT_KB-long slice of k, products
// accumulate in 4 lanes, the lanes are added as (l0 + l1) + (l2 + l3), the slice's k % 4 tail is added in order,
// and the slice's sum is added to C. So any split of rows or columns across threads gives identical results.

/** Depth of one slice: a 4-row tile of A and a 2-row tile of B (24 KiB) stay in L1, the slice of A in L2. */
const DOT_KB: i32 = 1024;

/** The slice's sum for one element: its lanes, then the products of the tail [p, end) in order. */
// @ts-ignore: decorator
@inline function finishDot(acc: v128, a: usize, b: usize, p: i32, end: i32): f32 {
  let s = (f32x4.extract_lane(acc, 0) + f32x4.extract_lane(acc, 1)) + (f32x4.extract_lane(acc, 2) + f32x4.extract_lane(acc, 3));
  for (; p < end; p++) s += load<f32>(at(a, p)) * load<f32>(at(b, p));
  return s;
}

/** C element (+)= v: the first slice of a product that does not accumulate writes, every other slice adds. */
// @ts-ignore: decorator
@inline function putDot(c: usize, v: f32, add: bool): void {
  store<f32>(c, add ? load<f32>(c) + v : v);
}

/** One element over the slice [p0, p1): rows a and b. */
function dot1x1(c: usize, a: usize, b: usize, p0: i32, p1: i32, add: bool): void {
  let acc = f32x4.splat(0);
  let p = p0;
  for (; p + 4 <= p1; p += 4) acc = madd(acc, v128.load(at(a, p)), v128.load(at(b, p)));
  putDot(c, finishDot(acc, a, b, p, p1), add);
}

/** A 4×2 tile of C over the slice [p0, p1): rows a, a+lda, … of A and b, b+ldb of B. */
function dot4x2(c: usize, ldc: i32, a: usize, lda: i32, b: usize, ldb: i32, p0: i32, p1: i32, add: bool): void {
  const a1 = at(a, lda), a2 = at(a, 2 * lda), a3 = at(a, 3 * lda), b1 = at(b, ldb);
  let c00 = f32x4.splat(0), c01 = f32x4.splat(0);
  let c10 = f32x4.splat(0), c11 = f32x4.splat(0);
  let c20 = f32x4.splat(0), c21 = f32x4.splat(0);
  let c30 = f32x4.splat(0), c31 = f32x4.splat(0);
  let p = p0;
  for (; p + 4 <= p1; p += 4) {
    const x0 = v128.load(at(b, p));
    const x1 = v128.load(at(b1, p));
    let y = v128.load(at(a, p));
    c00 = madd(c00, y, x0);
    c01 = madd(c01, y, x1);
    y = v128.load(at(a1, p));
    c10 = madd(c10, y, x0);
    c11 = madd(c11, y, x1);
    y = v128.load(at(a2, p));
    c20 = madd(c20, y, x0);
    c21 = madd(c21, y, x1);
    y = v128.load(at(a3, p));
    c30 = madd(c30, y, x0);
    c31 = madd(c31, y, x1);
  }
  const c1 = at(c, ldc), c2 = at(c, 2 * ldc), c3 = at(c, 3 * ldc);
  putDot(c, finishDot(c00, a, b, p, p1), add);
  putDot(at(c, 1), finishDot(c01, a, b1, p, p1), add);
  putDot(c1, finishDot(c10, a1, b, p, p1), add);
  putDot(at(c1, 1), finishDot(c11, a1, b1, p, p1), add);
  putDot(c2, finishDot(c20, a2, b, p, p1), add);
  putDot(at(c2, 1), finishDot(c21, a2, b1, p, p1), add);
  putDot(c3, finishDot(c30, a3, b, p, p1), add);
  putDot(at(c3, 1), finishDot(c31, a3, b1, p, p1), add);
}

/**
 * C[m×n] = A·Bᵀ, or C += A·Bᵀ when `accumulate`: A is (m×k) with rows lda floats apart, B (n×k) with rows ldb
 * apart, C's rows ldc apart. Needs no scratch.
 */
export function gemm_nt_f32(c: usize, ldc: i32, a: usize, lda: i32, b: usize, ldb: i32, m: i32, n: i32, k: i32, accumulate: i32): void {
  if (k == 0) {
    if (!accumulate) for (let i = 0; i < m; i++) memory.fill(at(c, i * ldc), 0, <usize>n << 2);
    return;
  }
  const m4 = m & ~3, n2 = n & ~1;
  for (let p0 = 0; p0 < k; p0 += DOT_KB) {
    const p1 = min(k, p0 + DOT_KB);
    const add = accumulate != 0 || p0 > 0;
    for (let j = 0; j < n; j += 2) {
      const bj = at(b, j * ldb);
      if (j < n2) {
        for (let i = 0; i < m4; i += 4) dot4x2(at(c, i * ldc + j), ldc, at(a, i * lda), lda, bj, ldb, p0, p1, add);
        for (let i = m4; i < m; i++) {
          dot1x1(at(c, i * ldc + j), at(a, i * lda), bj, p0, p1, add);
          dot1x1(at(c, i * ldc + j + 1), at(a, i * lda), at(bj, ldb), p0, p1, add);
        }
      } else {
        for (let i = 0; i < m; i++) dot1x1(at(c, i * ldc + j), at(a, i * lda), bj, p0, p1, add);
      }
    }
  }
}

/**
 * One product by either kernel: gemm_nt_f32 when `dot` (then A is dense, m×k), gemm_f32 otherwise (a step of
 * run_steps_f32, steps.ts).
 */
export function gemm_either_f32(dot: i32, c: usize, ldc: i32, a: usize, b: usize, ldb: i32, m: i32, n: i32, k: i32, transA: i32, transB: i32, accumulate: i32, scratch: usize): void {
  if (dot) gemm_nt_f32(c, ldc, a, k, b, ldb, m, n, k, accumulate);
  else gemm_f32(c, ldc, a, b, ldb, m, n, k, transA, transB, accumulate, scratch);
}
