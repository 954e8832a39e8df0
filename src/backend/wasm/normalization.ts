// Wrappers of the batch-normalisation kernels (assembly/kernels/batchnorm.ts). Every pass is split by images, as
// the convolutions around it are. The statistics are summed per part of the batch — a partition the shape alone
// decides (parallel.ts: sumParts) — and the parts added in order by a combine kernel on the caller, so results
// are the same bits for any thread count.
import type { BatchNormGrads, Kernels, NclDims } from '../backend.js';
import type { DType } from '../dtype.js';
import { expectSize, type Heap, type WasmStorage } from './heap.js';
import type { KernelExports } from './loader.js';
import { sumParts, type Threads } from './parallel.js';

const F = 4; // bytes per float

export function makeNormalizationKernels(k: KernelExports, heap: Heap, threads: Threads) {
  /** The batch's partition into parts of `partImages` images. */
  function partition(d: NclDims): { parts: number; partImages: number } {
    const { parts, perPart } = sumParts(d.n);
    return { parts, partImages: perPart };
  }

  /** Calls of a per-parts kernel over ranges of parts: `args(p0, p1)` gives one call's arguments. */
  function byParts(
    kernel: 'channel_moments_parts_f32' | 'batch_norm_backward_parts_f32',
    d: NclDims,
    args: (p0: number, p1: number) => number[],
  ): void {
    const { parts, partImages } = partition(d);
    const ranges = threads.unitRanges(parts, partImages * d.c * d.l);
    threads.calls(
      kernel,
      ranges.map(([p0, p1]) => args(p0, p1)),
      true,
    );
  }

  /** Calls of a per-image kernel over ranges of images: `args(byte offset of the first image, images)`. */
  function byImages(
    kernel: 'batch_norm_apply_f32' | 'batch_norm_backward_dx_f32',
    d: NclDims,
    args: (offset: number, images: number) => number[],
  ): void {
    const ranges = threads.unitRanges(d.n, d.c * d.l);
    threads.calls(
      kernel,
      ranges.map(([n0, n1]) => args(n0 * d.c * d.l * F, n1 - n0)),
      true,
    );
  }

  function check(kernel: string, x: WasmStorage, d: NclDims, perChannel: [string, WasmStorage | null][]): void {
    expectSize(kernel, 'x', x, d.n * d.c * d.l);
    for (const [name, s] of perChannel) if (s) expectSize(kernel, name, s, d.c);
  }

  function channelMoments(x: WasmStorage, d: NclDims, _dtype: DType): { mean: WasmStorage; variance: WasmStorage } {
    check('channelMoments', x, d, []);
    const { parts, partImages } = partition(d);
    const [mean, variance] = heap.call(
      'channelMoments',
      [x],
      [d.c, d.c],
      [parts * d.c, parts * d.c],
      ([px], [pm, pv], [sums, squares]) => {
        byParts('channel_moments_parts_f32', d, (p0, p1) => [sums, squares, px, d.n, d.c, d.l, p0, p1, partImages]);
        k.channel_moments_combine_f32(pm, pv, sums, squares, parts, partImages, d.n, d.c, d.l);
      },
    );
    return { mean, variance };
  }

  /** Pointers of the optional per-channel inputs after the required ones in `rest` (0 for a null one). */
  function optionalPointers(rest: number[], present: (WasmStorage | null)[]): number[] {
    let i = 0;
    return present.map((s) => (s ? rest[i++] : 0));
  }

  /** The normalisation, and with `relu` (the fused kernel) the ReLU after it, in one pass. */
  function apply(
    kernel: string,
    x: WasmStorage,
    mean: WasmStorage,
    invstd: WasmStorage,
    scale: WasmStorage | null,
    shift: WasmStorage | null,
    d: NclDims,
    relu: boolean,
  ): WasmStorage {
    check(kernel, x, d, [
      ['mean', mean],
      ['invstd', invstd],
      ['scale', scale],
      ['shift', shift],
    ]);
    const inputs = [x, mean, invstd, ...(scale ? [scale] : []), ...(shift ? [shift] : [])];
    return heap.call(kernel, inputs, [x.size], [], ([px, pm, ps, ...rest], [py]) => {
      const [pScale, pShift] = optionalPointers(rest, [scale, shift]);
      byImages('batch_norm_apply_f32', d, (o, images) => [
        py + o,
        px + o,
        pm,
        ps,
        pScale,
        pShift,
        images,
        d.c,
        d.l,
        +relu,
      ]);
    })[0];
  }

  /** The backward pass; `reluOutput`: the fused op's output y, dy zeroed first where y ≤ 0. */
  function backward(
    kernel: string,
    dy: WasmStorage,
    x: WasmStorage,
    mean: WasmStorage,
    invstd: WasmStorage,
    scale: WasmStorage | null,
    reluOutput: WasmStorage | null,
    d: NclDims,
  ): BatchNormGrads<WasmStorage> {
    check(kernel, x, d, [
      ['mean', mean],
      ['invstd', invstd],
      ['scale', scale],
    ]);
    expectSize(kernel, 'dy', dy, x.size);
    if (reluOutput) expectSize(kernel, 'y', reluOutput, x.size);
    const { parts, partImages } = partition(d);
    const inputs = [dy, x, mean, invstd, ...(scale ? [scale] : []), ...(reluOutput ? [reluOutput] : [])];
    const [dx, sumDy, sumDyXhat] = heap.call(
      kernel,
      inputs,
      [x.size, d.c, d.c],
      [parts * d.c, parts * d.c],
      ([pdy, px, pm, ps, ...rest], [pdx, pg, pgx], [partsDy, partsDyCentred]) => {
        const [pScale, pY] = optionalPointers(rest, [scale, reluOutput]);
        byParts('batch_norm_backward_parts_f32', d, (p0, p1) => [
          partsDy,
          partsDyCentred,
          pdy,
          px,
          pm,
          pY,
          d.n,
          d.c,
          d.l,
          p0,
          p1,
          partImages,
        ]);
        k.batch_norm_backward_combine_f32(pg, pgx, partsDy, partsDyCentred, ps, parts, d.c);
        byImages('batch_norm_backward_dx_f32', d, (o, images) => [
          pdx + o,
          pdy + o,
          px + o,
          pm,
          ps,
          pScale,
          pY && pY + o,
          pg,
          pgx,
          images,
          d.c,
          d.l,
          d.n * d.l,
        ]);
      },
    );
    return { dx, sumDy, sumDyXhat };
  }

  const kernels: Pick<
    Kernels<WasmStorage>,
    'batchNormApply' | 'batchNormBackward' | 'fusedBatchNormReluApply' | 'fusedBatchNormReluBackward'
  > = {
    batchNormApply: (x, mean, invstd, scale, shift, d) =>
      apply('batchNormApply', x, mean, invstd, scale, shift, d, false),
    batchNormBackward: (dy, x, mean, invstd, scale, d) =>
      backward('batchNormBackward', dy, x, mean, invstd, scale, null, d),
    fusedBatchNormReluApply: (x, mean, invstd, scale, shift, d) =>
      apply('fusedBatchNormReluApply', x, mean, invstd, scale, shift, d, true),
    fusedBatchNormReluBackward: (dy, x, mean, invstd, scale, y, d) =>
      backward('fusedBatchNormReluBackward', dy, x, mean, invstd, scale, y, d),
  };
  return { channelMoments, ...kernels };
}
