import { type Tensor, tensor } from '../../autograd/tensor.js';
import { defaultGenerator, type Generator } from '../../random.js';
import { Module } from '../module.js';

/** Zeroes each element with probability p in training and scales the rest by 1/(1−p); identity in eval. */
export function dropout(x: Tensor, p: number, training: boolean, generator: Generator = defaultGenerator): Tensor {
  if (!(p >= 0 && p < 1)) throw new Error(`dropout: p must be in [0, 1), got ${p}`);
  if (!training || p === 0) return x;
  const mask = new Float64Array(x.size);
  for (let i = 0; i < mask.length; i++) mask[i] = generator.random() >= p ? 1 / (1 - p) : 0;
  return x.mul(tensor(mask, x.shape, { dtype: x.dtype }));
}

/** Zeroes each element with probability `p` in training and scales the rest by 1/(1−p); identity in eval. */
export class Dropout extends Module {
  constructor(
    readonly p = 0.5,
    private readonly generator: Generator = defaultGenerator,
  ) {
    super();
    if (!(p >= 0 && p < 1)) throw new Error(`Dropout: p must be in [0, 1), got ${p}`);
  }

  forward(x: Tensor): Tensor {
    return dropout(x, this.p, this.training, this.generator);
  }

  extraRepr(): string {
    return `p=${this.p}`;
  }
}
