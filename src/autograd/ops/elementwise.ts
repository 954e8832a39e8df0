// Elementwise ops. Each op's forward (one kernel call) and backward (composed from other ops) sit side by side.
import type { BinaryOp, UnaryOp } from '../../backend/backend.js';
import { activeBackend } from '../../backend/registry.js';
import { broadcastShapes } from '../../backend/shape_info.js';
import { record } from '../engine.js';
import { fromStorage, type Tensor } from '../tensor.js';
import { sumTo } from './reduce.js';
import { operands } from './util.js';

function unaryKernel(op: UnaryOp, x: Tensor): Tensor {
  const b = activeBackend();
  return fromStorage(b.unary(op, x.storageOn(b), x.size, x.dtype), x.shape, x.dtype);
}

/** Runs a broadcasting binary kernel (no graph). Exported for backward rules and non-differentiable masks. */
export function binaryKernel(op: BinaryOp, x: Tensor, y: Tensor): Tensor {
  const shape = broadcastShapes(op, x.shape, y.shape);
  const b = activeBackend();
  const out = b.binary(op, x.storageOn(b), x.shape, y.storageOn(b), y.shape, shape, x.dtype);
  return fromStorage(out, shape, x.dtype);
}

// ---- unary -------------------------------------------------------------------------------------------------

/** Elementwise −x. */
export function neg(x: Tensor): Tensor {
  return record(unaryKernel('neg', x), 'neg', [x], (g) => [g.neg()]);
}

/** Elementwise eˣ. */
export function exp(x: Tensor): Tensor {
  const out = unaryKernel('exp', x);
  return record(out, 'exp', [x], (g) => [g.mul(out)]);
}

/** Elementwise natural logarithm. */
export function log(x: Tensor): Tensor {
  return record(unaryKernel('log', x), 'log', [x], (g) => [g.div(x)]);
}

/** Elementwise square root. */
export function sqrt(x: Tensor): Tensor {
  const out = unaryKernel('sqrt', x);
  return record(out, 'sqrt', [x], (g) => [g.div(out.mul(2))]);
}

/** |x|; the gradient at 0 is 0, as in PyTorch. */
export function abs(x: Tensor): Tensor {
  return record(unaryKernel('abs', x), 'abs', [x], (g) => [g.mul(unaryKernel('sign', x))]);
}

/** max(x, 0); the gradient at 0 is 0, one kernel (`dy` where x > 0) rather than a mask and a product. */
export function relu(x: Tensor): Tensor {
  const out = unaryKernel('relu', x);
  return record(out, 'relu', [x], (g) => {
    const be = activeBackend();
    return [fromStorage(be.reluBackward(g.storageOn(be), x.storageOn(be), x.size, x.dtype), x.shape, x.dtype)];
  });
}

/** Elementwise 1 / (1 + e⁻ˣ). */
export function sigmoid(x: Tensor): Tensor {
  const out = unaryKernel('sigmoid', x);
  return record(out, 'sigmoid', [x], (g) => [g.mul(out).mul(out.neg().add(1))]);
}

/** Elementwise hyperbolic tangent. */
export function tanh(x: Tensor): Tensor {
  const out = unaryKernel('tanh', x);
  return record(out, 'tanh', [x], (g) => [g.mul(out.mul(out).neg().add(1))]);
}

/** min(max(x, lo), hi); the gradient passes where lo ≤ x ≤ hi, boundaries included (PyTorch). */
export function clamp(x: Tensor, lo: number, hi: number): Tensor {
  if (!(lo <= hi)) throw new Error(`clamp: min ${lo} must not exceed max ${hi}`);
  const b = activeBackend();
  const out = fromStorage(b.clamp(x.storageOn(b), x.size, lo, hi, x.dtype), x.shape, x.dtype);
  return record(out, 'clamp', [x], (g) => {
    const inside = binaryKernel('ge', x, constLike(lo, x)).mul(binaryKernel('ge', constLike(hi, x), x));
    return [g.mul(inside)];
  });
}

function constLike(v: number, like: Tensor): Tensor {
  return operands('const', v, like)[0];
}

function zeroLike(like: Tensor): Tensor {
  return constLike(0, like);
}

// ---- binary (broadcasting; each gradient is summed back to its operand's shape) -------------------------------

/** a + b, broadcasting. */
export function add(a: Tensor | number, b: Tensor | number): Tensor {
  const [x, y] = operands('add', a, b);
  return record(binaryKernel('add', x, y), 'add', [x, y], (g) => [sumTo(g, x.shape), sumTo(g, y.shape)]);
}

