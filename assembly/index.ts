// Every kernel family the wasm backend exports. One family per file in ./kernels.
export { gemm_f32, gemm_strided_f32, gemm_nt_f32, gemm_scratch_floats, gemm_depth_slice } from './kernels/gemm';
export { im2col_images_f32, col2im_images_f32 } from './kernels/im2col';
export { winograd_filter_floats, winograd_filter_f32, winograd_scratch_floats, winograd_conv2d_images_f32, winograd_filter_gradient_scratch_floats, winograd_filter_gradient_images_f32, winograd_filter_gradient_f32 } from './kernels/winograd';
export { conv2d_images_f32, unwiden_f32, flip_filter_f32, conv2d_backward_input_images_f32, conv2d_backward_filter_images_f32 } from './kernels/conv';
export { copy2d_f32, copy_runs_f32, fill_f32, scatter_add_f32 } from './kernels/copy';
export { scale_add_identity_f32, mirror_upper_f32, dot_f32, covariance_small_f32 } from './kernels/linalg';
export { run_steps_f32 } from './kernels/steps';
export { binary_f32, unary_f32, relu_backward_f32, clamp_f32, sum_runs_f32 } from './kernels/elementwise';
export { max_pool2d_f32, max_pool2d_backward_f32, max_pool2d_backward_writes_all, avg_pool2d_f32, avg_pool2d_backward_f32 } from './kernels/pool';
export { channel_moments_parts_f32, channel_moments_combine_f32, batch_norm_apply_f32, batch_norm_backward_parts_f32, batch_norm_backward_combine_f32, batch_norm_backward_dx_f32 } from './kernels/batchnorm';
export { sgd_f32, adam_f32 } from './kernels/optim';
export { log_softmax_f32, log_softmax_backward_f32 } from './kernels/softmax';

/** Where the module's static data (the math library's lookup tables) ends: the heap starts above it. */
export function heap_base(): usize {
  return __heap_base;
}
