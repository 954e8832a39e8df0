// Elementwise kernels, f32. Broadcasting is decomposed by the caller into planes of runs: each call handles `rows`
// runs of `cols` outputs (run r starts r·ro floats into out, r·ra into a, r·rb into b), reading a with element
// stride sa and b with stride sb along a run (0 for a broadcast operand, 1 for a contiguous one). One call per plane
// rather than per run: a broadcast over (rows, 72) is one call, not thousands. The unit-stride and broadcast cases
// use f32x4; other strides fall back to a scalar loop.

// Operation codes, shared with src/backend/wasm/elementwise.ts (BINARY_CODE, UNARY_CODE).
import {
  BINARY_ADD as ADD, BINARY_SUB as SUB, BINARY_MUL as MUL, BINARY_DIV as DIV, BINARY_MAXIMUM as MAXIMUM,
  BINARY_MINIMUM as MINIMUM, BINARY_EQ as EQ, BINARY_GT as GT, BINARY_GE as GE, BINARY_POW as POW,
  UNARY_NEG as NEG, UNARY_EXP as EXP, UNARY_LOG as LOG, UNARY_SQRT as SQRT, UNARY_ABS as ABS, UNARY_SIGN as SIGN,
  UNARY_RELU as RELU, UNARY_SIGMOID as SIGMOID, UNARY_TANH as TANH,
} from '../abi';

// @ts-ignore: decorator
@inline function at(base: usize, index: i32): usize {
  return base + (<usize>index << 2);
}

/**
 * The ReLU and its gradient, defined here once, as PyTorch's: x where x > 0 or x is NaN (a NaN propagates), else
 * +0; and dy unless x ≤ 0 (so a NaN x passes dy, as threshold_backward does). The kernels that fuse a ReLU into
 * their own passes (batchnorm.ts, pool.ts) call these, so their results are the bits of the ReLU kernels.
 */
// @ts-ignore: decorator
@inline export function relu1(x: f32): f32 {
  return x <= 0 ? 0 : x;
}

// @ts-ignore: decorator
@inline export function relu4(x: v128): v128 {
  return v128.andnot(x, f32x4.le(x, f32x4.splat(0)));
}

// @ts-ignore: decorator
@inline export function reluGrad1(dy: f32, x: f32): f32 {
  return x <= 0 ? 0 : dy;
}

// @ts-ignore: decorator
@inline export function reluGrad4(dy: v128, x: v128): v128 {
  return v128.andnot(dy, f32x4.le(x, f32x4.splat(0)));
}

// @ts-ignore: decorator
@inline function vop(op: i32, a: v128, b: v128): v128 {
  switch (op) {
    case ADD: return f32x4.add(a, b);
    case SUB: return f32x4.sub(a, b);
    case MUL: return f32x4.mul(a, b);
    case DIV: return f32x4.div(a, b);
    case EQ: return v128.and(f32x4.eq(a, b), f32x4.splat(1));
    case GT: return v128.and(f32x4.gt(a, b), f32x4.splat(1));
    case GE: return v128.and(f32x4.ge(a, b), f32x4.splat(1));
    default: return a; // MAXIMUM, MINIMUM and POW take the scalar path (NaN rules, pow)
  }
}

// @ts-ignore: decorator
@inline function sop(op: i32, a: f32, b: f32): f32 {
  switch (op) {
    case ADD: return a + b;
    case SUB: return a - b;
    case MUL: return a * b;
    case DIV: return a / b;
    case MAXIMUM: return a != a || b != b ? NaN : a > b ? a : b;
    case MINIMUM: return a != a || b != b ? NaN : a < b ? a : b;
    case EQ: return a == b ? 1 : 0;
    case GT: return a > b ? 1 : 0;
    case GE: return a >= b ? 1 : 0;
    default: return Mathf.pow(a, b);
  }
}

