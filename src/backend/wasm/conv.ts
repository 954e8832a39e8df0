// Convolution on the wasm kernels, by GEMMs over patch matrices cols (C·kh·kw, images·L) of several images side by
// side, so each group is one large GEMM rather than one small GEMM per image (from ONE_IMAGE_PIXELS, one image's
// GEMM is large enough, and its output needs no re-layout):
//   forward          Y_g (og, images·L) = W_g (og, kk) · cols_g (kk, images·L), then Y is re-laid out as NCHW
//   backward input   at stride 1, the forward convolution of dy with the flipped filter; else
//                    dcols_g = W_gᵀ · dYᵀ_g, then col2im per image
//   backward filter  dW_g += dYᵀ_g · cols_gᵀ
// where dYᵀ (Cout, images·L) is dy re-laid out. Each pass is one kernel call per range of images
// (assembly/kernels/conv.ts), a few images at a time, so that each thread carries its images through every phase in
// its own cache, with no wait between phases; the filter gradient sums per part of the batch and then adds the parts
// in order, a partition the shape alone decides. A batch smaller than the thread count has too few ranges to share:
// it runs phase by phase, each phase split across threads. 3×3 convolutions at stride 1 with enough channels go to
// winograd.ts instead (the filter gradient from a few tiles of outputs in the batch), whatever the thread count (the
// choice depends on the shape alone).
import type { Im2colInfo } from '../backend.js';
import type { DType } from '../dtype.js';
import type { Conv2dInfo } from '../shape_info.js';
import { expectSize, type Heap, type WasmStorage } from './heap.js';
import type { Gemm } from './gemm.js';
import type { KernelExports } from './loader.js';
import { MIN_PARALLEL_ELEMENTS, type Threads } from './parallel.js';
import * as abi from './kernels.abi.js';
import { makeWinogradConv } from './winograd.js';

/** Floats of patch matrix per chunk of the phase-by-phase passes (8 MiB): big enough for full-speed GEMMs, small enough to stay in cache longer (measured faster than 16 MiB). */
const CHUNK_FLOATS = 1 << 21;
const F = 4; // bytes per float
/** Floats of patch matrix the forward and input-gradient passes unfold at once per call (512 KiB): it stays in the
 * core's L2 from im2col through the GEMM to col2im. */
const SUB_FLOATS = 1 << 17;
/**
 * Output pixels from which a call unfolds one image at a time: its GEMM is wide enough alone, and one image's output
 * block is already laid out as the GEMM's (Cout, L), so the GEMM writes y (and reads dy) in place, with no re-layout.
 */
const ONE_IMAGE_PIXELS = 256;
/** Pixels (GEMM depth) a part of the filter gradient sums over at least: one slice of the dot-product kernel. */
const MIN_PART_PIXELS = 1024;
/**
 * Output channels per group from which the filter gradient's products take the packed kernel: below, dW is too
 * thin for packing its operands to pay (each packed value meets fewer than this many multiply-adds), and dot
 * products over the pixels, read in place, are faster.
 */
const PACKED_FILTER_MIN_CHANNELS = 32;
/** Ints of a convolution's geometry (assembly/kernels/conv.ts). */

