// The wasm backend: kernels compiled from assembly/ (AssemblyScript, SIMD) behind the same contract as the
// reference backend. Each wrapper checks what it is given, lays its buffers out in the scratch arena, copies the
// inputs in, makes its wasm calls and copies the result out; tensor storage stays in garbage-collected typed
// arrays (see arena.ts). GEMMs — and so convolutions — split across a pool of worker threads sharing the memory
// (pool.ts). float64 (used by gradient checks) and the kernels without a wasm version — data movement,
// max-reduction, scatter — run on the reference code.
import type { Backend } from '../backend.js';
import type { FloatArray } from '../dtype.js';
import { createJsBackend } from '../js/index.js';
import { Arena } from './arena.js';
import { makeConvKernels } from './conv.js';
import { makeElementwiseKernels } from './elementwise.js';
import { Gemm, makeMatmulKernel } from './gemm.js';
import { loadKernels } from './loader.js';
import { availableCores, ThreadPool, threadsSupported } from './pool.js';

/** The wasm kernel for float32, the reference kernel for float64; the dtype is every kernel's last argument. */
function f32Only<A extends unknown[], R>(wasm: (...args: A) => R, ref: (...args: A) => R): (...args: A) => R {
  return (...args: A): R => (args[args.length - 1] === 'float32' ? wasm(...args) : ref(...args));
}

export interface WasmBackend extends Backend<FloatArray> {
  /** 'relaxed-simd' (fused multiply-add) or 'simd'. */
  readonly flavour: string;
  /** Threads that run a large GEMM (the caller's included). */
  threads(): number;
  /** Uses `n` threads (1 = no workers); falls back to 1, saying so once, where memory cannot be shared. */
  setThreads(n: number): Promise<number>;
}

let warnedNoThreads = false;

export async function createWasmBackend(requestedThreads?: number): Promise<WasmBackend> {
  const loaded = await loadKernels(threadsSupported());
  const { exports, memory, flavour } = loaded;
  const ref = createJsBackend();
  const arena = new Arena(memory, exports.heap_base());
  const gemm = new Gemm(exports);
  const c = makeConvKernels(exports, gemm, arena);
  const e = makeElementwiseKernels(exports, arena);

  async function setThreads(n: number): Promise<number> {
    if (!(Number.isInteger(n) && n >= 1)) throw new Error(`setNumThreads: expected a positive integer, got ${n}`);
    gemm.pool?.close();
    gemm.pool = null;
    if (n === 1) return 1;
    try {
      if (!loaded.shared) throw new Error('SharedArrayBuffer is unavailable (a web page needs the Cross-Origin-Opener-Policy: same-origin and Cross-Origin-Embedder-Policy: require-corp headers)');
      gemm.pool = await ThreadPool.create(n - 1, loaded.module, memory);
    } catch (err) {
      if (!warnedNoThreads) {
        warnedNoThreads = true;
        console.warn(`netdeconv: running on one thread: ${(err as Error).message}`);
      }
    }
    return gemm.threads;
  }
  await setThreads(requestedThreads ?? (await availableCores()));

  return {
    ...ref,
    name: 'wasm',
    flavour,
    threads: () => gemm.threads,
    setThreads,
    wasmMemoryBytes: () => memory.buffer.byteLength,
    matmul: f32Only(makeMatmulKernel(gemm, arena), ref.matmul),
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
