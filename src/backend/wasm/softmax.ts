// Wrappers of the log-softmax kernels (assembly/kernels/softmax.ts): ranges of rows, split across threads for
// large inputs.
import type { DType } from '../dtype.js';
import { expectSize, type Heap, type WasmStorage } from './heap.js';
import type { Threads } from './parallel.js';

export function makeSoftmaxKernels(heap: Heap, threads: Threads) {
  function logSoftmax(x: WasmStorage, rows: number, cols: number, _dtype: DType): WasmStorage {
    expectSize('logSoftmax', 'x', x, rows * cols);
    return heap.call('logSoftmax', [x], [rows * cols], [], ([px], [py]) => {
      threads.calls(
        'log_softmax_f32',
        threads.unitRanges(rows, cols).map(([r0, r1]) => [py, px, cols, r0, r1]),
        true,
      );
    })[0];
  }

  function logSoftmaxBackward(g: WasmStorage, y: WasmStorage, rows: number, cols: number, _dtype: DType): WasmStorage {
    expectSize('logSoftmaxBackward', 'g', g, rows * cols);
    expectSize('logSoftmaxBackward', 'y', y, rows * cols);
    return heap.call('logSoftmaxBackward', [g, y], [rows * cols], [], ([pg, py], [pdx]) => {
      threads.calls(
        'log_softmax_backward_f32',
        threads.unitRanges(rows, cols).map(([r0, r1]) => [pdx, pg, py, cols, r0, r1]),
        true,
      );
    })[0];
  }

  return { logSoftmax, logSoftmaxBackward };
}
