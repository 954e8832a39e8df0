// Wrappers of the elementwise and reduction kernels. Broadcasting and reductions are split into planes of
// 1-D runs by the same strided walk the reference backend uses (js/indexing.ts); each plane is one wasm call.
import type { BinaryOp, UnaryOp } from '../backend.js';
import type { DType } from '../dtype.js';
import { broadcastStrides, forEachPlane, reducedStrides } from '../js/indexing.js';
import { sizeOf, stridesOf } from '../shape_info.js';
import { expectSize, type Heap, type WasmStorage } from './heap.js';
import * as abi from './kernels.abi.js';
import type { KernelExports } from './loader.js';
import { MIN_PARALLEL_ELEMENTS, sumParts, type Threads } from './parallel.js';

/** Operation codes of assembly/kernels/elementwise.ts (assembly/abi.ts). */
export const BINARY_CODE: Record<BinaryOp, number> = {
  add: abi.BINARY_ADD,
  sub: abi.BINARY_SUB,
  mul: abi.BINARY_MUL,
  div: abi.BINARY_DIV,
  maximum: abi.BINARY_MAXIMUM,
  minimum: abi.BINARY_MINIMUM,
  eq: abi.BINARY_EQ,
  gt: abi.BINARY_GT,
  ge: abi.BINARY_GE,
  pow: abi.BINARY_POW,
};
const UNARY_CODE: Record<UnaryOp, number> = {
  neg: abi.UNARY_NEG,
  exp: abi.UNARY_EXP,
  log: abi.UNARY_LOG,
  sqrt: abi.UNARY_SQRT,
  abs: abi.UNARY_ABS,
  sign: abi.UNARY_SIGN,
  relu: abi.UNARY_RELU,
  sigmoid: abi.UNARY_SIGMOID,
  tanh: abi.UNARY_TANH,
};

/**
 * Columns per thread below which a sum's column split runs on one thread: each call walks every row for its few
 * columns (a (3136, 16) sum over rows took 34 µs split in two, 22 µs whole; (64, 2048): 11.5 against 18).
 */
const MIN_SPLIT_COLUMNS = 64;

