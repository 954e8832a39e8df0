// 3×3 convolutions at stride 1 by Winograd's F(2×4, 3×3) (assembly/kernels/winograd.ts): 24 multiply-adds per tile
// of 2 × 4 outputs and channel pair instead of 72. The filter is transformed once per call; the batch goes to the
// threads in ranges of images, each call carrying a few images at a time through the input transform, the 24 GEMMs
// and the output transform with its V and M still in its core's cache. Each output element is computed the same way
// whatever the range, so results are bit-identical for any thread count.
import type { Conv2dInfo } from '../shape_info.js';
import type { Heap, WasmStorage } from './heap.js';
import type { KernelExports } from './loader.js';
import { MIN_PARALLEL_ELEMENTS, type Threads } from './parallel.js';
import * as abi from './kernels.abi.js';

/** Points of the 4×6 transform: a call's V and M hold 24 matrices. */
const POINTS = 24;
/** Floats of V and M together that a call transforms at once (1 MiB): they stay in the core's L2 through the GEMMs. */
const CHUNK_FLOATS = 1 << 18;
/**
 * Channels in and out from which the Winograd form is used. Its 24 GEMMs are C deep and Cout tall, while the
 * transforms cost the same per channel whatever the other side's count: with an RGB input (3 deep) the transforms
 * would outweigh the products saved, and a first layer keeps the unfolded GEMM, whose depth is C·9.
 */
const MIN_CHANNELS = 8;
/**
 * The filter gradient's parts of the batch, each a few chunks of images with a dU of its own (about 24·Cout·C
 * floats): at most MAX_PARTS, enough for that many threads to share the images, and within PARTS_FLOATS (32 MiB)
 * unless that leaves fewer than MIN_PARTS. One part per chunk had taken 537 MB at 512 channels on 4×4 maps, batch 128.
 */
const MAX_PARTS = 8;
const MIN_PARTS = 4;
const PARTS_FLOATS = 1 << 23;
/**
 * Output channels below which the filter gradient's products dU_ξ = dM_ξ·V_ξᵀ are dot products over the tiles, read
 * in place: dU is then too thin for packing its operands to pay.
 */
const DOT_MAX_CHANNELS = 32;

/**
 * Tiles of the batch from which the filter gradient takes the Winograd form. Its transforms round each tile's
 * values at several times the result's size (B₄'s 4s and 5s, A₄'s 8s, then G₄'s 1/24), an error that a sum over
 * many tiles spreads but a sum over a few does not: over one tile of 4 outputs it reached 17 units in the last place
 * of the result, where the direct sum of the 4 products is within one or two. Below this the unfolded GEMM computes
 * it (a small product either way).
 */
const MIN_FILTER_GRADIENT_TILES = 8;

/**
 * Tiles a chunk holds at least, whatever CHUNK_FLOATS allows: the GEMMs' width (forward) or depth (filter gradient).
 * Wide layers on small maps had chunks of a few tiles: at 512 channels on 4×4 maps, 5 images of 2 tiles, and the
 * 10-wide products ran at half the rate of 64-wide ones.
 */
const MIN_CHUNK_TILES = 64;

/**
 * Images per chunk when `images` are cut into equal chunks whose V and M fit CHUNK_FLOATS, or hold MIN_CHUNK_TILES
 * tiles if that is more (at least one image a chunk): 16 images go as 8 + 8, not 9 + 7.
 */
function imagesPerChunk(info: Conv2dInfo, images: number): number {
  const perImage = tilesPerImage(info);
  const fit = Math.floor(CHUNK_FLOATS / (POINTS * (info.inChannels + info.outChannels) * perImage));
  const most = Math.max(1, fit, Math.ceil(MIN_CHUNK_TILES / perImage));
  return Math.ceil(images / Math.ceil(images / most));
}

/** Tiles of 2 lines of 4 outputs in an output plane. */
function tilesPerImage(info: Conv2dInfo): number {
  return Math.ceil(info.outHeight / 2) * Math.ceil(info.outWidth / 4);
}

