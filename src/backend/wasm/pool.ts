// Wrappers of the pooling kernels, each range of planes (batch·channels) one call. The fused ReLU → max pooling runs
// the max-pooling kernels with their `relu` argument: x is read through the ReLU, which makes no pass of its own.
import type { Kernels, ValuesAndIndices } from '../backend.js';
import type { DType } from '../dtype.js';
import type { Pool2dInfo } from '../shape_info.js';
import { expectSize, type Heap, type WasmStorage } from './heap.js';
import type { KernelExports } from './loader.js';
import type { Threads } from './parallel.js';

export function makePoolKernels(k: KernelExports, heap: Heap, threads: Threads) {
  /**
   * Calls of a pooling kernel over the planes (batch·channels), split into one range of planes per thread:
   * `args(p0, p1, geometry)` gives the arguments of the call over planes p0 … p1−1.
   */
  function poolCalls(
    kernel: 'max_pool2d_f32' | 'max_pool2d_backward_f32' | 'avg_pool2d_f32' | 'avg_pool2d_backward_f32',
    info: Pool2dInfo,
    args: (p0: number, p1: number, geometry: number[]) => number[],
  ): void {
    const geometry = [
      info.inHeight,
      info.inWidth,
      info.outHeight,
      info.outWidth,
      info.kernelH,
      info.kernelW,
      info.strideH,
      info.strideW,
      info.padH,
      info.padW,
    ];
    const ranges = threads.unitRanges(info.batch * info.channels, info.inHeight * info.inWidth);
    threads.calls(
      kernel,
      ranges.map(([s, e]) => args(s, e, geometry)),
      true,
    );
  }

  /** Elements of a pooling call's input and output. */
  function poolSizes(info: Pool2dInfo): { inSize: number; outSize: number } {
    const planes = info.batch * info.channels;
    return { inSize: planes * info.inHeight * info.inWidth, outSize: planes * info.outHeight * info.outWidth };
  }

  /** Max pooling of x, or with `relu` (the fused kernel) of relu(x). */
  function maxPool(kernel: string, x: WasmStorage, info: Pool2dInfo, relu: boolean): WasmStorage {
    const { inSize, outSize } = poolSizes(info);
    expectSize(kernel, 'x', x, inSize);
    // Indices pointer 0: none are written.
    return heap.call(kernel, [x], [outSize], [], ([px], [po]) => {
      poolCalls('max_pool2d_f32', info, (p0, p1, g) => [po, 0, px, p0, p1, ...g, +relu]);
    })[0];
  }

  function maxPool2dWithArgmax(x: WasmStorage, info: Pool2dInfo, _dtype: DType): ValuesAndIndices<WasmStorage> {
    const { inSize, outSize } = poolSizes(info);
    expectSize('maxPool2dWithArgmax', 'x', x, inSize);
    let indices = new Int32Array(0);
    const [values] = heap.call('maxPool2dWithArgmax', [x], [outSize], [outSize], ([px], [po], [pi]) => {
      poolCalls('max_pool2d_f32', info, (p0, p1, g) => [po, pi, px, p0, p1, ...g, 0]);
      indices = new Int32Array(heap.memory.buffer, pi, outSize).slice();
    });
    return { values, indices };
  }

  /** The gradient of maxPool (same `relu`). */
  function maxPoolBackward(kernel: string, dy: WasmStorage, x: WasmStorage, info: Pool2dInfo, relu: boolean) {
    const { inSize, outSize } = poolSizes(info);
    expectSize(kernel, 'dy', dy, outSize);
    expectSize(kernel, 'x', x, inSize);
    // Planes are disjoint in dx: each range of planes is one call, adding in the reference's order. Where the
    // windows tile the plane (2×2, stride 2) the kernel writes dx whole, and the zero pass is skipped.
    const writesAll =
      k.max_pool2d_backward_writes_all(info.kernelH, info.kernelW, info.strideH, info.strideW, info.padH, info.padW) !==
      0;
    return heap.call(
      kernel,
      [dy, x],
      [inSize],
      [],
      ([pdy, px], [pdx]) => {
        poolCalls('max_pool2d_backward_f32', info, (p0, p1, g) => [pdx, pdy, px, p0, p1, ...g, +relu]);
      },
      !writesAll,
    )[0];
  }

  function avgPool2d(x: WasmStorage, info: Pool2dInfo, _dtype: DType): WasmStorage {
    const { inSize, outSize } = poolSizes(info);
    expectSize('avgPool2d', 'x', x, inSize);
    return heap.call('avgPool2d', [x], [outSize], [], ([px], [po]) => {
      poolCalls('avg_pool2d_f32', info, (p0, p1, g) => [po, px, p0, p1, ...g, +info.countIncludePad]);
    })[0];
  }

  function avgPool2dBackward(dy: WasmStorage, info: Pool2dInfo, _dtype: DType): WasmStorage {
    const { inSize, outSize } = poolSizes(info);
    expectSize('avgPool2dBackward', 'dy', dy, outSize);
    return heap.call(
      'avgPool2dBackward',
      [dy],
      [inSize],
      [],
      ([pdy], [pdx]) => {
        poolCalls('avg_pool2d_backward_f32', info, (p0, p1, g) => [pdx, pdy, p0, p1, ...g, +info.countIncludePad]);
      },
      true,
    )[0];
  }

  const maxPoolKernels: Pick<
    Kernels<WasmStorage>,
    'maxPool2d' | 'maxPool2dBackward' | 'fusedReluMaxPool2d' | 'fusedReluMaxPool2dBackward'
  > = {
    maxPool2d: (x, info) => maxPool('maxPool2d', x, info, false),
    maxPool2dBackward: (dy, x, info) => maxPoolBackward('maxPool2dBackward', dy, x, info, false),
    fusedReluMaxPool2d: (x, info) => maxPool('fusedReluMaxPool2d', x, info, true),
    fusedReluMaxPool2dBackward: (dy, x, info) => maxPoolBackward('fusedReluMaxPool2dBackward', dy, x, info, true),
  };
  return { ...maxPoolKernels, maxPool2dWithArgmax, avgPool2d, avgPool2dBackward };
}
