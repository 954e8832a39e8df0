import type { Tensor } from '../../autograd/tensor.js';
import { Module } from '../module.js';

/** Runs its layers in order; they are named "0", "1", … in the state dict, as in PyTorch. */
export class Sequential extends Module {
  constructor(...layers: Module[]) {
    super();
    layers.forEach((m, i) => this.registerModule(String(i), m));
  }

  /** The i-th layer (negative counts from the end). */
  at(i: number): Module {
    const layers = this.children();
    const m = layers[i < 0 ? i + layers.length : i];
    if (!m) throw new Error(`Sequential: no layer ${i} (has ${layers.length})`);
    return m;
  }

  get length(): number {
    return this.children().length;
  }

  forward(x: Tensor): Tensor {
    return this.children().reduce((h, m) => m.forward(h), x);
  }
}

/** Flattens dimensions startDim … endDim (by default everything but the batch). */
export class Flatten extends Module {
  constructor(readonly startDim = 1, readonly endDim = -1) {
    super();
  }

  forward(x: Tensor): Tensor {
    return x.flatten(this.startDim, this.endDim);
  }

  extraRepr(): string {
    return `start_dim=${this.startDim}, end_dim=${this.endDim}`;
  }
}