/** out[j] = op(a[j·sa], b[j·sb]) for j < n. */
// @ts-ignore: decorator
@inline function binaryRun(op: i32, out: usize, a: usize, sa: i32, b: usize, sb: i32, n: i32): void {
  let j = 0;
  if (op <= DIV || (op >= EQ && op <= GE)) {
    if (sa == 1 && sb == 1) {
      for (; j + 4 <= n; j += 4) v128.store(at(out, j), vop(op, v128.load(at(a, j)), v128.load(at(b, j))));
    } else if (sa == 1 && sb == 0) {
      const vb = v128.load32_splat(b);
      for (; j + 4 <= n; j += 4) v128.store(at(out, j), vop(op, v128.load(at(a, j)), vb));
    } else if (sa == 0 && sb == 1) {
      const va = v128.load32_splat(a);
      for (; j + 4 <= n; j += 4) v128.store(at(out, j), vop(op, va, v128.load(at(b, j))));
    }
  }
  for (; j < n; j++) store<f32>(at(out, j), sop(op, load<f32>(at(a, j * sa)), load<f32>(at(b, j * sb))));
}

/** For r < rows: out[r·ro + j] = op(a[r·ra + j·sa], b[r·rb + j·sb]) for j < cols. */
export function binary_f32(op: i32, out: usize, ro: i32, a: usize, ra: i32, sa: i32, b: usize, rb: i32, sb: i32, rows: i32, cols: i32): void {
  for (let r = 0; r < rows; r++) binaryRun(op, at(out, r * ro), at(a, r * ra), sa, at(b, r * rb), sb, cols);
}

// @ts-ignore: decorator
@inline function uop(op: i32, x: f32): f32 {
  switch (op) {
    case NEG: return -x;
    case EXP: return Mathf.exp(x);
    case LOG: return Mathf.log(x);
    case SQRT: return Mathf.sqrt(x);
    case ABS: return Mathf.abs(x);
    case SIGN: return x > 0 ? 1 : x < 0 ? -1 : x; // keeps ±0 and NaN, as Math.sign
    case RELU: return relu1(x);
    case SIGMOID: {
      // Neither branch overflows: exp is only taken of a non-positive number.
      if (x >= 0) return 1 / (1 + Mathf.exp(-x));
      const e = Mathf.exp(x);
      return e / (1 + e);
    }
    default: return Mathf.tanh(x);
  }
}

/** out[j] = op(x[j]) for j < n. */
export function unary_f32(op: i32, out: usize, x: usize, n: i32): void {
  let j = 0;
  if (op == NEG || op == SQRT || op == ABS || op == RELU) {
    for (; j + 4 <= n; j += 4) {
      const v = v128.load(at(x, j));
      const r = op == NEG ? f32x4.neg(v) : op == SQRT ? f32x4.sqrt(v) : op == ABS ? f32x4.abs(v) : relu4(v);
      v128.store(at(out, j), r);
    }
  }
  for (; j < n; j++) store<f32>(at(out, j), uop(op, load<f32>(at(x, j))));
}

/** out[j] = x[j] <= 0 ? 0 : dy[j], ReLU's gradient (a NaN x passes dy, as in PyTorch). */
export function relu_backward_f32(out: usize, dy: usize, x: usize, n: i32): void {
  let j = 0;
  for (; j + 4 <= n; j += 4) v128.store(at(out, j), reluGrad4(v128.load(at(dy, j)), v128.load(at(x, j))));
  for (; j < n; j++) store<f32>(at(out, j), reluGrad1(load<f32>(at(dy, j)), load<f32>(at(x, j))));
}

/** out[j] = min(max(x[j], lo), hi). */
export function clamp_f32(out: usize, x: usize, n: i32, lo: f32, hi: f32): void {
  let j = 0;
  const vlo = f32x4.splat(lo);
  const vhi = f32x4.splat(hi);
  for (; j + 4 <= n; j += 4) {
    // Selects rather than min/max, so that a NaN passes through as in the reference.
    const v = v128.load(at(x, j));
    const r = v128.bitselect(vlo, v, f32x4.lt(v, vlo));
    v128.store(at(out, j), v128.bitselect(vhi, r, f32x4.gt(v, vhi)));
  }
  for (; j < n; j++) {
    const v = load<f32>(at(x, j));
    store<f32>(at(out, j), v < lo ? lo : v > hi ? hi : v);
  }
}