export function makeWinogradConv(k: KernelExports, heap: Heap, threads: Threads) {
  /** Whether `info` is a convolution the Winograd kernels compute: 3×3, stride 1, no dilation, one group. */
  function applies(info: Conv2dInfo): boolean {
    return (
      info.kernelH === 3 &&
      info.kernelW === 3 &&
      info.strideH === 1 &&
      info.strideW === 1 &&
      info.dilationH === 1 &&
      info.dilationW === 1 &&
      info.groups === 1 &&
      info.inChannels >= MIN_CHANNELS &&
      info.outChannels >= MIN_CHANNELS
    );
  }

  /** Whether the filter gradient of `info` is computed by the Winograd kernels (see MIN_FILTER_GRADIENT_TILES). */
  function appliesToFilterGradient(info: Conv2dInfo): boolean {
    return applies(info) && info.batch * tilesPerImage(info) >= MIN_FILTER_GRADIENT_TILES;
  }

  /**
   * Ranges of `units` (images, or parts of the batch) for the threads: two per thread when the convolution is large
   * enough to share, else one range of all.
   */
  function unitRanges(units: number, info: Conv2dInfo): [number, number][] {
    const work = info.batch * info.inChannels * info.outHeight * info.outWidth;
    const parallel = threads.count > 1 && units > 1 && work >= MIN_PARALLEL_ELEMENTS;
    return threads.ranges(units, 1, 0, parallel ? Math.min(units, 2 * threads.count) : 1);
  }

  /**
   * y = x ⋆ w (+ bias), the kernel call named `what`; with `flip`, w is the filter of the convolution whose input
   * gradient this is: its filters are transformed turned by 180° and read transposed. `writeGeometry` writes the
   * geometry the kernels read.
   */
  function convolve(
    what: string,
    x: WasmStorage,
    w: WasmStorage,
    bias: WasmStorage | null,
    info: Conv2dInfo,
    flip: boolean,
    writeGeometry: (pg: number, info: Conv2dInfo) => void,
  ): WasmStorage {
    const { batch, inChannels: c, outChannels: cout, outHeight: ho, outWidth: wo } = info;
    const ranges = unitRanges(batch, info);
    // Chunks of equal size within the longest range.
    const sub = imagesPerChunk(info, ranges[0][1] - ranges[0][0]);
    const callFloats = k.winograd_scratch_floats(sub, c, cout, ho, wo);
    const scratch = [abi.GEOMETRY_INTS, k.winograd_filter_floats(cout, c), ...ranges.map(() => callFloats)];
    const inputs = bias ? [x, w, bias] : [x, w];
    return heap.call(what, inputs, [batch * cout * ho * wo], scratch, ([px, pw, pb = 0], [py], areas) => {
      const [pg, pu] = areas;
      writeGeometry(pg, info);
      // With flip, w is (C, Cout, 3, 3): the filter of the convolution whose input gradient this is; its filters
      // turned by 180° are transformed, and the kernel reads each point's matrix transposed (channels swapped).
      if (flip) k.winograd_filter_f32(pu, pw, c, cout, 1);
      else k.winograd_filter_f32(pu, pw, cout, c, 0);
      const calls = areas.slice(2);
      threads.calls(
        'winograd_conv2d_images_f32',
        ranges.map(([s, e], t) => [py, px, pu, flip ? 1 : 0, pb, pg, s, e - s, sub, calls[t], callFloats]),
        ranges.length > 1,
      );
    })[0];
  }

  /**
   * dW of the convolution `info` (one `appliesToFilterGradient` accepts) from x and dy: dU summed over the batch in
   * parts of a few chunks of images (the shape alone decides them, so every summation order is fixed whatever the
   * thread count), the parts split across the threads, then added in order and transformed back.
   */
  function filterGradient(
    x: WasmStorage,
    dy: WasmStorage,
    info: Conv2dInfo,
    writeGeometry: (pg: number, info: Conv2dInfo) => void,
  ): WasmStorage {
    const { batch, inChannels: c, outChannels: cout, outHeight: ho, outWidth: wo } = info;
    // At least two chunks where the batch has two images, so that two threads share the parts (the shape alone, not
    // the thread count, decides the chunks: they fix the summation order).
    const sub = imagesPerChunk(info, Math.ceil(batch / 2));
    const chunks = Math.ceil(batch / sub);
    const partFloats = k.winograd_filter_floats(cout, c);
    const maxParts = Math.min(chunks, MAX_PARTS, Math.max(MIN_PARTS, Math.floor(PARTS_FLOATS / partFloats)));
    const perPart = sub * Math.ceil(chunks / maxParts);
    const parts = Math.ceil(batch / perPart);
    const ranges = unitRanges(parts, info);
    const dot = cout < DOT_MAX_CHANNELS ? 1 : 0;
    const callFloats = k.winograd_filter_gradient_scratch_floats(sub, c, cout, ho, wo, dot);
    const scratch = [abi.GEOMETRY_INTS, parts * partFloats, ...ranges.map(() => callFloats)];
    return heap.call('conv2dBackwardFilter', [x, dy], [cout * c * 9], scratch, ([px, pdy], [pdw], areas) => {
      const [pg, pparts, ...calls] = areas;
      writeGeometry(pg, info);
      threads.calls(
        'winograd_filter_gradient_images_f32',
        ranges.map(([q0, q1], t) => [
          pparts,
          px,
          pdy,
          pg,
          q0 * perPart,
          Math.min(batch, q1 * perPart) - q0 * perPart,
          sub,
          perPart,
          dot,
          calls[t],
          callFloats,
        ]),
        ranges.length > 1,
      );
      const filters = threads.ranges(cout, 1, Math.ceil(MIN_PARALLEL_ELEMENTS / (parts * POINTS * c)));
      threads.calls(
        'winograd_filter_gradient_f32',
        filters.map(([o0, o1]) => [pdw, pparts, parts, cout, c, o0, o1]),
        filters.length > 1,
      );
    })[0];
  }

  return { applies, appliesToFilterGradient, convolve, filterGradient };
}
