// The deconvolution's matrix kernels on wasm: one GEMM per matrix (the transpose of the covariance is a packing
// flag, not a copy), then one scale-plus-identity pass.
import type { DType } from '../dtype.js';
import type { Gemm } from './gemm.js';
import { expectSize, type Heap, type WasmStorage } from './heap.js';
import type { KernelExports } from './loader.js';

export function makeLinalgKernels(k: KernelExports, gemm: Gemm, heap: Heap) {
  /** C = XᵀX/n + eps·I for each of `batch` matrices X (n, d). */
  function covariance(x: WasmStorage, batch: number, n: number, d: number, eps: number, _dtype: DType): WasmStorage {
    expectSize('covariance', 'x', x, batch * n * d);
    return heap.call('covariance', [x], [batch * d * d], [gemm.scratchFloats(d, d, n, true)], ([px], [pc], [ps]) => {
      for (let b = 0; b < batch; b++) gemm.run(ps, pc + 4 * b * d * d, d, px + 4 * b * n * d, px + 4 * b * n * d, d, d, d, n, true, false, false);
      k.scale_add_identity_f32(pc, d, batch, 1 / n, eps);
    })[0];
  }

  /** T = (3I − Z·Y)/2 for each of `batch` pairs of (d, d) matrices. */
  function newtonSchulzFactor(z: WasmStorage, y: WasmStorage, batch: number, d: number, _dtype: DType): WasmStorage {
    expectSize('newtonSchulzFactor', 'z', z, batch * d * d);
    expectSize('newtonSchulzFactor', 'y', y, batch * d * d);
    return heap.call('newtonSchulzFactor', [z, y], [batch * d * d], [gemm.scratchFloats(d, d, d)], ([pz, py], [pt], [ps]) => {
      for (let b = 0; b < batch; b++) gemm.run(ps, pt + 4 * b * d * d, d, pz + 4 * b * d * d, py + 4 * b * d * d, d, d, d, d, false, false, false);
      k.scale_add_identity_f32(pt, d, batch, -0.5, 1.5);
    })[0];
  }

  return { covariance, newtonSchulzFactor };
}
