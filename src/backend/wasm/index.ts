// The wasm backend: kernels compiled from assembly/ (AssemblyScript, SIMD) behind the same contract as the
// reference backend. Each wrapper checks what it is given, lays its buffers out in the scratch arena, copies the
// inputs in, makes its wasm calls and copies the result out; tensor storage stays in garbage-collected typed
// arrays (see arena.ts). float64 (used by gradient checks) and the kernels without a wasm version — data movement,
// max-reduction, scatter — run on the reference code.
import type { Backend } from '../backend.js';
import type { FloatArray } from '../dtype.js';
import { createJsBackend } from '../js/index.js';
import { Arena } from './arena.js';
import { makeConvKernels } from './conv.js';
import { makeElementwiseKernels } from './elementwise.js';
import { makeMatmulKernel } from './gemm.js';
import { loadKernels } from './loader.js';

/** The wasm kernel for float32, the reference kernel for float64; the dtype is every kernel's last argument. */
function f32Only<A extends unknown[], R>(wasm: (...args: A) => R, ref: (...args: A) => R): (...args: A) => R {
  return (...args: A): R => (args[args.length - 1] === 'float32' ? wasm(...args) : ref(...args));
}

export async function createWasmBackend(): Promise<Backend<FloatArray> & { flavour: string }> {
  const { exports, memory, flavour } = await loadKernels();
  const ref = createJsBackend();
  const arena = new Arena(memory, exports.heap_base());
  const c = makeConvKernels(exports, arena);
  const e = makeElementwiseKernels(exports, arena);
  return {
    ...ref,
    name: 'wasm',
    flavour,
    wasmMemoryBytes: () => memory.buffer.byteLength,
    matmul: f32Only(makeMatmulKernel(exports, arena), ref.matmul),
    conv2d: f32Only(c.conv2d, ref.conv2d),
    conv2dBackwardInput: f32Only(c.conv2dBackwardInput, ref.conv2dBackwardInput),
    conv2dBackwardFilter: f32Only(c.conv2dBackwardFilter, ref.conv2dBackwardFilter),
    im2col: f32Only(c.im2col, ref.im2col),
    col2im: f32Only(c.col2im, ref.col2im),
    unary: f32Only(e.unary, ref.unary),
    clamp: f32Only(e.clamp, ref.clamp),
    binary: f32Only(e.binary, ref.binary),
    reduceSum: f32Only(e.reduceSum, ref.reduceSum),
    maxPool2d: f32Only(e.maxPool2d, ref.maxPool2d),
    avgPool2d: f32Only(e.avgPool2d, ref.avgPool2d),
    avgPool2dBackward: f32Only(e.avgPool2dBackward, ref.avgPool2dBackward),
  };
}
