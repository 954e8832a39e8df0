// Optimizer updates, f32, in place on the parameter and its state (torch.optim's rules; see src/optim). Scalars
// such as 1 − β are computed by the caller in double precision, as PyTorch computes them in Python.

/**
 * SGD: g = grad + wd·p; buf = g on the first step, else mu·buf + (1 − dampening)·g; d = g + mu·buf (nesterov) or
 * buf (with momentum) or g; p −= lr·d. `buf` is 0 without momentum.
 */
export function sgd_f32(p: usize, grad: usize, buf: usize, n: i32, lr: f32, mu: f32, oneMinusDampening: f32, wd: f32, nesterov: i32, first: i32): void {
  for (let i = 0; i < n; i++) {
    const at = <usize>i << 2;
    const g = load<f32>(grad + at) + wd * load<f32>(p + at);
    let d = g;
    if (buf) {
      const b = first ? g : mu * load<f32>(buf + at) + oneMinusDampening * g;
      store<f32>(buf + at, b);
      d = nesterov ? g + mu * b : b;
    }
    store<f32>(p + at, load<f32>(p + at) - lr * d);
  }
}

/**
 * Adam/AdamW: with decoupled decay p ← p·decay first (decay = 1 − lr·wd), else g = grad + wd·p; m, v moments; the
 * denominator √v / c2 + eps uses the running maximum of v when `vmax` is non-zero (amsgrad); p −= stepSize·m /
 * denominator.
 */
export function adam_f32(p: usize, grad: usize, m: usize, v: usize, vmax: usize, n: i32, b1: f32, oneMinusB1: f32, b2: f32, oneMinusB2: f32, eps: f32, wd: f32, decay: f32, decoupled: i32, stepSize: f32, c2: f32): void {
  for (let i = 0; i < n; i++) {
    const at = <usize>i << 2;
    let pi = load<f32>(p + at);
    let g = load<f32>(grad + at);
    if (decoupled) pi *= decay;
    else g += wd * pi;
    const mi = b1 * load<f32>(m + at) + oneMinusB1 * g;
    let vi = b2 * load<f32>(v + at) + oneMinusB2 * g * g;
    store<f32>(m + at, mi);
    store<f32>(v + at, vi);
    if (vmax) {
      vi = max(load<f32>(vmax + at), vi);
      store<f32>(vmax + at, vi);
    }
    store<f32>(p + at, pi - (stepSize * mi) / (Mathf.sqrt(vi) / c2 + eps));
  }
}
