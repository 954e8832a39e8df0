// Every kernel family the wasm backend exports. One family per file in ./kernels.
export { gemm_f32, gemm_scratch_floats } from './kernels/gemm';
export { im2col_f32, col2im_f32 } from './kernels/im2col';
