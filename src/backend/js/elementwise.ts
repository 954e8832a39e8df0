// Elementwise reference kernels: unary ops, clamp, broadcasting binary ops, where.
import type { BinaryOp, UnaryOp } from '../backend.js';
import { allocArray, type DType, type FloatArray } from '../dtype.js';
import { sizeOf, stridesOf } from '../shape_info.js';
import { broadcastStrides, forEachRun } from './indexing.js';

/**
 * The ReLU as PyTorch's: x where x > 0 or x is NaN (a NaN propagates), else +0. The reference kernels that fuse a
 * ReLU (pool, normalization) call it, and `reluGrad` for its gradient.
 */
export const relu = (x: number): number => (x <= 0 ? 0 : x);

/** ReLU's gradient as PyTorch's threshold_backward: dy unless x ≤ 0 (a NaN x passes dy). */
export const reluGrad = (dy: number, x: number): number => (x <= 0 ? 0 : dy);

const UNARY: Record<UnaryOp, (x: number) => number> = {
  neg: (x) => -x,
  exp: Math.exp,
  log: Math.log,
  sqrt: Math.sqrt,
  abs: Math.abs,
  sign: Math.sign,
  relu,
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

export function reluBackward(dy: FloatArray, x: FloatArray, size: number, dtype: DType): FloatArray {
  const out = allocArray(size, dtype);
  for (let i = 0; i < size; i++) out[i] = reluGrad(dy[i], x[i]);
  return out;
}

export function clamp(x: FloatArray, size: number, lo: number, hi: number, dtype: DType): FloatArray {
  const out = allocArray(size, dtype);
  for (let i = 0; i < size; i++) out[i] = x[i] < lo ? lo : x[i] > hi ? hi : x[i];
  return out;
}

/** One run of a binary op. The four arithmetic ops get their own loops: they dominate training time. */
function binaryRun(
  op: BinaryOp,
  out: FloatArray,
  o: number,
  a: FloatArray,
  ia: number,
  da: number,
  b: FloatArray,
  ib: number,
  db: number,
  n: number,
): void {
  switch (op) {
    case 'add':
      for (let j = 0; j < n; j++) out[o + j] = a[ia + j * da] + b[ib + j * db];
      return;
    case 'sub':
      for (let j = 0; j < n; j++) out[o + j] = a[ia + j * da] - b[ib + j * db];
      return;
    case 'mul':
      for (let j = 0; j < n; j++) out[o + j] = a[ia + j * da] * b[ib + j * db];
      return;
    case 'div':
      for (let j = 0; j < n; j++) out[o + j] = a[ia + j * da] / b[ib + j * db];
      return;
    default: {
      const f = BINARY[op];
      for (let j = 0; j < n; j++) out[o + j] = f(a[ia + j * da], b[ib + j * db]);
    }
  }
}

export function binary(
  op: BinaryOp,
  a: FloatArray,
  aShape: readonly number[],
  b: FloatArray,
  bShape: readonly number[],
  outShape: readonly number[],
  dtype: DType,
): FloatArray {
  const out = allocArray(sizeOf(outShape), dtype);
  const strides = [stridesOf(outShape), broadcastStrides(aShape, outShape), broadcastStrides(bShape, outShape)];
  forEachRun(outShape, strides, ([o, ia, ib], n, [, da, db]) => binaryRun(op, out, o, a, ia, da, b, ib, db, n));
  return out;
}

export function where(
  cond: FloatArray,
  cShape: readonly number[],
  a: FloatArray,
  aShape: readonly number[],
  b: FloatArray,
  bShape: readonly number[],
  outShape: readonly number[],
  dtype: DType,
): FloatArray {
  const out = allocArray(sizeOf(outShape), dtype);
  const strides = [
    stridesOf(outShape),
    broadcastStrides(cShape, outShape),
    broadcastStrides(aShape, outShape),
    broadcastStrides(bShape, outShape),
  ];
  forEachRun(outShape, strides, ([o, ic, ia, ib], n, [, dc, da, db]) => {
    for (let j = 0; j < n; j++) out[o + j] = cond[ic + j * dc] !== 0 ? a[ia + j * da] : b[ib + j * db];
  });
  return out;
}