export function makeConvKernels(k: KernelExports, gemm: Gemm, heap: Heap, threads: Threads) {
  const winograd = makeWinogradConv(k, heap, threads);
  function dims(info: Conv2dInfo | Im2colInfo) {
    const groups = 'groups' in info ? info.groups : 1;
    const cout = 'outChannels' in info ? info.outChannels : 0;
    const rows = info.inChannels * info.kernelH * info.kernelW;
    const L = info.outHeight * info.outWidth;
    const plane = info.inChannels * info.inHeight * info.inWidth;
    const chunk = Math.max(1, Math.min(info.batch, Math.floor(CHUNK_FLOATS / (Math.max(rows, cout) * L))));
    return { groups, cout, og: cout / groups, kk: rows / groups, rows, L, plane, chunk };
  }

  /** Calls `body(first image, images)` for each chunk of the batch. */
  function chunks(batch: number, chunk: number, body: (n0: number, nb: number) => void): void {
    for (let n0 = 0; n0 < batch; n0 += chunk) body(n0, Math.min(chunk, batch - n0));
  }

  /**
   * Ranges of `images` images for im2col or col2im, each one call (`args(first image, count)`), the geometry written
   * at `pg`: two per thread when the patch matrix is large (a call per image had cost more than small images' work).
   */
  function imageCalls(
    kernel: 'im2col_images_f32' | 'col2im_images_f32',
    pg: number,
    images: number,
    info: Im2colInfo,
    args: (i0: number, count: number) => number[],
  ): void {
    writeGeometry(pg, info);
    const parallel =
      images * info.inChannels * info.kernelH * info.kernelW * info.outHeight * info.outWidth >= MIN_PARALLEL_ELEMENTS;
    const ranges = threads.ranges(images, 1, 0, parallel ? Math.min(images, 2 * threads.count) : 1);
    threads.calls(
      kernel,
      ranges.map(([s, e]) => args(s, e - s)),
      ranges.length > 1,
    );
  }

  /** im2col of `images` images: image i from x + i·xStep (bytes) to cols + i·colStep, rows ld floats apart. */
  function unfold(
    pg: number,
    cols: number,
    colStep: number,
    ld: number,
    x: number,
    xStep: number,
    images: number,
    info: Im2colInfo,
  ): void {
    imageCalls('im2col_images_f32', pg, images, info, (i, n) => [
      cols + i * colStep,
      colStep,
      ld,
      x + i * xStep,
      xStep,
      n,
      pg,
    ]);
  }

  /** col2im of `images` images (the adjoint of unfold); each image adds into its own part of x. */
  function fold(
    pg: number,
    x: number,
    xStep: number,
    cols: number,
    colStep: number,
    ld: number,
    images: number,
    info: Im2colInfo,
  ): void {
    imageCalls('col2im_images_f32', pg, images, info, (i, n) => [
      x + i * xStep,
      xStep,
      cols + i * colStep,
      colStep,
      ld,
      n,
      pg,
    ]);
  }

  /** Unfolds images n0 … n0+nb−1 side by side: row stride nb·L. */
  function unfoldChunk(
    pg: number,
    cols: number,
    x: number,
    n0: number,
    nb: number,
    info: Im2colInfo,
    L: number,
    plane: number,
  ): void {
    unfold(pg, cols, L * F, nb * L, x + n0 * plane * F, plane * F, nb, info);
  }

  /** copy2d_f32 with the outer loop (images) split across threads. */
  function copyImages(
    dst: number,
    d1: number,
    d2: number,
    src: number,
    s1: number,
    s2: number,
    nb: number,
    c: number,
    L: number,
  ): void {
    const calls = Array.from({ length: nb }, (_, i) => [dst + i * d1 * F, d1, d2, src + i * s1 * F, s1, s2, 1, c, L]);
    threads.calls('copy2d_f32', calls, nb * c * L >= MIN_PARALLEL_ELEMENTS);
  }

  /** (images, C, L) at `nchw` → (C, images·L) at `wide`. */
  function toWide(wide: number, nchw: number, nb: number, c: number, L: number): void {
    copyImages(wide, L, nb * L, nchw, c * L, L, nb, c, L);
  }

  /** (C, images·L) at `wide` → (images, C, L) at `nchw`, plus the bias at `bias` (0: none); split by images. */
  function unwiden(nchw: number, wide: number, bias: number, nb: number, c: number, L: number): void {
    const calls = Array.from({ length: nb }, (_, i) => [nchw + i * c * L * F, wide + i * L * F, bias, 1, c, L, nb * L]);
    threads.calls('unwiden_f32', calls, nb * c * L >= MIN_PARALLEL_ELEMENTS);
  }

  /** The per-image-range kernels' wide matrix (Cout, images·L): none for one image, whose y or dy they use in place. */
  const wideFloats = (c: number, images: number, L: number) => (images === 1 ? 0 : c * images * L);

  /**
   * Images unfolded at once by a call of the per-image-range kernels: one from ONE_IMAGE_PIXELS, else SUB_FLOATS of
   * patches (the shape alone decides).
   */
  function imagesPerChunk(info: Conv2dInfo): number {
    const { cout, rows, L } = dims(info);
    if (L >= ONE_IMAGE_PIXELS) return 1;
    return Math.max(1, Math.min(info.batch, Math.floor(SUB_FLOATS / (Math.max(rows, cout) * L))));
  }

  /** The size of `count` near-equal shares of `n` (the last may be smaller). */
  const evenShare = (n: number, count: number) => Math.ceil(n / count);

  /** Writes the geometry the kernels of assembly/kernels/conv.ts and im2col.ts read, at `pg`. */
  function writeGeometry(pg: number, info: Conv2dInfo | Im2colInfo): void {
    const [cout, groups] = 'outChannels' in info ? [info.outChannels, info.groups] : [0, 1];
    const g = new Int32Array(heap.memory.buffer, pg, abi.GEOMETRY_INTS);
    g[abi.GEO_C] = info.inChannels;
    g[abi.GEO_H] = info.inHeight;
    g[abi.GEO_W] = info.inWidth;
    g[abi.GEO_KH] = info.kernelH;
    g[abi.GEO_KW] = info.kernelW;
    g[abi.GEO_SH] = info.strideH;
    g[abi.GEO_SW] = info.strideW;
    g[abi.GEO_PH] = info.padH;
    g[abi.GEO_PW] = info.padW;
    g[abi.GEO_DH] = info.dilationH;
    g[abi.GEO_DW] = info.dilationW;
    g[abi.GEO_HO] = info.outHeight;
    g[abi.GEO_WO] = info.outWidth;
    g[abi.GEO_COUT] = cout;
    g[abi.GEO_GROUPS] = groups;
  }

  /** Ranges of `units` (images or parts) for a per-range kernel: `perThread` per thread when worth splitting, else one. */
  function unitSplit(units: number, info: Conv2dInfo, perThread = 2): [number, number][] {
    const { rows, L } = dims(info);
    const parallel = threads.count > 1 && units > 1 && info.batch * rows * L >= MIN_PARALLEL_ELEMENTS;
    return threads.ranges(units, 1, 0, parallel ? Math.min(units, perThread * threads.count) : 1);
  }

  /**
   * Image ranges of the forward and input-gradient passes: four per thread where that unfolds no more chunks than
   * two per thread would (then a thread that falls behind leaves an eighth of the batch, not a quarter, for the other
   * to wait on: 8→16 channels at 14×14, 64 images, 0.97 → 0.82 ms on two threads), else two (1→8 at 28×28 would
   * unfold 8 chunks of 8 images instead of 4 of 16: 3 % slower).
   */
  function imageSplit(info: Conv2dInfo): [number, number][] {
    const per = imagesPerChunk(info);
    const chunks = (r: [number, number][]) => r.reduce((sum, [s, e]) => sum + Math.ceil((e - s) / per), 0);
    const two = unitSplit(info.batch, info, 2);
    const four = unitSplit(info.batch, info, 4);
    return chunks(four) <= chunks(two) ? four : two;
  }

  /**
   * The calls of a per-image-range kernel (assembly/kernels/conv.ts): the batch in ranges (imageSplit; one in
   * all on one thread), each call unfolding `sub` images at a time into its own scratch. Scratch: the geometry,
   * then per call its patch matrix, its wide matrix and its GEMM packing area.
   */
  function imageRanges(info: Conv2dInfo) {
    const { cout, og, kk, rows, L } = dims(info);
    const ranges = imageSplit(info);
    // Chunks of equal size within the longest range (16 images unfold as 8 + 8, not 9 + 7).
    const longest = ranges[0][1] - ranges[0][0];
    const per = evenShare(longest, Math.ceil(longest / imagesPerChunk(info)));
    // The GEMM is kk deep forward, og deep for the input gradient: packing room for the deeper.
    const packing = k.gemm_scratch_floats(per * L, Math.max(kk, og));
    const scratch = [abi.GEOMETRY_INTS, ...ranges.flatMap(() => [rows * per * L, wideFloats(cout, per, L), packing])];
    /** Each call's arguments: the kernel's leading pointers (out, in, w and, forward, the bias), then the geometry, the range and its scratch. */
    const calls = (lead: number[], [pg, ...areas]: number[]) => {
      writeGeometry(pg, info);
      return ranges.map(([s, e], t) => [
        ...lead,
        pg,
        s,
        e - s,
        per,
        areas[3 * t],
        areas[3 * t + 1],
        areas[3 * t + 2],
        packing,
      ]);
    };
    return { scratch, calls, parallel: ranges.length > 1 };
  }

  /** Whether to split by ranges of images: on one thread (a single call), or with at least one image per thread. */
  const byImages = (info: Conv2dInfo) => threads.count === 1 || info.batch >= threads.count;

  /** The bias is added as the output is re-laid out from the GEMM's (Cout, images·L) (no pass of its own). */
  function conv2d(
    x: WasmStorage,
    w: WasmStorage,
    bias: WasmStorage | null,
    info: Conv2dInfo,
    _dtype: DType,
  ): WasmStorage {
    const { cout, kk, plane } = dims(info);
    expectSize('conv2d', 'input', x, info.batch * plane);
    expectSize('conv2d', 'weight', w, cout * kk);
    if (bias) expectSize('conv2d', 'bias', bias, cout);
    return convolve('conv2d', x, w, bias, info, false);
  }

  /**
   * y = x ⋆ w (+ bias), the kernel call named `what`. With `flip`, w is the filter of the convolution whose input
   * gradient this is (inputGradientAsForward), flipped into scratch before the GEMMs read it (the Winograd kernels
   * transform it flipped instead).
   */
  function convolve(
    what: string,
    x: WasmStorage,
    w: WasmStorage,
    bias: WasmStorage | null,
    info: Conv2dInfo,
    flip: boolean,
  ): WasmStorage {
    if (winograd.applies(info)) return winograd.convolve(what, x, w, bias, info, flip, writeGeometry);
    const { groups, cout, og, kk, rows, L, plane, chunk } = dims(info);
    const inputs = bias ? [x, w, bias] : [x, w];
    const taps = info.kernelH * info.kernelW;
    // Room for the flipped filter, first in the scratch.
    const filterRoom = flip ? [cout * kk] : [];
    /** The filter the GEMMs read, and the scratch areas after the flipped filter's room. */
    const filter = (pw: number, scratch: number[]): [number, number[]] => {
      if (!flip) return [pw, scratch];
      k.flip_filter_f32(scratch[0], pw, groups, info.inChannels / groups, og, taps);
      return [scratch[0], scratch.slice(1)];
    };
    if (byImages(info)) {
      const plan = imageRanges(info);
      return heap.call(
        what,
        inputs,
        [info.batch * cout * L],
        [...filterRoom, ...plan.scratch],
        ([px, pw, pb = 0], [py], scratch) => {
          const [pf, areas] = filter(pw, scratch);
          threads.calls('conv2d_images_f32', plan.calls([py, px, pf, pb], areas), plan.parallel);
        },
      )[0];
    }
    // Fewer images than threads: phase by phase, each phase (the GEMM by columns) split across the threads.
    const scratch = [
      ...filterRoom,
      abi.GEOMETRY_INTS,
      rows * chunk * L,
      cout * chunk * L,
      gemm.scratchFloats(og, chunk * L, kk),
    ];
    return heap.call(what, inputs, [info.batch * cout * L], scratch, ([px, pw, pb = 0], [py], areas) => {
      const [pf, [pg, pcols, pwide, ps]] = filter(pw, areas);
      chunks(info.batch, chunk, (n0, nb) => {
        const width = nb * L;
        unfoldChunk(pg, pcols, px, n0, nb, info, L, plane);
        for (let g = 0; g < groups; g++)
          gemm.run(
            ps,
            pwide + g * og * width * F,
            width,
            pf + g * og * kk * F,
            pcols + g * kk * width * F,
            width,
            og,
            width,
            kk,
            false,
            false,
            false,
          );
        unwiden(py + n0 * cout * L * F, pwide, pb, nb, cout, L);
      });
    })[0];
  }

  /**
   * At stride 1 the input gradient is a forward convolution: dy convolved with the filter flipped in space, inputs
   * and outputs swapped, padding dilation·(k − 1) − padding. Its GEMM is then as deep as the forward's (Cout·kh·kw
   * rather than Cout), it writes dx once instead of adding patches back into it, and its unfolding is the forward's
   * one-run-per-row copy. Returns the geometry of that convolution, or null where it does not apply: another stride,
   * a padding past the kernel's reach, or fewer than MR input channels per group (its GEMM has a row per input
   * channel, and most of the kernel's MR-row tiles would be padding: a first layer's RGB keeps to col2im).
   */
  function inputGradientAsForward(info: Conv2dInfo): Conv2dInfo | null {
    const padH = info.dilationH * (info.kernelH - 1) - info.padH;
    const padW = info.dilationW * (info.kernelW - 1) - info.padW;
    const stride1 = info.strideH === 1 && info.strideW === 1;
    if (!stride1 || padH < 0 || padW < 0 || info.inChannels / info.groups < abi.MR) return null;
    return {
      ...info,
      inChannels: info.outChannels,
      inHeight: info.outHeight,
      inWidth: info.outWidth,
      outChannels: info.inChannels,
      outHeight: info.inHeight,
      outWidth: info.inWidth,
      padH,
      padW,
    };
  }

  function conv2dBackwardInput(dy: WasmStorage, w: WasmStorage, info: Conv2dInfo, _dtype: DType): WasmStorage {
    const { groups, cout, og, kk, rows, L, plane, chunk } = dims(info);
    expectSize('conv2dBackwardInput', 'dy', dy, info.batch * cout * L);
    expectSize('conv2dBackwardInput', 'weight', w, cout * kk);
    const forward = inputGradientAsForward(info);
    if (forward) return convolve('conv2dBackwardInput', dy, w, null, forward, true);
    if (byImages(info)) {
      const plan = imageRanges(info);
      return heap.call(
        'conv2dBackwardInput',
        [dy, w],
        [info.batch * plane],
        plan.scratch,
        ([pdy, pw], [pdx], scratch) => {
          threads.calls('conv2d_backward_input_images_f32', plan.calls([pdx, pdy, pw], scratch), plan.parallel);
        },
        true,
      )[0];
    }
    const scratch = [
      abi.GEOMETRY_INTS,
      rows * chunk * L,
      cout * chunk * L,
      gemm.scratchFloats(kk, chunk * L, og, true),
    ];
    return heap.call(
      'conv2dBackwardInput',
      [dy, w],
      [info.batch * plane],
      scratch,
      ([pdy, pw], [pdx], [pg, pcols, pwide, ps]) => {
        chunks(info.batch, chunk, (n0, nb) => {
          const width = nb * L;
          toWide(pwide, pdy + n0 * cout * L * F, nb, cout, L);
          for (let g = 0; g < groups; g++)
            gemm.run(
              ps,
              pcols + g * kk * width * F,
              width,
              pw + g * og * kk * F,
              pwide + g * og * width * F,
              width,
              kk,
              width,
              og,
              true,
              false,
              false,
            );
          fold(pg, pdx + n0 * plane * F, plane * F, pcols, L * F, width, nb, info);
        });
      },
      true,
    )[0];
  }

  /**
   * dW summed over the batch in parts of imagesPerChunk images, each part's dW_p a GEMM over its pixels (by the
   * packed kernel or by dot products, as the shape decides), then the parts added in order: the shape alone fixes
   * every summation order, so results are bit-identical for any thread count. Parts are split across threads by ranges (a call unfolds its part in its own cache); with fewer
   * parts than threads, part by part with each GEMM split across the threads instead.
   */
  function conv2dBackwardFilter(x: WasmStorage, dy: WasmStorage, info: Conv2dInfo, _dtype: DType): WasmStorage {
    const { groups, cout, og, kk, rows, L, plane } = dims(info);
    expectSize('conv2dBackwardFilter', 'input', x, info.batch * plane);
    expectSize('conv2dBackwardFilter', 'dy', dy, info.batch * cout * L);
    if (winograd.appliesToFilterGradient(info)) return winograd.filterGradient(x, dy, info, writeGeometry);
    // Parts of at least MIN_PART_PIXELS: each part's GEMM reduces over a full slice of the dot-product kernel, and
    // the parts' sum stays small next to it (128→128 at 8×8 in parts of one image: 38 MB of parts, 1.3× slower).
    // Parts of equal size: 64 images in parts of at most 9 were 7 of 9 and one of 1, and the threads' halves of the
    // parts 36 and 28 images (the 8→16 filter gradient on two threads: 0.76 ms, 0.65 in 8 parts of 8).
    const largest = Math.min(info.batch, Math.max(imagesPerChunk(info), Math.ceil(MIN_PART_PIXELS / L)));
    const sub = evenShare(info.batch, Math.ceil(info.batch / largest));
    const parts = Math.ceil(info.batch / sub);
    const E = cout * kk;
    const byDots = og < PACKED_FILTER_MIN_CHANNELS;
    /** dW = Σ_p dW_p in order p, split across threads by elements. */
    const sumParts = (pdw: number, pparts: number) => {
      const calls = threads
        .ranges(E, 4)
        .map(([e0, e1]) => [pdw + F * e0, 0, 1, pparts + F * e0, E, 1, parts, e1 - e0, 1, 0, 0]);
      threads.calls('sum_runs_f32', calls, parts * E >= MIN_PARALLEL_ELEMENTS);
    };
    if (threads.count === 1 || parts >= threads.count) {
      const ranges = unitSplit(parts, info);
      const packing = byDots ? 0 : k.gemm_scratch_floats(kk, sub * L);
      const scratch = [
        abi.GEOMETRY_INTS,
        parts * E,
        ...ranges.flatMap(() => [rows * sub * L, wideFloats(cout, sub, L), packing]),
      ];
      return heap.call(
        'conv2dBackwardFilter',
        [x, dy],
        [E],
        scratch,
        ([px, pdy], [pdw], [pg, pparts, ...areas]) => {
          writeGeometry(pg, info);
          const calls = ranges.map(([q0, q1], t) => [
            pparts,
            px,
            pdy,
            pg,
            q0 * sub,
            Math.min(info.batch, q1 * sub) - q0 * sub,
            sub,
            areas[3 * t],
            areas[3 * t + 1],
            +byDots,
            areas[3 * t + 2],
            packing,
          ]);
          threads.calls('conv2d_backward_filter_images_f32', calls, ranges.length > 1);
          sumParts(pdw, pparts);
        },
        true,
      )[0];
    }
    const packing = byDots ? 0 : gemm.packedScratchFloats(og, kk, sub * L);
    const scratch = [abi.GEOMETRY_INTS, parts * E, rows * sub * L, cout * sub * L, packing];
    return heap.call(
      'conv2dBackwardFilter',
      [x, dy],
      [E],
      scratch,
      ([px, pdy], [pdw], [pg, pparts, pcols, pwide, ps]) => {
        for (let q = 0; q < parts; q++) {
          const [n0, nb] = [q * sub, Math.min(sub, info.batch - q * sub)];
          const width = nb * L;
          unfoldChunk(pg, pcols, px, n0, nb, info, L, plane);
          toWide(pwide, pdy + n0 * cout * L * F, nb, cout, L);
          for (let g = 0; g < groups; g++) {
            const [c, a, b] = [
              pparts + F * (q * E + g * og * kk),
              pwide + g * og * width * F,
              pcols + g * kk * width * F,
            ];
            if (byDots) gemm.dotProducts(c, kk, a, b, width, og, kk, width, 0);
            else gemm.packed(ps, c, kk, a, b, width, og, kk, width, false, true, false);
          }
        }
        sumParts(pdw, pparts);
      },
      true,
    )[0];
  }

  function im2col(x: WasmStorage, info: Im2colInfo, _dtype: DType): WasmStorage {
    const { rows, L, plane } = dims(info);
    expectSize('im2col', 'input', x, info.batch * plane);
    return heap.call('im2col', [x], [info.batch * rows * L], [abi.GEOMETRY_INTS], ([px], [pc], [pg]) => {
      unfold(pg, pc, rows * L * F, L, px, plane * F, info.batch, info);
    })[0];
  }

  function col2im(cols: WasmStorage, info: Im2colInfo, _dtype: DType): WasmStorage {
    const { rows, L, plane } = dims(info);
    expectSize('col2im', 'cols', cols, info.batch * rows * L);
    return heap.call(
      'col2im',
      [cols],
      [info.batch * plane],
      [abi.GEOMETRY_INTS],
      ([pc], [px], [pg]) => {
        fold(pg, px, plane * F, pc, rows * L * F, L, info.batch, info);
      },
      true,
    )[0];
  }

  return { conv2d, conv2dBackwardInput, conv2dBackwardFilter, im2col, col2im };
}
