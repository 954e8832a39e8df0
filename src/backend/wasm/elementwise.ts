// Wrappers of the elementwise, reduction and pooling kernels. Broadcasting and reductions are split into 1-D runs
// by the same strided walk the reference backend uses (js/indexing.ts); each run is one wasm call.
import type { BinaryOp, UnaryOp, ValuesAndIndices } from '../backend.js';
import type { DType, FloatArray } from '../dtype.js';
import { forEachRun, broadcastStrides, reducedStrides } from '../js/indexing.js';
import { type Pool2dInfo, sizeOf, stridesOf } from '../shape_info.js';
import { type Arena, expectSize } from './arena.js';
import type { KernelExports } from './loader.js';

/** Operation codes of assembly/kernels/elementwise.ts. */
const BINARY_CODE: Record<BinaryOp, number> = { add: 0, sub: 1, mul: 2, div: 3, maximum: 4, minimum: 5, eq: 6, gt: 7, ge: 8, pow: 9 };
const UNARY_CODE: Record<UnaryOp, number> = { neg: 0, exp: 1, log: 2, sqrt: 3, abs: 4, sign: 5, relu: 6, sigmoid: 7, tanh: 8 };

export function makeElementwiseKernels(k: KernelExports, arena: Arena) {
  function unary(op: UnaryOp, x: FloatArray, size: number, _dtype: DType): FloatArray {
    expectSize('unary', 'x', x, size);
    const [px, po] = arena.layout('unary', size, size);
    arena.put(px, x);
    k.unary_f32(UNARY_CODE[op], po, px, size);
    return arena.take(po, size);
  }

  function clamp(x: FloatArray, size: number, lo: number, hi: number, _dtype: DType): FloatArray {
    expectSize('clamp', 'x', x, size);
    const [px, po] = arena.layout('clamp', size, size);
    arena.put(px, x);
    k.clamp_f32(po, px, size, lo, hi);
    return arena.take(po, size);
  }

  function binary(op: BinaryOp, a: FloatArray, aShape: readonly number[], b: FloatArray, bShape: readonly number[], outShape: readonly number[], _dtype: DType): FloatArray {
    expectSize('binary', 'a', a, sizeOf(aShape));
    expectSize('binary', 'b', b, sizeOf(bShape));
    const n = sizeOf(outShape);
    const [pa, pb, po] = arena.layout('binary', a.length, b.length, n);
    arena.put(pa, a);
    arena.put(pb, b);
    const code = BINARY_CODE[op];
    const strides = [stridesOf(outShape), broadcastStrides(aShape, outShape), broadcastStrides(bShape, outShape)];
    forEachRun(outShape, strides, ([o, ia, ib], len, [, da, db]) => {
      k.binary_f32(code, po + 4 * o, pa + 4 * ia, da, pb + 4 * ib, db, len);
    });
    return arena.take(po, n);
  }

  function reduceSum(x: FloatArray, shape: readonly number[], axes: readonly number[], _dtype: DType): FloatArray {
    expectSize('reduceSum', 'x', x, sizeOf(shape));
    const outSize = sizeOf(shape.map((d, i) => (axes.includes(i) ? 1 : d)));
    const [px, pacc] = arena.layout('reduceSum', x.length, outSize);
    arena.put(px, x);
    arena.zero(pacc, outSize);
    forEachRun(shape, [stridesOf(shape), reducedStrides(shape, axes)], ([ix, io], len, [dx, dout]) => {
      k.sum_run_f32(pacc + 4 * io, dout, px + 4 * ix, dx, len);
    });
    return arena.take(pacc, outSize);
  }

  function poolArgs(info: Pool2dInfo): [number, number, number, number, number, number, number, number, number, number, number] {
    return [info.batch * info.channels, info.inHeight, info.inWidth, info.outHeight, info.outWidth, info.kernelH, info.kernelW, info.strideH, info.strideW, info.padH, info.padW];
  }

  /** Elements of a pooling call's input and output. */
  function poolSizes(info: Pool2dInfo): { inSize: number; outSize: number } {
    const planes = info.batch * info.channels;
    return { inSize: planes * info.inHeight * info.inWidth, outSize: planes * info.outHeight * info.outWidth };
  }

  function maxPool2d(x: FloatArray, info: Pool2dInfo, _dtype: DType): ValuesAndIndices<FloatArray> {
    const { inSize, outSize } = poolSizes(info);
    expectSize('maxPool2d', 'x', x, inSize);
    const [px, po, pi] = arena.layout('maxPool2d', inSize, outSize, outSize);
    arena.put(px, x);
    k.max_pool2d_f32(po, pi, px, ...poolArgs(info));
    const values = arena.take(po, outSize);
    const indices = new Int32Array(arena.memory.buffer, pi, outSize).slice();
    return { values, indices };
  }

  function avgPool2d(x: FloatArray, info: Pool2dInfo, _dtype: DType): FloatArray {
    const { inSize, outSize } = poolSizes(info);
    expectSize('avgPool2d', 'x', x, inSize);
    const [px, po] = arena.layout('avgPool2d', inSize, outSize);
    arena.put(px, x);
    k.avg_pool2d_f32(po, px, ...poolArgs(info), +info.countIncludePad);
    return arena.take(po, outSize);
  }

  function avgPool2dBackward(dy: FloatArray, info: Pool2dInfo, _dtype: DType): FloatArray {
    const { inSize, outSize } = poolSizes(info);
    expectSize('avgPool2dBackward', 'dy', dy, outSize);
    const [pdy, pdx] = arena.layout('avgPool2dBackward', outSize, inSize);
    arena.put(pdy, dy);
    arena.zero(pdx, inSize);
    k.avg_pool2d_backward_f32(pdx, pdy, ...poolArgs(info), +info.countIncludePad);
    return arena.take(pdx, inSize);
  }

  return { unary, clamp, binary, reduceSum, maxPool2d, avgPool2d, avgPool2dBackward };
}
