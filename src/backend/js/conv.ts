// Convolution, the reference way: im2col, then one GEMM per image and group.
//   forward:          y_g  = W_g  @ cols_g           (Og × L)   = (Og × Cg·kk) @ (Cg·kk × L)
//   backward input:   dcols_g = W_gᵀ @ dy_g          then col2im scatters the patches back
//   backward filter:  dW_g += dy_g @ cols_gᵀ
import type { Im2colInfo } from '../backend.js';
import { allocArray, type DType, type FloatArray } from '../dtype.js';
import type { Conv2dInfo } from '../shape_info.js';
import { gemm } from './matmul.js';

/** Visits every (patch row, output position) pair with the input index it reads, or -1 inside the padding. */
function forEachTap(info: Im2colInfo, visit: (n: number, row: number, col: number, src: number) => void): void {
  const { batch, inChannels: C, inHeight: H, inWidth: W, outHeight: Ho, outWidth: Wo, kernelH: kh, kernelW: kw } = info;
  for (let n = 0; n < batch; n++) {
    for (let c = 0; c < C; c++) {
      for (let ky = 0; ky < kh; ky++) {
        for (let kx = 0; kx < kw; kx++) {
          const row = (c * kh + ky) * kw + kx;
          for (let i = 0; i < Ho; i++) {
            const y = i * info.strideH - info.padH + ky * info.dilationH;
            for (let j = 0; j < Wo; j++) {
              const x = j * info.strideW - info.padW + kx * info.dilationW;
              const inside = y >= 0 && y < H && x >= 0 && x < W;
              visit(n, row, i * Wo + j, inside ? ((n * C + c) * H + y) * W + x : -1);
            }
          }
        }
      }
    }
  }
}

export function im2col(x: FloatArray, info: Im2colInfo, dtype: DType): FloatArray {
  const rows = info.inChannels * info.kernelH * info.kernelW;
  const L = info.outHeight * info.outWidth;
  const cols = allocArray(info.batch * rows * L, dtype);
  forEachTap(info, (n, row, col, src) => {
    if (src >= 0) cols[(n * rows + row) * L + col] = x[src];
  });
  return cols;
}

export function col2im(cols: FloatArray, info: Im2colInfo, dtype: DType): FloatArray {
  const rows = info.inChannels * info.kernelH * info.kernelW;
  const L = info.outHeight * info.outWidth;
  const x = allocArray(info.batch * info.inChannels * info.inHeight * info.inWidth, dtype);
  forEachTap(info, (n, row, col, src) => {
    if (src >= 0) x[src] += cols[(n * rows + row) * L + col];
  });
  return x;
}

/** Sizes of one image-and-group GEMM. */
function groupDims(info: Conv2dInfo) {
  const og = info.outChannels / info.groups; // output channels per group
  const kk = (info.inChannels / info.groups) * info.kernelH * info.kernelW; // patch length per group
  const L = info.outHeight * info.outWidth;
  return { og, kk, L, rows: info.groups * kk };
}

export function conv2d(
  x: FloatArray,
  w: FloatArray,
  bias: FloatArray | null,
  info: Conv2dInfo,
  dtype: DType,
): FloatArray {
  const { og, kk, L, rows } = groupDims(info);
  const cols = im2col(x, info, dtype);
  const y = allocArray(info.batch * info.outChannels * L, dtype);
  for (let n = 0; n < info.batch; n++) {
    for (let g = 0; g < info.groups; g++) {
      gemm(
        y,
        (n * info.outChannels + g * og) * L,
        w,
        g * og * kk,
        cols,
        (n * rows + g * kk) * L,
        og,
        kk,
        L,
        false,
        false,
      );
    }
  }
  if (bias) {
    // Added to the finished sums, as a separate broadcast add would.
    for (let n = 0; n < info.batch; n++) {
      for (let c = 0; c < info.outChannels; c++) {
        const o = (n * info.outChannels + c) * L;
        for (let j = 0; j < L; j++) y[o + j] += bias[c];
      }
    }
  }
  return y;
}

export function conv2dBackwardInput(dy: FloatArray, w: FloatArray, info: Conv2dInfo, dtype: DType): FloatArray {
  const { og, kk, L, rows } = groupDims(info);
  const dcols = allocArray(info.batch * rows * L, dtype);
  for (let n = 0; n < info.batch; n++) {
    for (let g = 0; g < info.groups; g++) {
      gemm(
        dcols,
        (n * rows + g * kk) * L,
        w,
        g * og * kk,
        dy,
        (n * info.outChannels + g * og) * L,
        kk,
        og,
        L,
        true,
        false,
      );
    }
  }
  return col2im(dcols, info, dtype);
}

export function conv2dBackwardFilter(x: FloatArray, dy: FloatArray, info: Conv2dInfo, dtype: DType): FloatArray {
  const { og, kk, L, rows } = groupDims(info);
  const cols = im2col(x, info, dtype);
  const dw = allocArray(info.outChannels * kk, dtype);
  for (let n = 0; n < info.batch; n++) {
    for (let g = 0; g < info.groups; g++) {
      gemm(
        dw,
        g * og * kk,
        dy,
        (n * info.outChannels + g * og) * L,
        cols,
        (n * rows + g * kk) * L,
        og,
        L,
        kk,
        false,
        true,
      );
    }
  }
  return dw;
}
