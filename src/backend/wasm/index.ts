// The wasm backend: kernels compiled from assembly/ (AssemblyScript, SIMD) behind the same contract as the
// reference backend. float32 tensors live in the kernels' linear memory (heap.ts: allocation, lifetimes and
// spilling), so each wrapper checks its sizes and makes its calls on pointers, with no copies.
// Large kernels split across a pool of worker threads sharing the memory (parallel.ts, thread_pool.ts). float64 (used by
// gradient checks) runs on the reference code with typed-array storage, as do `where` and max-reduction, through
// views of the memory.
import type { Backend, ValuesAndIndices } from '../backend.js';
import type { DType, FloatArray } from '../dtype.js';
import { createJsBackend } from '../js/index.js';
import { makeConvKernels } from './conv.js';
import { makeElementwiseKernels } from './elementwise.js';
import { Gemm, makeMatmulKernel } from './gemm.js';
import { Heap, type HeapStats, WasmStorage } from './heap.js';
import { makeLinalgKernels } from './linalg.js';
import { loadKernels } from './loader.js';
import { makeMovementKernels } from './movement.js';
import { makeNormalizationKernels } from './normalization.js';
import { makeOptimizerKernels } from './optim.js';
import { makePoolKernels } from './pool.js';
import { makeSoftmaxKernels } from './softmax.js';
import { Threads } from './parallel.js';
import { availableCores, ThreadPool, threadsSupported } from './thread_pool.js';

/** A storage of the wasm backend: float32 in wasm memory, float64 in a typed array. */
export type WasmHandle = WasmStorage | FloatArray;

/** The wasm kernel for float32, the reference kernel for float64; the dtype is every kernel's last argument. */
function f32Only<A extends unknown[], R>(wasm: (...args: A) => R, ref: (...args: A) => R): (...args: A) => R {
  return (...args: A): R => (args[args.length - 1] === 'float32' ? wasm(...args) : ref(...args));
}

export interface WasmBackend extends Backend<WasmHandle> {
  /** 'relaxed-simd' (fused multiply-add) or 'simd'. */
  readonly flavour: string;
  /** Threads that run a large kernel (the caller's included). */
  threads(): number;
  /** Uses `n` threads (1 = no workers); falls back to 1, saying so once, where memory cannot be shared. */
  setThreads(n: number): Promise<number>;
  /** What the heap holds (see heap.ts). */
  heapStats(): HeapStats;
  /** Sets the heap size past which storages are spilled to JS arrays (bytes). */
  setMemoryBudget(bytes: number): void;
  /**
   * With `on`, every kernel call checks that it wrote nothing past its outputs and scratch, and throws naming the
   * kernel if it did (for tests and debugging: it fills and reads the room after each block on every call).
   */
  setWriteChecks(on: boolean): void;
}

let warnedNoThreads = false;

