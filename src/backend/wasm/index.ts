// The wasm backend. Today it runs matmul in AssemblyScript SIMD and every other kernel with the reference code;
// storage is still plain typed arrays, copied into wasm memory around each wasm call. The WASM SIMD backend issue
// moves storage into linear memory and the remaining kernels into assembly/kernels.
import type { Backend } from '../backend.js';
import type { DType, FloatArray } from '../dtype.js';
import { createJsBackend } from '../js/index.js';
import { loadKernels } from './loader.js';

const PAGE = 65536;

export async function createWasmBackend(): Promise<Backend<FloatArray>> {
  const { exports: k, memory, flavour } = await loadKernels();
  const ref = createJsBackend();

  /** A float32 view of the whole memory, grown to hold `floats` values first (growing detaches old views). */
  function heap(floats: number): Float32Array {
    const need = floats * 4 - memory.buffer.byteLength;
    if (need > 0) memory.grow(Math.ceil(need / PAGE));
    return new Float32Array(memory.buffer);
  }

  /** Copies a (rows × cols) matrix transposed into `dst` at `at`. */
  function putTransposed(dst: Float32Array, at: number, src: FloatArray, from: number, rows: number, cols: number): void {
    for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) dst[at + c * rows + r] = src[from + r * cols + c];
  }

  function matmul(a: FloatArray, b: FloatArray, batch: number, m: number, kk: number, n: number, transA: boolean, transB: boolean, dtype: DType): FloatArray {
    if (dtype !== 'float32') return ref.matmul(a, b, batch, m, kk, n, transA, transB, dtype);
    const aSize = m * kk;
    const bSize = kk * n;
    const oSize = m * n;
    const mem = heap(aSize + bSize + oSize);
    const out = new Float32Array(batch * oSize);
    for (let t = 0; t < batch; t++) {
      if (transA) putTransposed(mem, 0, a, t * aSize, kk, m);
      else mem.set(a.subarray(t * aSize, (t + 1) * aSize), 0);
      if (transB) putTransposed(mem, aSize, b, t * bSize, n, kk);
      else mem.set(b.subarray(t * bSize, (t + 1) * bSize), aSize);
      k.matmul_f32((aSize + bSize) * 4, 0, aSize * 4, m, kk, n);
      out.set(mem.subarray(aSize + bSize, aSize + bSize + oSize), t * oSize);
    }
    return out;
  }

  return { ...ref, name: 'wasm', dtypes: ['float32'], matmul, flavour } as Backend<FloatArray>;
}
