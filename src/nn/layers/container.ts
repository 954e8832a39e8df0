import type { Tensor } from '../../autograd/tensor.js';
import { Module } from '../module.js';

/**
 * Runs its layers in order. They are named "0", "1", … in the state dict, as in PyTorch, or by the keys of one
 * object of layers (`new Sequential({ conv1, bn1, relu })`, PyTorch's `Sequential(OrderedDict(...))`).
 */
export class Sequential extends Module {
  constructor(...layers: Module[] | [Record<string, Module>]) {
    super();
    const [first] = layers;
    const named = layers.length === 1 && !(first instanceof Module);
    const entries = named ? Object.entries(first) : layers.map((m, i) => [String(i), m] as const);
    for (const [name, m] of entries) {
      if (!(m instanceof Module)) throw new Error(`Sequential: layer '${name}' is not a Module`);
      this.registerModule(name, m);
    }
  }

  /** The i-th layer (negative counts from the end). */
  at(i: number): Module {
    const layers = this.children();
    const m = layers[i < 0 ? i + layers.length : i];
    if (!m) throw new Error(`Sequential: no layer ${i} (has ${layers.length})`);
    return m;
  }

  /** Number of child modules. */
  get length(): number {
    return this.children().length;
  }

  forward(x: Tensor): Tensor {
    let h = x;
    for (const layer of this.children()) h = layer.forward(h);
    return h;
  }
}

/** Flattens dimensions startDim … endDim (by default everything but the batch). */
export class Flatten extends Module {
  constructor(
    readonly startDim = 1,
    readonly endDim = -1,
  ) {
    super();
  }

  forward(x: Tensor): Tensor {
    return x.flatten(this.startDim, this.endDim);
  }

  extraRepr(): string {
    return `start_dim=${this.startDim}, end_dim=${this.endDim}`;
  }
}
