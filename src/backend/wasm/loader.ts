// Loads the kernel module: the relaxed-SIMD build where the runtime validates it (fused multiply-add), otherwise
// the baseline SIMD build. JS owns the memory (imported), so it can grow it and re-derive views.
import { MAX_PAGES } from './heap.js';
import {
  RELAXED_SHARED_WASM_BASE64,
  RELAXED_WASM_BASE64,
  SIMD_SHARED_WASM_BASE64,
  SIMD_WASM_BASE64,
} from './kernels.bytes.js';
import type { KernelExports } from './kernels.abi.js';

/** The exports of assembly/index.ts, generated from the kernels' own declarations (scripts/gen-abi.mjs). */
export type { KernelExports } from './kernels.abi.js';

export interface LoadedKernels {
  exports: KernelExports;
  memory: WebAssembly.Memory;
  /** The compiled module, for worker threads to instantiate on the same (shared) memory. */
  module: WebAssembly.Module;
  /** Which binary was picked. */
  flavour: 'relaxed-simd' | 'simd';
  /** Whether the memory is shared (the threaded build). */
  shared: boolean;
}

function decodeBase64(s: string): Uint8Array<ArrayBuffer> {
  const bin = atob(s);
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

/** Whether the runtime validates the relaxed-SIMD kernels as it stands (Node 22+, Deno 2, current browsers). */
export function relaxedSimdValidates(): boolean {
  return WebAssembly.validate(decodeBase64(RELAXED_WASM_BASE64));
}

/**
 * Lets the relaxed-SIMD kernels validate where the runtime has them behind a V8 flag (Node 20): the flag is set
 * before the kernels compile, through `process.getBuiltinModule` (no import of a Node module, so bundles for the web
 * stay clean). Where relaxed SIMD validates already, nothing is set: V8 versions that shipped it print "unrecognized
 * flag" for it. Elsewhere (no such flag, not Node) the loader's feature test decides.
 */
export function enableRelaxedSimd(): void {
  if (relaxedSimdValidates()) return;
  const proc = (globalThis as { process?: { getBuiltinModule?: (id: string) => unknown } }).process;
  try {
    const v8 = proc?.getBuiltinModule?.('node:v8') as { setFlagsFromString?(flags: string): void } | undefined;
    v8?.setFlagsFromString?.('--experimental-wasm-relaxed-simd');
  } catch {
    // an engine without the flag
  }
}

/** Loads the kernels; with `shared`, the build whose memory is a shared WebAssembly.Memory (for threads). */
export async function loadKernels(shared = false): Promise<LoadedKernels> {
  enableRelaxedSimd();
  const relaxed = decodeBase64(shared ? RELAXED_SHARED_WASM_BASE64 : RELAXED_WASM_BASE64);
  const useRelaxed = WebAssembly.validate(relaxed);
  const bytes = useRelaxed ? relaxed : decodeBase64(shared ? SIMD_SHARED_WASM_BASE64 : SIMD_WASM_BASE64);
  if (!useRelaxed && !WebAssembly.validate(bytes)) throw new Error('this runtime does not support WebAssembly SIMD');
  const memory = new WebAssembly.Memory({ initial: 16, maximum: MAX_PAGES, shared });
  const module = await WebAssembly.compile(bytes);
  const instance = await WebAssembly.instantiate(module, { env: { memory } });
  return {
    exports: instance.exports as unknown as KernelExports,
    memory,
    module,
    flavour: useRelaxed ? 'relaxed-simd' : 'simd',
    shared,
  };
}
