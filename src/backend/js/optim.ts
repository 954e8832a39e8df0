// Optimizer update reference kernels, in place (torch.optim's rules; the classes in src/optim choose them).
import type { AdamStep, SgdStep } from '../backend.js';
import type { DType, FloatArray } from '../dtype.js';

export function sgdUpdate(p: FloatArray, grad: FloatArray, buf: FloatArray | null, h: SgdStep, _dtype: DType): void {
  for (let i = 0; i < p.length; i++) {
    const g = grad[i] + h.weightDecay * p[i];
    let d = g;
    if (buf) {
      buf[i] = h.first ? g : h.momentum * buf[i] + (1 - h.dampening) * g;
      d = h.nesterov ? g + h.momentum * buf[i] : buf[i];
    }
    p[i] -= h.lr * d;
  }
}

export function adamUpdate(
  p: FloatArray,
  grad: FloatArray,
  m: FloatArray,
  v: FloatArray,
  vmax: FloatArray | null,
  h: AdamStep,
  _dtype: DType,
): void {
  const c2 = Math.sqrt(1 - h.beta2 ** h.step);
  const stepSize = h.lr / (1 - h.beta1 ** h.step);
  for (let i = 0; i < p.length; i++) {
    let g = grad[i];
    if (h.decoupled) p[i] *= 1 - h.lr * h.weightDecay;
    else g += h.weightDecay * p[i];
    m[i] = h.beta1 * m[i] + (1 - h.beta1) * g;
    v[i] = h.beta2 * v[i] + (1 - h.beta2) * g * g;
    let vi = v[i];
    if (vmax) vi = vmax[i] = Math.max(vmax[i], vi);
    p[i] -= (stepSize * m[i]) / (Math.sqrt(vi) / c2 + h.eps);
  }
}
