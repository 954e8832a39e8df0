// Node 20 validates relaxed-SIMD wasm (fused multiply-add) only behind a V8 flag; later Node versions, Deno and
// current browsers have it on. Setting the flag before the kernels are compiled lets the loader pick the faster
// binary. Where relaxed SIMD validates already the flag is left alone: V8 versions that shipped it print
// "unrecognized flag" for it.
import v8 from 'node:v8';
import { relaxedSimdValidates } from '../backend/wasm/loader.js';

/** Sets V8's relaxed-SIMD flag (Node 20), so that the kernels compiled after it use fused multiply-add; call before the first import of netdeconv. */
export function enableRelaxedSimd(): void {
  if (relaxedSimdValidates()) return;
  try {
    v8.setFlagsFromString('--experimental-wasm-relaxed-simd');
  } catch {
    // an engine without the flag: the loader's feature test decides, as everywhere else
  }
}