/** a − b, broadcasting. */
export function sub(a: Tensor | number, b: Tensor | number): Tensor {
  const [x, y] = operands('sub', a, b);
  return record(binaryKernel('sub', x, y), 'sub', [x, y], (g) => [
    sumTo(g, x.shape),
    y.requiresGrad ? sumTo(g, y.shape).neg() : null,
  ]);
}

/** a · b, broadcasting. */
export function mul(a: Tensor | number, b: Tensor | number): Tensor {
  const [x, y] = operands('mul', a, b);
  return record(binaryKernel('mul', x, y), 'mul', [x, y], (g) => [
    x.requiresGrad ? sumTo(g.mul(y), x.shape) : null,
    y.requiresGrad ? sumTo(g.mul(x), y.shape) : null,
  ]);
}

/** a / b, broadcasting. */
export function div(a: Tensor | number, b: Tensor | number): Tensor {
  const [x, y] = operands('div', a, b);
  const out = binaryKernel('div', x, y);
  return record(out, 'div', [x, y], (g) => [
    x.requiresGrad ? sumTo(g.div(y), x.shape) : null,
    y.requiresGrad ? sumTo(g.mul(out).div(y).neg(), y.shape) : null,
  ]);
}

/** a^b; ∂/∂a = b·a^(b−1), ∂/∂b = a^b·ln a. */
export function pow(a: Tensor | number, b: Tensor | number): Tensor {
  const [x, y] = operands('pow', a, b);
  const out = binaryKernel('pow', x, y);
  return record(out, 'pow', [x, y], (g) => [
    x.requiresGrad ? sumTo(g.mul(y).mul(binaryKernel('pow', x, y.sub(1))), x.shape) : null,
    y.requiresGrad ? sumTo(g.mul(out).mul(x.log()), y.shape) : null,
  ]);
}

/** Elementwise max; a tie splits the gradient equally between the operands (PyTorch). */
export function maximum(a: Tensor | number, b: Tensor | number): Tensor {
  const [x, y] = operands('maximum', a, b);
  return record(binaryKernel('maximum', x, y), 'maximum', [x, y], (g) => {
    const half = binaryKernel('eq', x, y).mul(0.5);
    return [
      x.requiresGrad ? sumTo(g.mul(binaryKernel('gt', x, y).add(half)), x.shape) : null,
      y.requiresGrad ? sumTo(g.mul(binaryKernel('gt', y, x).add(half)), y.shape) : null,
    ];
  });
}

/** Elementwise min; a tie splits the gradient equally. */
export function minimum(a: Tensor | number, b: Tensor | number): Tensor {
  const [x, y] = operands('minimum', a, b);
  return record(binaryKernel('minimum', x, y), 'minimum', [x, y], (g) => {
    const half = binaryKernel('eq', x, y).mul(0.5);
    return [
      x.requiresGrad ? sumTo(g.mul(binaryKernel('gt', y, x).add(half)), x.shape) : null,
      y.requiresGrad ? sumTo(g.mul(binaryKernel('gt', x, y).add(half)), y.shape) : null,
    ];
  });
}

/** `cond ≠ 0 ? a : b`, broadcasting all three; `cond` gets no gradient. */
export function where(cond: Tensor, a: Tensor | number, b: Tensor | number): Tensor {
  const [x, y] = operands('where', a, b);
  const shape = broadcastShapes('where', broadcastShapes('where', cond.shape, x.shape), y.shape);
  const be = activeBackend();
  const out = fromStorage(
    be.where(cond.storageOn(be), cond.shape, x.storageOn(be), x.shape, y.storageOn(be), y.shape, shape, x.dtype),
    shape,
    x.dtype,
  );
  return record(out, 'where', [x, y], (g) => {
    const zero = zeroLike(g);
    return [
      x.requiresGrad ? sumTo(where(cond, g, zero), x.shape) : null,
      y.requiresGrad ? sumTo(where(cond, zero, g), y.shape) : null,
    ];
  });
}

/** 1 where a > b, else 0 (no gradient). */
export function greater(a: Tensor | number, b: Tensor | number): Tensor {
  const [x, y] = operands('greater', a, b);
  return binaryKernel('gt', x, y);
}

/** 1 where a == b, else 0 (no gradient). */
export function equal(a: Tensor | number, b: Tensor | number): Tensor {
  const [x, y] = operands('equal', a, b);
  return binaryKernel('eq', x, y);
}
