import type { Tensor } from '../../autograd/tensor.js';
import { isExactly, Module } from '../module.js';
import { ReLU } from './activation.js';
import { BatchNorm2d } from './batchnorm.js';
import { MaxPool2d } from './pooling.js';

/** The pair `layer`, `next` as one op, or null: a ReLU runs inside the BatchNorm2d before it or the MaxPool2d after it. */
function fusedPair(layer: Module, next: Module | undefined): ((x: Tensor) => Tensor) | null {
  if (isExactly(layer, BatchNorm2d) && isExactly(next, ReLU)) return (x) => (layer as BatchNorm2d).forwardRelu(x);
  if (isExactly(layer, ReLU) && isExactly(next, MaxPool2d)) return (x) => (next as MaxPool2d).forwardOfRelu(x);
  return null;
}

/**
 * Runs its layers in order; they are named "0", "1", … in the state dict, as in PyTorch. A ReLU right after a
 * BatchNorm2d or right before a MaxPool2d runs inside that layer's kernels: the same values and gradients, two passes
 * over the activations fewer.
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
      const pair = fusedPair(layers[i], layers[i + 1]);
      h = pair ? pair(h) : layers[i].forward(h);
      if (pair) i++;
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