/** acc[j·sacc] += x[j·sx] for j < n: one run of a sum reduction (sacc 0 sums the run into one slot). */
// @ts-ignore: decorator
@inline function sumRun(acc: usize, sacc: i32, x: usize, sx: i32, n: i32): void {
  let j = 0;
  if (sacc == 0 && sx == 1) {
    let v = f32x4.splat(0);
    for (; j + 4 <= n; j += 4) v = f32x4.add(v, v128.load(at(x, j)));
    let s = f32x4.extract_lane(v, 0) + f32x4.extract_lane(v, 1) + f32x4.extract_lane(v, 2) + f32x4.extract_lane(v, 3);
    for (; j < n; j++) s += load<f32>(at(x, j));
    store<f32>(acc, load<f32>(acc) + s);
    return;
  }
  if (sacc == 1 && sx == 1) {
    for (; j + 4 <= n; j += 4) v128.store(at(acc, j), f32x4.add(v128.load(at(acc, j)), v128.load(at(x, j))));
  }
  for (; j < n; j++) {
    const d = at(acc, j * sacc);
    store<f32>(d, load<f32>(d) + load<f32>(at(x, j * sx)));
  }
}

/**
 * acc[j] += x[r·rx + j] for rows r < rows in order, j < cols: every row into the same run of sums, which stay in
 * registers (16 columns at a time) instead of being stored and reloaded for each row, which chained every row's adds
 * through memory ((6400, 9) summed over its rows: 40 µs). Each sum adds the same values in the same order.
 */
// @ts-ignore: decorator
@inline function sumRowsInRegisters(acc: usize, x: usize, rx: i32, rows: i32, cols: i32): void {
  const rowBytes = <usize>rx << 2;
  for (let j0 = 0; j0 < cols; j0 += 16) {
    const width = min(16, cols - j0);
    const vecs = width >> 2;
    const tail = width & 3;
    const a = at(acc, j0);
    let v0 = vecs > 0 ? v128.load(a) : f32x4.splat(0);
    let v1 = vecs > 1 ? v128.load(a, 16) : f32x4.splat(0);
    let v2 = vecs > 2 ? v128.load(a, 32) : f32x4.splat(0);
    let v3 = vecs > 3 ? v128.load(a, 48) : f32x4.splat(0);
    const t = a + (<usize>vecs << 4);
    let s0: f32 = tail > 0 ? load<f32>(t) : 0;
    let s1: f32 = tail > 1 ? load<f32>(t, 4) : 0;
    let s2: f32 = tail > 2 ? load<f32>(t, 8) : 0;
    let row = at(x, j0);
    for (let r = 0; r < rows; r++, row += rowBytes) {
      if (vecs > 0) v0 = f32x4.add(v0, v128.load(row));
      if (vecs > 1) v1 = f32x4.add(v1, v128.load(row, 16));
      if (vecs > 2) v2 = f32x4.add(v2, v128.load(row, 32));
      if (vecs > 3) v3 = f32x4.add(v3, v128.load(row, 48));
      const u = row + (<usize>vecs << 4);
      if (tail > 0) s0 += load<f32>(u);
      if (tail > 1) s1 += load<f32>(u, 4);
      if (tail > 2) s2 += load<f32>(u, 8);
    }
    if (vecs > 0) v128.store(a, v0);
    if (vecs > 1) v128.store(a, v1, 16);
    if (vecs > 2) v128.store(a, v2, 32);
    if (vecs > 3) v128.store(a, v3, 48);
    if (tail > 0) store<f32>(t, s0);
    if (tail > 1) store<f32>(t, s1, 4);
    if (tail > 2) store<f32>(t, s2, 8);
  }
}

/**
 * For planes p < planes, then rows r < rows, in order: acc[p·pacc + r·racc + j·sacc] += x[p·px + r·rx + j·sx] for
 * j < cols (a run with sacc = 0 is summed first).
 */
export function sum_runs_f32(acc: usize, racc: i32, sacc: i32, x: usize, rx: i32, sx: i32, rows: i32, cols: i32, planes: i32, pacc: i32, px: i32): void {
  for (let p = 0; p < planes; p++) {
    if (racc == 0 && sacc == 1 && sx == 1) {
      sumRowsInRegisters(at(acc, p * pacc), at(x, p * px), rx, rows, cols);
      continue;
    }
    for (let r = 0; r < rows; r++) sumRun(at(acc, p * pacc + r * racc), sacc, at(x, p * px + r * rx), sx, cols);
  }
}
