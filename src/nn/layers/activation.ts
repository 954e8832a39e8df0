import type { Tensor } from '../../autograd/tensor.js';
import { Module } from '../module.js';

export class ReLU extends Module {
  forward(x: Tensor): Tensor {
    return x.relu();
  }
}

export class Sigmoid extends Module {
  forward(x: Tensor): Tensor {
    return x.sigmoid();
  }
}

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
