// Registers the backends. The reference backend ('js') is always available; 'wasm' compiles its module on first use.
import { createJsBackend } from './js/index.js';
import { registerBackend, setBackend } from './registry.js';
import { createWasmBackend } from './wasm/index.js';

registerBackend('js', createJsBackend);
registerBackend('wasm', createWasmBackend, true);

let warned = false;

/**
 * Makes the default backend active: wasm (SIMD) where the runtime supports it, otherwise the reference backend,
 * saying so once. Runs when netdeconv is imported.
 */
export async function initDefaultBackend(): Promise<string> {
  try {
    return (await setBackend('wasm')).name;
  } catch (e) {
    if (!warned) {
      warned = true;
      console.warn(`netdeconv: the wasm backend is unavailable here (${(e as Error).message}); using the reference backend 'js'`);
    }
    return (await setBackend('js')).name;
  }
}

export { setBackend, getBackend, listBackends, activeBackend } from './registry.js';
export type { Backend, Kernels, KernelName, UnaryOp, BinaryOp } from './backend.js';
export { KERNEL_NAMES } from './backend.js';
export type { DType, FloatArray } from './dtype.js';
