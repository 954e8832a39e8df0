import type { Tensor } from '../../autograd/tensor.js';
import { Module } from '../module.js';

/** max(x, 0), elementwise. */
export class ReLU extends Module {
  forward(x: Tensor): Tensor {
    return x.relu();
  }
}

/** 1 / (1 + e⁻ˣ), elementwise. */
export class Sigmoid extends Module {
  forward(x: Tensor): Tensor {
    return x.sigmoid();
  }
}

/** Hyperbolic tangent, elementwise. */
export class Tanh extends Module {
  forward(x: Tensor): Tensor {
    return x.tanh();
  }
}

/** Passes its input through unchanged (a placeholder, as PyTorch's Identity). */
export class Identity extends Module {
  forward(x: Tensor): Tensor {
    return x;
  }
}
