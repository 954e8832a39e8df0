// Elementwise reference kernels: unary ops, clamp, broadcasting binary ops, where.
import type { BinaryOp, UnaryOp } from '../backend.js';
import { allocArray, type DType, type FloatArray } from '../dtype.js';
import { sizeOf } from '../shape_info.js';
import { broadcastIndex } from './indexing.js';

const UNARY: Record<UnaryOp, (x: number) => number> = {
  neg: (x) => -x,
  exp: Math.exp,
  log: Math.log,
  sqrt: Math.sqrt,
  abs: Math.abs,
  sign: Math.sign,
  relu: (x) => (x > 0 ? x : 0),
  // Written so that neither branch overflows: exp of a large positive number is never taken.
  sigmoid: (x) => (x >= 0 ? 1 / (1 + Math.exp(-x)) : Math.exp(x) / (1 + Math.exp(x))),
  tanh: Math.tanh,
};

const BINARY: Record<BinaryOp, (a: number, b: number) => number> = {
  add: (a, b) => a + b,
  sub: (a, b) => a - b,
  mul: (a, b) => a * b,
  div: (a, b) => a / b,
  pow: Math.pow,
  // NaN propagates, as in PyTorch's maximum/minimum.
  maximum: (a, b) => (a !== a || b !== b ? NaN : a > b ? a : b),
  minimum: (a, b) => (a !== a || b !== b ? NaN : a < b ? a : b),
  eq: (a, b) => (a === b ? 1 : 0),
  gt: (a, b) => (a > b ? 1 : 0),
  ge: (a, b) => (a >= b ? 1 : 0),
};

export function unary(op: UnaryOp, x: FloatArray, size: number, dtype: DType): FloatArray {
  const f = UNARY[op];
  const out = allocArray(size, dtype);
  for (let i = 0; i < size; i++) out[i] = f(x[i]);
  return out;
}

export function clamp(x: FloatArray, size: number, dtype: DType, lo: number, hi: number): FloatArray {
  const out = allocArray(size, dtype);
  for (let i = 0; i < size; i++) out[i] = x[i] < lo ? lo : x[i] > hi ? hi : x[i];
  return out;
}

export function binary(
  op: BinaryOp, a: FloatArray, aShape: readonly number[], b: FloatArray, bShape: readonly number[],
  outShape: readonly number[], dtype: DType,
): FloatArray {
  const f = BINARY[op];
  const n = sizeOf(outShape);
  const out = allocArray(n, dtype);
  if (a.length === n && b.length === n) {
    for (let i = 0; i < n; i++) out[i] = f(a[i], b[i]);
  } else if (b.length === 1 && a.length === n) {
    const s = b[0];
    for (let i = 0; i < n; i++) out[i] = f(a[i], s);
  } else {
    const ia = broadcastIndex(aShape, outShape);
    const ib = broadcastIndex(bShape, outShape);
    for (let i = 0; i < n; i++) out[i] = f(a[ia[i]], b[ib[i]]);
  }
  return out;
}

export function where(
  cond: FloatArray, cShape: readonly number[], a: FloatArray, aShape: readonly number[], b: FloatArray,
  bShape: readonly number[], outShape: readonly number[], dtype: DType,
): FloatArray {
  const n = sizeOf(outShape);
  const out = allocArray(n, dtype);
  const ic = broadcastIndex(cShape, outShape);
  const ia = broadcastIndex(aShape, outShape);
  const ib = broadcastIndex(bShape, outShape);
  for (let i = 0; i < n; i++) out[i] = cond[ic[i]] !== 0 ? a[ia[i]] : b[ib[i]];
  return out;
}
