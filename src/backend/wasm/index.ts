// The wasm backend: kernels compiled from assembly/ (AssemblyScript, SIMD), behind the same contract as the
// reference backend. Each wrapper checks what it is given, lays the call's buffers out in the scratch arena,
// copies the inputs in, makes its wasm calls and copies the result out. float64 (used for gradient checks) and the
// kernels that have no wasm version yet run on the reference code.
import type { Backend, Im2colInfo } from '../backend.js';
import type { DType, FloatArray } from '../dtype.js';
import { createJsBackend } from '../js/index.js';
import type { Conv2dInfo } from '../shape_info.js';
import { Arena } from './arena.js';
import { makeElementwiseKernels } from './elementwise.js';
import { type KernelExports, loadKernels } from './loader.js';

/** Throws (instead of letting wasm read out of bounds) when a buffer is not the size the shapes say. */
function expectSize(kernel: string, name: string, a: FloatArray, size: number): void {
  if (a.length !== size) throw new Error(`wasm ${kernel}: ${name} has ${a.length} elements, the shapes need ${size}`);
}

/** The wasm kernel for float32, the reference kernel for float64; the dtype is every kernel's last argument. */
function f32Only<A extends unknown[], R>(wasm: (...args: A) => R, ref: (...args: A) => R): (...args: A) => R {
  return (...args: A): R => (args[args.length - 1] === 'float32' ? wasm(...args) : ref(...args));
}

export function makeWasmKernels(k: KernelExports, arena: Arena) {
  const B = 4; // bytes per float

  function matmul(a: FloatArray, b: FloatArray, batch: number, m: number, kk: number, n: number, transA: boolean, transB: boolean, _dtype: DType): FloatArray {
    expectSize('matmul', 'a', a, batch * m * kk);
    expectSize('matmul', 'b', b, batch * kk * n);
    const [pa, pb, pc, ps] = arena.layout('matmul', batch * m * kk, batch * kk * n, batch * m * n, k.gemm_scratch_floats(n));
    arena.put(pa, a);
    arena.put(pb, b);
    for (let t = 0; t < batch; t++) {
      k.gemm_f32(pc + t * m * n * B, pa + t * m * kk * B, pb + t * kk * n * B, m, n, kk, +transA, +transB, 0, ps);
    }
    return arena.take(pc, batch * m * n);
  }

  /** Geometry shared by the conv kernels: per-group GEMM sizes and whether im2col can be skipped (1×1, stride 1, no pad). */
  function convDims(info: Conv2dInfo) {
    const og = info.outChannels / info.groups;
    const cg = info.inChannels / info.groups;
    const kk = cg * info.kernelH * info.kernelW;
    const L = info.outHeight * info.outWidth;
    const plane = info.inChannels * info.inHeight * info.inWidth;
    const direct = info.kernelH === 1 && info.kernelW === 1 && info.strideH === 1 && info.strideW === 1 && info.padH === 0 && info.padW === 0;
    return { og, kk, L, plane, rows: info.groups * kk, direct };
  }

  function im2colAt(cols: number, x: number, info: Im2colInfo): void {
    k.im2col_f32(cols, x, info.inChannels, info.inHeight, info.inWidth, info.kernelH, info.kernelW, info.strideH, info.strideW, info.padH, info.padW, info.dilationH, info.dilationW, info.outHeight, info.outWidth);
  }

  function col2imAt(x: number, cols: number, info: Im2colInfo): void {
    k.col2im_f32(x, cols, info.inChannels, info.inHeight, info.inWidth, info.kernelH, info.kernelW, info.strideH, info.strideW, info.padH, info.padW, info.dilationH, info.dilationW, info.outHeight, info.outWidth);
  }

  function conv2d(x: FloatArray, w: FloatArray, info: Conv2dInfo, _dtype: DType): FloatArray {
    const { og, kk, L, plane, rows, direct } = convDims(info);
    expectSize('conv2d', 'input', x, info.batch * plane);
    expectSize('conv2d', 'weight', w, info.outChannels * kk);
    const ySize = info.batch * info.outChannels * L;
    const [px, pw, py, pcols, ps] = arena.layout('conv2d', x.length, w.length, ySize, direct ? 0 : rows * L, k.gemm_scratch_floats(L));
    arena.put(px, x);
    arena.put(pw, w);
    for (let n = 0; n < info.batch; n++) {
      const cols = direct ? px + n * plane * B : pcols;
      if (!direct) im2colAt(cols, px + n * plane * B, info);
      for (let g = 0; g < info.groups; g++) {
        k.gemm_f32(py + (n * info.outChannels + g * og) * L * B, pw + g * og * kk * B, cols + g * kk * L * B, og, L, kk, 0, 0, 0, ps);
      }
    }
    return arena.take(py, ySize);
  }

  function conv2dBackwardInput(dy: FloatArray, w: FloatArray, info: Conv2dInfo, _dtype: DType): FloatArray {
    const { og, kk, L, plane, rows, direct } = convDims(info);
    expectSize('conv2dBackwardInput', 'dy', dy, info.batch * info.outChannels * L);
    expectSize('conv2dBackwardInput', 'weight', w, info.outChannels * kk);
    const [pdy, pw, pdx, pcols, ps] = arena.layout('conv2dBackwardInput', dy.length, w.length, info.batch * plane, direct ? 0 : rows * L, k.gemm_scratch_floats(L));
    arena.put(pdy, dy);
    arena.put(pw, w);
    if (!direct) arena.zero(pdx, info.batch * plane);
    for (let n = 0; n < info.batch; n++) {
      const dcols = direct ? pdx + n * plane * B : pcols;
      for (let g = 0; g < info.groups; g++) {
        k.gemm_f32(dcols + g * kk * L * B, pw + g * og * kk * B, pdy + (n * info.outChannels + g * og) * L * B, kk, L, og, 1, 0, 0, ps);
      }
      if (!direct) col2imAt(pdx + n * plane * B, dcols, info);
    }
    return arena.take(pdx, info.batch * plane);
  }

  function conv2dBackwardFilter(x: FloatArray, dy: FloatArray, info: Conv2dInfo, _dtype: DType): FloatArray {
    const { og, kk, L, plane, rows, direct } = convDims(info);
    expectSize('conv2dBackwardFilter', 'input', x, info.batch * plane);
    expectSize('conv2dBackwardFilter', 'dy', dy, info.batch * info.outChannels * L);
    const [px, pdy, pdw, pcols, ps] = arena.layout('conv2dBackwardFilter', x.length, dy.length, info.outChannels * kk, direct ? 0 : rows * L, k.gemm_scratch_floats(kk));
    arena.put(px, x);
    arena.put(pdy, dy);
    for (let n = 0; n < info.batch; n++) {
      const cols = direct ? px + n * plane * B : pcols;
      if (!direct) im2colAt(cols, px + n * plane * B, info);
      for (let g = 0; g < info.groups; g++) {
        k.gemm_f32(pdw + g * og * kk * B, pdy + (n * info.outChannels + g * og) * L * B, cols + g * kk * L * B, og, kk, L, 0, 1, n > 0 ? 1 : 0, ps);
      }
    }
    return arena.take(pdw, info.outChannels * kk);
  }

  function im2col(x: FloatArray, info: Im2colInfo, _dtype: DType): FloatArray {
    const plane = info.inChannels * info.inHeight * info.inWidth;
    const per = info.inChannels * info.kernelH * info.kernelW * info.outHeight * info.outWidth;
    expectSize('im2col', 'input', x, info.batch * plane);
    const [px, pc] = arena.layout('im2col', x.length, info.batch * per);
    arena.put(px, x);
    for (let n = 0; n < info.batch; n++) im2colAt(pc + n * per * B, px + n * plane * B, info);
    return arena.take(pc, info.batch * per);
  }

  function col2im(cols: FloatArray, info: Im2colInfo, _dtype: DType): FloatArray {
    const plane = info.inChannels * info.inHeight * info.inWidth;
    const per = info.inChannels * info.kernelH * info.kernelW * info.outHeight * info.outWidth;
    expectSize('col2im', 'cols', cols, info.batch * per);
    const [pc, px] = arena.layout('col2im', cols.length, info.batch * plane);
    arena.put(pc, cols);
    arena.zero(px, info.batch * plane);
    for (let n = 0; n < info.batch; n++) col2imAt(px + n * plane * B, pc + n * per * B, info);
    return arena.take(px, info.batch * plane);
  }

  return { matmul, conv2d, conv2dBackwardInput, conv2dBackwardFilter, im2col, col2im };
}

