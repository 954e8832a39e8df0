import type { Tensor } from '../../autograd/tensor.js';
import { Module } from '../module.js';
import { ReLU } from './activation.js';
import { normThenRelu } from './batchnorm.js';

/**
 * Runs its layers in order; they are named "0", "1", … in the state dict, as in PyTorch. A ReLU right after a
 * BatchNorm2d runs inside it (normThenRelu): the same values and gradients, two passes over the activations fewer.
 */
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
    const layers = this.children();
    let h = x;
    for (let i = 0; i < layers.length; i++) {
      const fuse = Object.getPrototypeOf(layers[i + 1] ?? {}) === ReLU.prototype;
      h = fuse ? normThenRelu(layers[i++], h) : layers[i].forward(h);
    }
    return h;
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
