// Wrappers of the batch-normalisation kernels (assembly/kernels/batchnorm.ts): one call per range of channels,
// the ranges split across threads for large inputs.
import type { NclDims } from '../backend.js';
import type { DType } from '../dtype.js';
import { expectSize, type Heap, type WasmStorage } from './heap.js';
import type { Threads } from './parallel.js';

export function makeNormalizationKernels(heap: Heap, threads: Threads) {
  /** Calls over ranges of channels: `args(c0, c1)` gives one call's arguments. */
  function byChannels(kernel: 'channel_moments_f32' | 'batch_norm_apply_f32' | 'batch_norm_backward_f32', d: NclDims, args: (c0: number, c1: number) => number[]): void {
    const ranges = threads.unitRanges(d.c, d.n * d.l);
    threads.calls(kernel, ranges.map(([c0, c1]) => args(c0, c1)), true);
  }

  function check(kernel: string, x: WasmStorage, d: NclDims, perChannel: [string, WasmStorage | null][]): void {
    expectSize(kernel, 'x', x, d.n * d.c * d.l);
    for (const [name, s] of perChannel) if (s) expectSize(kernel, name, s, d.c);
  }

  function channelMoments(x: WasmStorage, d: NclDims, _dtype: DType): { mean: WasmStorage; variance: WasmStorage } {
    check('channelMoments', x, d, []);
    const [mean, variance] = heap.call('channelMoments', [x], [d.c, d.c], [], ([px], [pm, pv]) => {
      byChannels('channel_moments_f32', d, (c0, c1) => [pm, pv, px, d.n, d.c, d.l, c0, c1]);
    });
    return { mean, variance };
  }

  function batchNormApply(x: WasmStorage, mean: WasmStorage, invstd: WasmStorage, scale: WasmStorage | null, shift: WasmStorage | null, d: NclDims, _dtype: DType): WasmStorage {
    check('batchNormApply', x, d, [['mean', mean], ['invstd', invstd], ['scale', scale], ['shift', shift]]);
    const inputs = [x, mean, invstd, ...(scale ? [scale] : []), ...(shift ? [shift] : [])];
    return heap.call('batchNormApply', inputs, [x.size], [], ([px, pm, ps, ...rest], [py]) => {
      const pScale = scale ? rest.shift()! : 0;
      const pShift = shift ? rest.shift()! : 0;
      byChannels('batch_norm_apply_f32', d, (c0, c1) => [py, px, pm, ps, pScale, pShift, d.n, d.c, d.l, c0, c1]);
    })[0];
  }

  function batchNormBackward(dy: WasmStorage, x: WasmStorage, mean: WasmStorage, invstd: WasmStorage, scale: WasmStorage | null, d: NclDims, _dtype: DType): { dx: WasmStorage; sumDy: WasmStorage; sumDyXhat: WasmStorage } {
    check('batchNormBackward', x, d, [['mean', mean], ['invstd', invstd], ['scale', scale]]);
    expectSize('batchNormBackward', 'dy', dy, x.size);
    const inputs = [dy, x, mean, invstd, ...(scale ? [scale] : [])];
    const [dx, sumDy, sumDyXhat] = heap.call('batchNormBackward', inputs, [x.size, d.c, d.c], [], ([pdy, px, pm, ps, pScale], [pdx, pg, pgx]) => {
      byChannels('batch_norm_backward_f32', d, (c0, c1) => [pdx, pg, pgx, pdy, px, pm, ps, scale ? pScale : 0, d.n, d.c, d.l, c0, c1]);
    });
    return { dx, sumDy, sumDyXhat };
  }

  return { channelMoments, batchNormApply, batchNormBackward };
}
