// Node 20 validates relaxed-SIMD wasm (fused multiply-add) only behind a V8 flag; later Node versions, Deno and
// current browsers have it on. Setting the flag before the kernels are compiled lets the loader pick the faster
// binary; where the flag is unknown nothing changes and the baseline SIMD binary is used.
import v8 from 'node:v8';

/** Sets V8's relaxed-SIMD flag (Node 20), so that the kernels compiled after it use fused multiply-add; call before the first import of netdeconv. */
export function enableRelaxedSimd(): void {
  try {
    v8.setFlagsFromString('--experimental-wasm-relaxed-simd');
  } catch {
    // an engine without the flag: the loader's feature test decides, as everywhere else
  }
}
