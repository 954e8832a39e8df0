// linalg: matrix functions used by the deconvolution layers.
export { isqrtNewtonSchulz } from './isqrt.js';
export { whitening } from './whitening.js';
