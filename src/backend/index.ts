// Registers the backends. The reference backend ('js') is always available; 'wasm' compiles its module on first use.
import { createJsBackend } from './js/index.js';
import { registerBackend } from './registry.js';
import { createWasmBackend } from './wasm/index.js';

registerBackend('js', createJsBackend);
registerBackend('wasm', createWasmBackend);

export { setBackend, getBackend, listBackends, activeBackend } from './registry.js';
export type { Backend, Kernels, KernelName, UnaryOp, BinaryOp } from './backend.js';
export { KERNEL_NAMES } from './backend.js';
export type { DType, FloatArray } from './dtype.js';