export async function createWasmBackend(): Promise<Backend<FloatArray>> {
  const { exports, memory, flavour } = await loadKernels();
  const ref = createJsBackend();
  const arena = new Arena(memory, exports.heap_base());
  const w = makeWasmKernels(exports, arena);
  const e = makeElementwiseKernels(exports, arena);
  return {
    ...ref,
    name: 'wasm',
    /** float64 runs on the reference kernels (gradient checks); training uses float32. */
    dtypes: ['float32', 'float64'],
    flavour,
    matmul: f32Only(w.matmul, ref.matmul),
    conv2d: f32Only(w.conv2d, ref.conv2d),
    conv2dBackwardInput: f32Only(w.conv2dBackwardInput, ref.conv2dBackwardInput),
    conv2dBackwardFilter: f32Only(w.conv2dBackwardFilter, ref.conv2dBackwardFilter),
    im2col: f32Only(w.im2col, ref.im2col),
    col2im: f32Only(w.col2im, ref.col2im),
    unary: f32Only(e.unary, ref.unary),
    binary: f32Only(e.binary, ref.binary),
    reduceSum: f32Only(e.reduceSum, ref.reduceSum),
    maxPool2d: f32Only(e.maxPool2d, ref.maxPool2d),
    avgPool2d: f32Only(e.avgPool2d, ref.avgPool2d),
    avgPool2dBackward: f32Only(e.avgPool2dBackward, ref.avgPool2dBackward),
    clamp: f32Only(e.clamp, ref.clamp),
  } as Backend<FloatArray>;
}