export function makeElementwiseKernels(k: KernelExports, heap: Heap, threads: Threads) {
  function unary(op: UnaryOp, x: WasmStorage, size: number, _dtype: DType): WasmStorage {
    expectSize('unary', 'x', x, size);
    return heap.call('unary', [x], [size], [], ([px], [po]) => {
      threads.calls(
        'unary_f32',
        threads.ranges(size, 4).map(([s, e]) => [UNARY_CODE[op], po + 4 * s, px + 4 * s, e - s]),
        true,
      );
    })[0];
  }

  function reluBackward(dy: WasmStorage, x: WasmStorage, size: number, _dtype: DType): WasmStorage {
    expectSize('reluBackward', 'dy', dy, size);
    expectSize('reluBackward', 'x', x, size);
    return heap.call('reluBackward', [dy, x], [size], [], ([pdy, px], [po]) => {
      threads.calls(
        'relu_backward_f32',
        threads.ranges(size, 4).map(([s, e]) => [po + 4 * s, pdy + 4 * s, px + 4 * s, e - s]),
        true,
      );
    })[0];
  }

  function clamp(x: WasmStorage, size: number, lo: number, hi: number, _dtype: DType): WasmStorage {
    expectSize('clamp', 'x', x, size);
    return heap.call('clamp', [x], [size], [], ([px], [po]) => {
      threads.calls(
        'clamp_f32',
        threads.ranges(size, 4).map(([s, e]) => [po + 4 * s, px + 4 * s, e - s, lo, hi]),
        true,
      );
    })[0];
  }

  function binary(
    op: BinaryOp,
    a: WasmStorage,
    aShape: readonly number[],
    b: WasmStorage,
    bShape: readonly number[],
    outShape: readonly number[],
    _dtype: DType,
  ): WasmStorage {
    expectSize('binary', 'a', a, sizeOf(aShape));
    expectSize('binary', 'b', b, sizeOf(bShape));
    const code = BINARY_CODE[op];
    const strides = [stridesOf(outShape), broadcastStrides(aShape, outShape), broadcastStrides(bShape, outShape)];
    const n = sizeOf(outShape);
    return heap.call('binary', [a, b], [n], [], ([pa, pb], [po]) => {
      const calls: number[][] = [];
      forEachPlane(outShape, strides, ([o, ia, ib], rows, cols, [ro, ra, rb], [, da, db]) => {
        const part = (r0: number, r1: number, c0: number, c1: number) =>
          calls.push([
            code,
            po + 4 * (o + r0 * ro + c0),
            ro,
            pa + 4 * (ia + r0 * ra + c0 * da),
            ra,
            da,
            pb + 4 * (ib + r0 * rb + c0 * db),
            rb,
            db,
            r1 - r0,
            c1 - c0,
          ]);
        // A large plane is cut into ranges of rows, or of its one run, one per thread.
        if (rows === 1) for (const [c0, c1] of threads.ranges(cols, 4)) part(0, 1, c0, c1);
        else for (const [r0, r1] of threads.unitRanges(rows, cols)) part(r0, r1, 0, cols);
      });
      threads.calls('binary_f32', calls, n >= MIN_PARALLEL_ELEMENTS);
    })[0];
  }

  /**
   * Sums over `axes`, plane by plane in order. A large sum over a leading axis (the batch: a bias gradient over
   * (N, C, H, W), a mean over the rows of (rows, d)) is cut into parts of that axis fixed by the shape
   * (parallel.ts: sumParts): each part sums into its own partial (threads take ranges of parts, so each reads the
   * images it wrote), then the partials are added in order. Otherwise, when the planes are evenly spaced, the rows or columns that are
   * distinct outputs are split into ranges, one call each over every plane. Either way each output is summed in an
   * order the shape alone decides, so results do not depend on the thread count.
   */
  function reduceSum(x: WasmStorage, shape: readonly number[], axes: readonly number[], _dtype: DType): WasmStorage {
    const size = sizeOf(shape);
    expectSize('reduceSum', 'x', x, size);
    const outSize = sizeOf(shape.map((d, i) => (axes.includes(i) ? 1 : d)));
    const planes: number[][] = [];
    let run = [0, 0, 0, 0, 0, 0]; // rows, cols, rx, racc, sx, sacc
    forEachPlane(shape, [stridesOf(shape), reducedStrides(shape, axes)], ([ix, io], r, c, rowSteps, colSteps) => {
      planes.push([ix, io]);
      run = [r, c, ...rowSteps, ...colSteps]; // each steps pair: x, then the output
    });
    const [rows, cols, rx, racc, sx, sacc] = run;
    const [xStep, accStep] = planes.length > 1 ? [planes[1][0] - planes[0][0], planes[1][1] - planes[0][1]] : [0, 0];
    const even = planes.every(([ix, io], p) => ix === planes[0][0] + p * xStep && io === planes[0][1] + p * accStep);
    // The leading reduced axis, if any: the planes (all summed into the same outputs), or the rows of a single plane.
    const leading =
      size < MIN_PARALLEL_ELEMENTS
        ? null
        : planes.length > 1
          ? even && accStep === 0
            ? 'planes'
            : null
          : racc === 0 && rows > 1
            ? 'rows'
            : null;
    const units = leading === 'planes' ? planes.length : rows;
    const { parts, perPart } = leading ? sumParts(units) : { parts: 0, perPart: 0 };
    return heap.call(
      'reduceSum',
      [x],
      [outSize],
      leading ? [parts * outSize] : [],
      ([px], [pacc], [partials]) => {
        const call = (
          acc: number,
          ix: number,
          r0: number,
          r1: number,
          c0: number,
          c1: number,
          count: number,
        ): Parameters<KernelExports['sum_runs_f32']> => [
          acc + 4 * (r0 * racc + c0 * sacc),
          racc,
          sacc,
          px + 4 * (ix + r0 * rx + c0 * sx),
          rx,
          sx,
          r1 - r0,
          c1 - c0,
          count,
          accStep,
          xStep,
        ];
        if (leading) {
          k.fill_f32(partials, parts * outSize, 0);
          const [ix, io] = planes[0];
          // A call per part, into its own partial (the pool gives each thread a run of consecutive parts).
          const calls = Array.from({ length: parts }, (_, q) => {
            const [u0, u1] = [q * perPart, Math.min(units, (q + 1) * perPart)];
            const acc = partials + 4 * (q * outSize + io);
            return leading === 'planes'
              ? call(acc, ix + u0 * xStep, 0, rows, 0, cols, u1 - u0)
              : call(acc, ix, u0, u1, 0, cols, 1);
          });
          threads.calls('sum_runs_f32', calls, true);
          // The partials added in order: out = Σ_q partial_q.
          k.sum_runs_f32(pacc, 0, 1, partials, 0, 1, 1, outSize, parts, 0, outSize);
          return;
        }
        const wide = cols >= MIN_SPLIT_COLUMNS * threads.count;
        const split =
          size >= MIN_PARALLEL_ELEMENTS && even ? (racc !== 0 ? 'rows' : sacc !== 0 && wide ? 'cols' : null) : null;
        if (split === null) {
          for (const [ix, io] of planes) k.sum_runs_f32(...call(pacc + 4 * io, ix, 0, rows, 0, cols, 1));
          return;
        }
        const [ix, io] = planes[0];
        const calls =
          split === 'rows'
            ? threads.ranges(rows, 1, 0).map(([r0, r1]) => call(pacc + 4 * io, ix, r0, r1, 0, cols, planes.length))
            : threads.ranges(cols, 4, 0).map(([c0, c1]) => call(pacc + 4 * io, ix, 0, rows, c0, c1, planes.length));
        threads.calls('sum_runs_f32', calls, true);
      },
      true,
    )[0];
  }

  return {
    unary,
    reluBackward,
    clamp,
    binary,
    reduceSum,
  };
}
