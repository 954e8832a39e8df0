// Parameter initialisation, in place, from a seeded generator (torch.nn.init).
import { noGrad } from '../autograd/engine.js';
import type { Tensor } from '../autograd/tensor.js';
import { defaultGenerator, type Generator } from '../random.js';

/** fan_in of a weight: in-features for (out, in), C/groups·kh·kw for a conv weight. */
export function fanIn(w: Tensor): number {
  return w.shape.slice(1).reduce((a, b) => a * b, 1);
}

/** Fills `t` in place with samples from U(lo, hi). */
export function uniform_(t: Tensor, lo: number, hi: number, g: Generator = defaultGenerator): Tensor {
  noGrad(() => {
    const d = t.data;
    for (let i = 0; i < d.length; i++) d[i] = g.uniform(lo, hi);
  });
  return t;
}

/** Fills `t` in place with samples from N(mean, std²). */
export function normal_(t: Tensor, mean = 0, std = 1, g: Generator = defaultGenerator): Tensor {
  noGrad(() => {
    const d = t.data;
    for (let i = 0; i < d.length; i++) d[i] = mean + std * g.normal();
  });
  return t;
}

/** Fills `t` in place with `value`. */
export function constant_(t: Tensor, value: number): Tensor {
  t.data.fill(value);
  return t;
}

/** kaiming_uniform_ with leaky-relu slope `a`: bound = gain·√(3/fan_in), gain = √(2/(1+a²)). */
export function kaimingUniform_(t: Tensor, a = 0, g: Generator = defaultGenerator): Tensor {
  const gain = Math.sqrt(2 / (1 + a * a));
  const bound = gain * Math.sqrt(3 / fanIn(t));
  return uniform_(t, -bound, bound, g);
}

/** kaiming_normal_ (fan_in, relu gain): std = √(2/fan_in). */
export function kaimingNormal_(t: Tensor, g: Generator = defaultGenerator): Tensor {
  return normal_(t, 0, Math.sqrt(2 / fanIn(t)), g);
}

/**
 * PyTorch's default for Conv2d and Linear: weight kaiming_uniform_(a=√5), i.e. U(±1/√fan_in); bias U(±1/√fan_in).
 */
export function defaultWeightAndBias_(weight: Tensor, bias: Tensor | null, g: Generator = defaultGenerator): void {
  kaimingUniform_(weight, Math.sqrt(5), g);
  if (bias) {
    const bound = 1 / Math.sqrt(fanIn(weight));
    uniform_(bias, -bound, bound, g);
  }
}
