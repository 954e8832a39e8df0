// Every kernel family the wasm backend exports. One family per file in ./kernels.
export { matmul_f32 } from './kernels/matmul';
