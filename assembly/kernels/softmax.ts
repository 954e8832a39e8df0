// Log-softmax over the rows of a (rows, cols) matrix, f32, and its backward pass. The row maximum is subtracted
// before exp, so exp never overflows.

// @ts-ignore: decorator
@inline function at(base: usize, index: i32): usize {
  return base + (<usize>index << 2);
}

/** y = (x − max) − log Σ exp(x − max), row by row (rows r0 … r1−1); max is taken off first, so large logits keep their precision. */
export function log_softmax_f32(y: usize, x: usize, cols: i32, r0: i32, r1: i32): void {
  for (let r = r0; r < r1; r++) {
    const src = at(x, r * cols), dst = at(y, r * cols);
    let m: f32 = -Infinity;
    for (let j = 0; j < cols; j++) m = max(m, load<f32>(at(src, j)));
    let s: f32 = 0;
    for (let j = 0; j < cols; j++) s += Mathf.exp(load<f32>(at(src, j)) - m);
    const logSum = Mathf.log(s);
    for (let j = 0; j < cols; j++) store<f32>(at(dst, j), load<f32>(at(src, j)) - m - logSum);
  }
}

/** dx = g − exp(y)·Σg, row by row: the gradient of log-softmax given its output y. */
export function log_softmax_backward_f32(dx: usize, g: usize, y: usize, cols: i32, r0: i32, r1: i32): void {
  for (let r = r0; r < r1; r++) {
    const o = r * cols;
    let s: f32 = 0;
    for (let j = 0; j < cols; j++) s += load<f32>(at(g, o + j));
    for (let j = 0; j < cols; j++) store<f32>(at(dx, o + j), load<f32>(at(g, o + j)) - Mathf.exp(load<f32>(at(y, o + j))) * s);
  }
}
