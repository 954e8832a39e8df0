// Loads the kernel module: the relaxed-SIMD build where the runtime validates it (fused multiply-add), otherwise
// the baseline SIMD build. JS owns the memory (imported), so it can grow it and re-derive views.
import { RELAXED_WASM_BASE64, SIMD_WASM_BASE64 } from './kernels.bytes.js';

/** The exports of assembly/index.ts: pointer-and-size kernels that never allocate. */
export interface KernelExports {
  matmul_f32(out: number, a: number, b: number, m: number, k: number, n: number): void;
}

export interface LoadedKernels {
  exports: KernelExports;
  memory: WebAssembly.Memory;
  /** Which binary was picked. */
  flavour: 'relaxed-simd' | 'simd';
}

function decodeBase64(s: string): Uint8Array<ArrayBuffer> {
  const bin = atob(s);
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

/** Whether this runtime can run WebAssembly SIMD at all. */
export function wasmSimdSupported(): boolean {
  return typeof WebAssembly === 'object' && WebAssembly.validate(decodeBase64(SIMD_WASM_BASE64));
}

export async function loadKernels(): Promise<LoadedKernels> {
  const relaxed = decodeBase64(RELAXED_WASM_BASE64);
  const useRelaxed = WebAssembly.validate(relaxed);
  const bytes = useRelaxed ? relaxed : decodeBase64(SIMD_WASM_BASE64);
  if (!useRelaxed && !WebAssembly.validate(bytes)) throw new Error('this runtime does not support WebAssembly SIMD');
  const memory = new WebAssembly.Memory({ initial: 1 });
  const { instance } = await WebAssembly.instantiate(bytes, { env: { memory } });
  return { exports: instance.exports as unknown as KernelExports, memory, flavour: useRelaxed ? 'relaxed-simd' : 'simd' };
}
