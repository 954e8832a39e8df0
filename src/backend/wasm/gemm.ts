// Batched matrix multiplication on the wasm GEMM kernel.
import type { DType, FloatArray } from '../dtype.js';
import { type Arena, expectSize } from './arena.js';
import type { KernelExports } from './loader.js';

export function makeMatmulKernel(k: KernelExports, arena: Arena) {
  return function matmul(a: FloatArray, b: FloatArray, batch: number, m: number, kk: number, n: number, transA: boolean, transB: boolean, _dtype: DType): FloatArray {
    expectSize('matmul', 'a', a, batch * m * kk);
    expectSize('matmul', 'b', b, batch * kk * n);
    const [pa, pb, pc, ps] = arena.layout('matmul', a.length, b.length, batch * m * n, k.gemm_scratch_floats(n));
    arena.put(pa, a);
    arena.put(pb, b);
    for (let t = 0; t < batch; t++) k.gemm_f32(pc + 4 * t * m * n, pa + 4 * t * m * kk, pb + 4 * t * kk * n, m, n, kk, +transA, +transB, 0, ps);
    return arena.take(pc, batch * m * n);
  };
}