export async function createWasmBackend(requestedThreads?: number): Promise<WasmBackend> {
  const loaded = await loadKernels(threadsSupported());
  const { exports, memory, flavour } = loaded;
  const ref = createJsBackend();
  const threads = new Threads(exports);
  const zero = (ptr: number, floats: number) =>
    threads.calls(
      'fill_f32',
      threads.ranges(floats, 4).map(([s, e]) => [ptr + 4 * s, e - s, 0]),
      true,
    );
  const heap = new Heap(memory, exports.heap_base(), zero);
  const lifetimes = heap.lifetimes;
  const gemm = new Gemm(exports, threads);
  const c = makeConvKernels(exports, gemm, heap, threads);
  const e = makeElementwiseKernels(exports, heap, threads);
  const mv = makeMovementKernels(exports, heap, threads);
  const pl = makePoolKernels(exports, heap, threads);
  const bn = makeNormalizationKernels(exports, heap, threads);
  const opt = makeOptimizerKernels(exports, heap);
  const sm = makeSoftmaxKernels(heap, threads);
  const la = makeLinalgKernels(exports, gemm, heap, threads);
  const asView = (s: unknown): FloatArray => (s instanceof WasmStorage ? heap.viewOf(s) : (s as FloatArray));

  // Kernels without a wasm version: the reference code on views of the memory, its result copied in.
  function where(
    cond: WasmHandle,
    cShape: readonly number[],
    a: WasmHandle,
    aShape: readonly number[],
    b: WasmHandle,
    bShape: readonly number[],
    outShape: readonly number[],
    dtype: DType,
  ): WasmHandle {
    const out = ref.where(asView(cond), cShape, asView(a), aShape, asView(b), bShape, outShape, dtype);
    return dtype === 'float32' ? heap.fromArray(out) : out;
  }
  function reduceMax(
    x: WasmHandle,
    shape: readonly number[],
    axes: readonly number[],
    dtype: DType,
  ): ValuesAndIndices<WasmHandle> {
    const r = ref.reduceMax(asView(x), shape, axes, dtype);
    return dtype === 'float32' ? { values: heap.fromArray(r.values), indices: r.indices } : r;
  }

  async function setThreads(asked: number): Promise<number> {
    if (!(Number.isInteger(asked) && asked >= 1))
      throw new Error(`setNumThreads: expected a positive integer, got ${asked}`);
    // Each worker holds its own instance and stack, and threads beyond the cores only take turns (16 threads on
    // 2 cores ran the kernels 7× slower than 2): at most twice the cores the runtime reports.
    const cores = await availableCores();
    const n = Math.min(asked, 2 * cores);
    if (n < asked)
      console.warn(`netdeconv: setNumThreads(${asked}): this runtime reports ${cores} cores; using ${n} threads`);
    // Fewer threads than the pool has: use part of it (its workers stay warm, and idle ones sleep).
    if (n - 1 <= (threads.pool?.size ?? 0)) {
      threads.active = n;
      return threads.count;
    }
    threads.pool?.close();
    threads.pool = null;
    threads.active = n;
    try {
      if (!loaded.shared)
        throw new Error(
          'SharedArrayBuffer is unavailable (a web page needs the Cross-Origin-Opener-Policy: same-origin and Cross-Origin-Embedder-Policy: require-corp headers)',
        );
      threads.pool = await ThreadPool.create(n - 1, loaded.module, memory, exports);
    } catch (err) {
      if (!warnedNoThreads) {
        warnedNoThreads = true;
        console.warn(`netdeconv: running on one thread: ${(err as Error).message}`);
      }
    }
    return threads.count;
  }
  await setThreads(requestedThreads ?? (await availableCores()));

  // Each kernel: the wasm version for float32 storages, the reference one for float64 typed arrays.
  const k = <A extends unknown[], R>(wasm: (...args: A) => R, reference: (...args: never[]) => unknown) =>
    f32Only(wasm, reference as unknown as (...args: A) => R);
  return {
    name: 'wasm',
    dtypes: ['float32', 'float64'],
    flavour,
    threads: () => threads.count,
    setThreads,
    heapStats: () => heap.heapStats(),
    setMemoryBudget: (bytes) => heap.setBudget(bytes),
    setWriteChecks: (on) => {
      heap.checkWrites = on;
    },
    wasmMemoryBytes: () => memory.buffer.byteLength,
    alloc: (size, dtype) => (dtype === 'float32' ? heap.create(size, true) : ref.alloc(size, dtype)),
    fromArray: (data, kept) => (data instanceof Float32Array ? heap.fromArray(data, kept) : ref.fromArray(data)),
    view: (s) => asView(s),
    openScope: () => lifetimes.openScope(),
    closeScope: (keep, because) => lifetimes.closeScope(keep, because),
    abandonScope: () => lifetimes.abandonScope(),
    freeNow: (s) => void (s instanceof WasmStorage && lifetimes.freeNow(s)),
    dispose: (s) => void (s instanceof WasmStorage && lifetimes.dispose(s)),
    keep: (s) => void (s instanceof WasmStorage && lifetimes.keep(s)),
    beginStep: () => lifetimes.beginStep(),
    endStep: (first) => lifetimes.endStep(first),
    where,
    reduceMax,
    matmul: k(makeMatmulKernel(gemm, heap), ref.matmul),
    conv2d: k(c.conv2d, ref.conv2d),
    conv2dBackwardInput: k(c.conv2dBackwardInput, ref.conv2dBackwardInput),
    conv2dBackwardFilter: k(c.conv2dBackwardFilter, ref.conv2dBackwardFilter),
    im2col: k(c.im2col, ref.im2col),
    col2im: k(c.col2im, ref.col2im),
    unary: k(e.unary, ref.unary),
    reluBackward: k(e.reluBackward, ref.reluBackward),
    clamp: k(e.clamp, ref.clamp),
    binary: k(e.binary, ref.binary),
    reduceSum: k(e.reduceSum, ref.reduceSum),
    maxPool2d: k(pl.maxPool2d, ref.maxPool2d),
    maxPool2dWithArgmax: k(pl.maxPool2dWithArgmax, ref.maxPool2dWithArgmax),
    maxPool2dBackward: k(pl.maxPool2dBackward, ref.maxPool2dBackward),
    fusedReluMaxPool2d: k(pl.fusedReluMaxPool2d, ref.fusedReluMaxPool2d),
    fusedReluMaxPool2dBackward: k(pl.fusedReluMaxPool2dBackward, ref.fusedReluMaxPool2dBackward),
    avgPool2d: k(pl.avgPool2d, ref.avgPool2d),
    avgPool2dBackward: k(pl.avgPool2dBackward, ref.avgPool2dBackward),
    expand: k(mv.expand, ref.expand),
    permute: k(mv.permute, ref.permute),
    slice: k(mv.slice, ref.slice),
    pad: k(mv.pad, ref.pad),
    concat: k(mv.concat, ref.concat),
    scatterAdd: k(mv.scatterAdd, ref.scatterAdd),
    channelMoments: k(bn.channelMoments, ref.channelMoments),
    batchNormApply: k(bn.batchNormApply, ref.batchNormApply),
    batchNormBackward: k(bn.batchNormBackward, ref.batchNormBackward),
    fusedBatchNormReluApply: k(bn.fusedBatchNormReluApply, ref.fusedBatchNormReluApply),
    fusedBatchNormReluBackward: k(bn.fusedBatchNormReluBackward, ref.fusedBatchNormReluBackward),
    sgdUpdate: k(opt.sgdUpdate, ref.sgdUpdate),
    adamUpdate: k(opt.adamUpdate, ref.adamUpdate),
    logSoftmax: k(sm.logSoftmax, ref.logSoftmax),
    logSoftmaxBackward: k(sm.logSoftmaxBackward, ref.logSoftmaxBackward),
    covariance: k(la.covariance, ref.covariance),
    newtonSchulz: k(la.newtonSchulz, ref.newtonSchulz),
    newtonSchulzBackward: k(la.newtonSchulzBackward, ref.newtonSchulzBackward),
    newtonSchulzSymmetricBackward: k(la.newtonSchulzSymmetricBackward, ref.newtonSchulzSymmetricBackward),
  };
}
