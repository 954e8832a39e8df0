// Wrappers of the optimizer update kernels (assembly/kernels/optim.ts): in place on resident blocks. Scalars like
// 1 − β are computed here in double precision, as PyTorch computes them in Python.
import type { AdamStep, SgdStep } from '../backend.js';
import type { DType } from '../dtype.js';
import { expectSize, type Heap, type WasmStorage } from './heap.js';
import type { KernelExports } from './loader.js';

export function makeOptimizerKernels(k: KernelExports, heap: Heap) {
  function sgdUpdate(p: WasmStorage, grad: WasmStorage, buf: WasmStorage | null, h: SgdStep, _dtype: DType): void {
    expectSize('sgdUpdate', 'grad', grad, p.size);
    if (buf) expectSize('sgdUpdate', 'momentum buffer', buf, p.size);
    heap.call('sgdUpdate', buf ? [p, grad, buf] : [p, grad], [], [], ([pp, pg, pb]) => {
      k.sgd_f32(pp, pg, buf ? pb : 0, p.size, h.lr, h.momentum, 1 - h.dampening, h.weightDecay, +h.nesterov, +h.first);
    });
  }

  function adamUpdate(
    p: WasmStorage,
    grad: WasmStorage,
    m: WasmStorage,
    v: WasmStorage,
    vmax: WasmStorage | null,
    h: AdamStep,
    _dtype: DType,
  ): void {
    for (const [name, s] of [
      ['grad', grad],
      ['exp_avg', m],
      ['exp_avg_sq', v],
      ['max_exp_avg_sq', vmax],
    ] as const)
      if (s) expectSize('adamUpdate', name, s, p.size);
    const c2 = Math.sqrt(1 - h.beta2 ** h.step);
    const stepSize = h.lr / (1 - h.beta1 ** h.step);
    heap.call('adamUpdate', vmax ? [p, grad, m, v, vmax] : [p, grad, m, v], [], [], ([pp, pg, pm, pv, pmax]) => {
      k.adam_f32(
        pp,
        pg,
        pm,
        pv,
        vmax ? pmax : 0,
        p.size,
        h.beta1,
        1 - h.beta1,
        h.beta2,
        1 - h.beta2,
        h.eps,
        h.weightDecay,
        1 - h.lr * h.weightDecay,
        +h.decoupled,
        stepSize,
        c2,
      );
    });
  }

  return { sgdUpdate, adamUpdate };
}
