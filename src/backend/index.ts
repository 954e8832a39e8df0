// Registers the backends. The reference backend ('js') is always available; 'wasm' compiles its module on first use.
import { createJsBackend } from './js/index.js';
import { initBackend, readyBackend, registerBackend, setBackend } from './registry.js';
import type { HeapStats } from './wasm/heap.js';
import { createWasmBackend, type WasmBackend } from './wasm/index.js';

registerBackend('js', createJsBackend);
registerBackend('wasm', () => createWasmBackend(), true);

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
      console.warn(
        `netdeconv: the wasm backend is unavailable here (${(e as Error).message}); using the reference backend 'js'`,
      );
    }
    return (await setBackend('js')).name;
  }
}

/**
 * Sets how many threads the wasm backend's GEMMs and convolutions use (the default: every core the runtime
 * reports; at most twice that, with a warning). Results are bit-identical for any count. Resolves to the count in
 * effect: 1 where memory cannot be shared between threads (a web page without cross-origin isolation).
 */
export async function setNumThreads(n: number): Promise<number> {
  const wasm = (await initBackend('wasm')) as WasmBackend;
  return wasm.setThreads(n);
}

/** Threads the wasm backend uses (1 before it is initialised). */
export function getNumThreads(): number {
  return wasmIfReady()?.threads() ?? 1;
}

/** What the wasm backend's memory holds: `wasmBytes` (the linear memory) and the heap's counters (wasm/heap.ts). */
export interface MemoryInfo extends HeapStats {
  wasmBytes: number;
}

/** The wasm backend's memory, as tfjs's `tf.memory()` reports its own (null before the backend is initialised). */
export function memoryInfo(): MemoryInfo | null {
  const wasm = wasmIfReady();
  return wasm ? { wasmBytes: wasm.wasmMemoryBytes(), ...wasm.heapStats() } : null;
}

/**
 * Sets the size (bytes) past which the wasm heap spills its oldest storages to JS arrays (default 128 MiB; it
 * doubles by itself when a step's working set does not fit).
 */
export async function setMemoryBudget(bytes: number): Promise<void> {
  const wasm = (await initBackend('wasm')) as WasmBackend;
  wasm.setMemoryBudget(bytes);
}

export { setBackend, getBackend, listBackends, activeBackend } from './registry.js';
export type { Backend, Kernels, KernelName, UnaryOp, BinaryOp } from './backend.js';
export { KERNEL_NAMES } from './backend.js';
export type { DType, FloatArray } from './dtype.js';

/** The wasm backend if it has been initialised. */
function wasmIfReady(): WasmBackend | null {
  try {
    return readyBackend('wasm') as WasmBackend;
  } catch {
    return null;
  }
}
