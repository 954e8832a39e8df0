// The Tensor: a shape, a dtype, a storage handle owned by a backend, and the autograd links.
// Methods are thin: each forwards to the op that defines forward and backward together (see ./ops).
import type { Backend } from '../backend/backend.js';
import { allocArray, type DType, type FloatArray } from '../backend/dtype.js';
import { activeBackend, readyBackend } from '../backend/registry.js';
import { fmtShape, sizeOf } from '../backend/shape_info.js';
import { defaultGenerator, type Generator } from '../random.js';
import { backward as runBackward, type GradFn } from './engine.js';
import * as ew from './ops/elementwise.js';
import { matmul } from './ops/matmul.js';
import * as mv from './ops/movement.js';
import * as red from './ops/reduce.js';
import { logSoftmax, softmax } from './ops/softmax.js';

/** Dimensions to reduce over: one (negative counts from the end), several, or all (`null`/omitted). */
export type Dims = number | readonly number[] | null | undefined;
/** Options of the reductions. */
export interface ReduceOptions {
  keepdim?: boolean;
}
/** Options of `var`. */
export interface VarOptions extends ReduceOptions {
  /** Divide by n − 1 (PyTorch's default) rather than n. */
  unbiased?: boolean;
}

/** The dims of `reshape(2, 3)` or `reshape([2, 3])` (a plain array when given one: `flat()` costs a microsecond per call). */
function dimsOf(args: (number | readonly number[])[]): readonly number[] {
  return args.length === 1 && Array.isArray(args[0]) ? args[0] : args.flat();
}

/** An n-dimensional float tensor on the active backend, with reverse-mode autograd (PyTorch's `torch.Tensor`). */
export class Tensor {
  /** Whether backward() should compute a gradient for this tensor. */
  requiresGrad = false;
  /** The accumulated gradient after backward(); assignable, as in PyTorch. */
  grad: Tensor | null = null;
  /** How this tensor was computed; null for leaves and after the graph has been freed. */
  gradFn: GradFn | null = null;
  /** Set once backward() has freed the graph through this tensor. */
  graphFreed = false;

  /** @internal Use `tensor()`, `zeros()` and friends. */
  constructor(
    public storage: unknown,
    readonly shape: readonly number[],
    readonly dtype: DType,
    public backendName: string,
  ) {}

  /** Number of elements. */
  get size(): number {
    return (this.cachedSize ??= sizeOf(this.shape));
  }
  private cachedSize: number | undefined;

  /** Number of dimensions. */
  get ndim(): number {
    return this.shape.length;
  }

  /** The storage on `backend`, moving it there first if it lives on another backend (as tfjs moves data). */
  storageOn(backend: Backend): unknown {
    if (this.backendName !== backend.name) {
      this.storage = backend.fromArray(this.data, true);
      this.backendName = backend.name;
    }
    return this.storage;
  }

  /** A live view of the elements (row-major). Valid until the backend next allocates; writes go through. */
  get data(): FloatArray {
    return readyBackend(this.backendName).view(this.storage, this.size, this.dtype);
  }

  /** A copy of the elements as float32. */
  toFloat32Array(): Float32Array {
    const data = this.data;
    // slice() is one block copy; Float32Array.from walks the elements (1.7× slower at 8 MB).
    return data instanceof Float32Array ? data.slice() : Float32Array.from(data);
  }

  /** A copy of the elements as plain numbers. */
  toArray(): number[] {
    return Array.from(this.data);
  }

  /** The value of a one-element tensor. */
  item(): number {
    if (this.size !== 1)
      throw new Error(`item: tensor of shape ${fmtShape(this.shape)} has ${this.size} elements, expected 1`);
    return this.data[0];
  }

  /** Backpropagates from this tensor. `grad` defaults to 1 for a one-element tensor. */
  backward(grad?: Tensor): void {
    if (this.graphFreed)
      throw new Error('backward: the graph through this tensor was already freed by an earlier backward()');
    if (!this.requiresGrad) throw new Error('backward: tensor does not require grad and has no graph');
    if (!grad && this.size !== 1) {
      throw new Error(
        `backward: an implicit gradient needs a one-element tensor, got shape ${fmtShape(this.shape)}; pass grad`,
      );
    }
    const g = grad ?? full(this.shape, 1, { dtype: this.dtype });
    if (g.size !== this.size)
      throw new Error(`backward: grad shape ${fmtShape(g.shape)} does not match tensor shape ${fmtShape(this.shape)}`);
    runBackward(this, g.reshape(this.shape));
  }

  /** A tensor sharing this storage, cut from the graph. */
  detach(): Tensor {
    return new Tensor(this.storage, this.shape, this.dtype, this.backendName);
  }

  /**
   * Keeps this tensor past the end of the training step that made it and returns it. Without keep(), a tensor made
   * during a step (after an optimizer's first step()) is freed once the next step is under way; parameters, buffers,
   * gradients and optimizer state are kept already. A kept tensor is freed when the garbage collector finds it
   * unreachable.
   */
  keep(): this {
    readyBackend(this.backendName).keep?.(this.storage);
    return this;
  }

  /** A copy with its own storage, cut from the graph. */
  clone(): Tensor {
    const b = activeBackend();
    return new Tensor(b.fromArray(this.data), this.shape, this.dtype, b.name);
  }

  /** Sets requiresGrad in place and returns this tensor. */
  requiresGrad_(flag = true): this {
    this.requiresGrad = flag;
    return this;
  }

  /** Elementwise `this + other`, broadcasting. */
  add(other: Tensor | number): Tensor {
    return ew.add(this, other);
  }
  /** Elementwise `this − other`, broadcasting. */
  sub(other: Tensor | number): Tensor {
    return ew.sub(this, other);
  }
  /** Elementwise `this · other`, broadcasting. */
  mul(other: Tensor | number): Tensor {
    return ew.mul(this, other);
  }
  /** Elementwise `this / other`, broadcasting. */
  div(other: Tensor | number): Tensor {
    return ew.div(this, other);
  }
  /** Elementwise `this ** other`, broadcasting. */
  pow(other: Tensor | number): Tensor {
    return ew.pow(this, other);
  }
  /** Elementwise maximum, broadcasting; a NaN wins, and a tie splits the gradient in halves (PyTorch). */
  maximum(other: Tensor | number): Tensor {
    return ew.maximum(this, other);
  }
  /** Elementwise minimum, broadcasting; a NaN wins, and a tie splits the gradient in halves (PyTorch). */
  minimum(other: Tensor | number): Tensor {
    return ew.minimum(this, other);
  }
  /** Matrix product of the last two dimensions; leading dimensions broadcast as batch dimensions. */
  matmul(other: Tensor): Tensor {
    return matmul(this, other);
  }
  /** Elementwise −x. */
  neg(): Tensor {
    return ew.neg(this);
  }
  /** Elementwise eˣ. */
  exp(): Tensor {
    return ew.exp(this);
  }
  /** Elementwise natural logarithm. */
  log(): Tensor {
    return ew.log(this);
  }
  /** Elementwise square root. */
  sqrt(): Tensor {
    return ew.sqrt(this);
  }
  /** Elementwise |x| (gradient 0 at 0, as PyTorch). */
  abs(): Tensor {
    return ew.abs(this);
  }
  /** Elementwise max(x, 0). */
  relu(): Tensor {
    return ew.relu(this);
  }
  /** Elementwise 1 / (1 + e⁻ˣ). */
  sigmoid(): Tensor {
    return ew.sigmoid(this);
  }
  /** Elementwise hyperbolic tangent. */
  tanh(): Tensor {
    return ew.tanh(this);
  }
  /** Elementwise x². */
  square(): Tensor {
    return ew.mul(this, this);
  }
  /** Elementwise min(max(x, min), max); the gradient passes where min ≤ x ≤ max. */
  clamp(min: number, max: number): Tensor {
    return ew.clamp(this, min, max);
  }

  /** Sum over `dim` (every dimension if omitted). */
  sum(dim?: Dims, opts?: ReduceOptions): Tensor {
    return red.sum(this, dim, opts);
  }
  /** Mean over `dim` (every dimension if omitted). */
  mean(dim?: Dims, opts?: ReduceOptions): Tensor {
    return red.mean(this, dim, opts);
  }
  /** Maximum over `dim` (every dimension if omitted); the gradient goes to the maximum. */
  max(dim?: Dims, opts?: ReduceOptions): Tensor {
    return red.max(this, dim, opts);
  }
  /** Variance over `dim`, unbiased (n − 1) unless `opts.unbiased` is false (PyTorch's default). */
  var(dim?: Dims, opts?: VarOptions): Tensor {
    return red.variance(this, dim, opts);
  }
  /** Indices of the maxima along `dim` (float tensor of integers); no gradient. */
  argmax(dim: number, opts?: ReduceOptions): Tensor {
    return red.argmax(this, dim, opts);
  }

  /** The same elements in a new shape (one dimension may be −1). */
  reshape(...shape: (number | readonly number[])[]): Tensor {
    return mv.reshape(this, dimsOf(shape));
  }
  /** The dimensions in a new order. */
  permute(...perm: (number | readonly number[])[]): Tensor {
    return mv.permute(this, dimsOf(perm));
  }
  /** Swaps two dimensions. */
  transpose(dim0: number, dim1: number): Tensor {
    return mv.transpose(this, dim0, dim1);
  }
  /** Matrix transpose of the last two dimensions. */
  get T(): Tensor {
    return mv.transpose(this, -2, -1);
  }
  /** Merges dimensions `startDim … endDim` into one. */
  flatten(startDim = 0, endDim = -1): Tensor {
    return mv.flatten(this, startDim, endDim);
  }
  /** Inserts a dimension of size 1 at `dim`. */
  unsqueeze(dim: number): Tensor {
    return mv.unsqueeze(this, dim);
  }
  /** Removes dimension `dim` (or every dimension) of size 1. */
  squeeze(dim?: number): Tensor {
    return mv.squeeze(this, dim);
  }
  /** Broadcasts size-1 dimensions to `shape` (−1 keeps a size). */
  expand(...shape: (number | readonly number[])[]): Tensor {
    return mv.expand(this, dimsOf(shape));
  }
  /** Elements `start … end−1` along `dim` (negative indices count from the end). */
  slice(dim: number, start: number, end?: number): Tensor {
    return mv.narrow(this, dim, start, end);
  }
  /** The `i`-th sub-tensor along dimension 0. */
  index(i: number): Tensor {
    return mv.select(this, 0, i);
  }
  /** Softmax along `dim`. */
  softmax(dim: number): Tensor {
    return softmax(this, dim);
  }
  /** Log-softmax along `dim`, computed stably. */
  logSoftmax(dim: number): Tensor {
    return logSoftmax(this, dim);
  }

  /** Shape and the first elements, as `tensor((2, 3), [1, 2, …])`. */
  toString(): string {
    const d = this.data;
    const shown = Array.from(d.subarray(0, 8), (v) => +v.toPrecision(4)).join(', ');
    const grad = this.gradFn ? `, gradFn=${this.gradFn.name}` : this.requiresGrad ? ', requiresGrad=true' : '';
    return `tensor(${fmtShape(this.shape)}, [${shown}${d.length > 8 ? ', …' : ''}]${this.dtype === 'float64' ? ', dtype=float64' : ''}${grad})`;
  }
}

/** Options of the tensor factories. */
export interface TensorOptions {
  requiresGrad?: boolean;
  dtype?: DType;
}

type Nested = number | readonly Nested[];

function flattenNested(data: Nested, shape: number[], out: number[], depth: number): void {
  if (typeof data === 'number') {
    out.push(data);
    return;
  }
  if (shape.length === depth) shape.push(data.length);
  else if (shape[depth] !== data.length) throw new Error(`tensor: ragged nested array at depth ${depth}`);
  for (const d of data) flattenNested(d, shape, out, depth + 1);
}

/** Wraps a backend storage handle as a tensor on the active backend. @internal */
export function fromStorage(storage: unknown, shape: readonly number[], dtype: DType): Tensor {
  return new Tensor(storage, shape, dtype, activeBackend().name);
}

/** A tensor of a dtype on the active backend, copied from `values`. */
function fromValues(values: ArrayLike<number>, shape: readonly number[], opts: TensorOptions): Tensor {
  const arr = newArray('tensor', shape, opts.dtype ?? 'float32');
  arr.set(values);
  return fromFilled(arr, shape, opts);
}

/** A tensor on the active backend that takes `arr` (of opts' dtype, filled by the caller) as its values. */
function fromFilled(arr: FloatArray, shape: readonly number[], opts: TensorOptions): Tensor {
  const b = activeBackend();
  const dtype = opts.dtype ?? 'float32';
  if (!b.dtypes.includes(dtype))
    throw new Error(`tensor: backend '${b.name}' does not support ${dtype}; use setBackend('js')`);
  const t = new Tensor(b.fromArray(arr), shape, dtype, b.name);
  t.requiresGrad = opts.requiresGrad ?? false;
  return t;
}

/**
 * A typed array for a tensor of `shape`, after checking the shape: its dimensions must be non-negative integers.
 * A failed allocation becomes an error naming the op and the size (V8 would otherwise report only "Array buffer
 * allocation failed").
 */
function newArray(op: string, shape: readonly number[], dtype: DType): FloatArray {
  if (!Array.isArray(shape) || shape.some((d) => !Number.isInteger(d) || d < 0))
    throw new Error(`${op}: shape ${fmtShape(shape ?? [])} must be a list of non-negative integers`);
  const size = sizeOf(shape);
  try {
    return allocArray(size, dtype);
  } catch (e) {
    const gib = (size * (dtype === 'float64' ? 8 : 4)) / 2 ** 30;
    throw new Error(
      `${op}: cannot allocate shape ${fmtShape(shape)} (${size} ${dtype} values, ${gib.toFixed(2)} GiB): ${(e as Error).message}`,
    );
  }
}

/**
 * Creates a tensor. `data` is a flat array (with `shape`), a typed array, a nested array, or a number; a shape of
 * `[]` makes a 0-d scalar tensor. float32 unless `dtype: 'float64'`.
 */
export function tensor(data: Nested | ArrayLike<number>, shape?: readonly number[], opts: TensorOptions = {}): Tensor {
  let flat: ArrayLike<number>;
  let inferred: number[] = [];
  if (typeof data === 'number') flat = [data];
  else if (ArrayBuffer.isView(data) || !Array.isArray(data) || data.every((v) => typeof v === 'number')) {
    flat = data as ArrayLike<number>;
    inferred = [flat.length];
  } else {
    const out: number[] = [];
    flattenNested(data as Nested, inferred, out, 0);
    flat = out;
  }
  const finalShape = shape ? [...shape] : inferred;
  if (finalShape.some((d) => !Number.isInteger(d) || d < 0))
    throw new Error(`tensor: shape ${fmtShape(finalShape)} must be a list of non-negative integers`);
  if (sizeOf(finalShape) !== flat.length) {
    throw new Error(
      `tensor: ${flat.length} values do not fill shape ${fmtShape(finalShape)} (${sizeOf(finalShape)} elements)`,
    );
  }
  return fromValues(flat, finalShape, opts);
}

/** A tensor filled with `value`. */
export function full(shape: readonly number[], value: number, opts: TensorOptions = {}): Tensor {
  return fromFilled(newArray('full', shape, opts.dtype ?? 'float32').fill(value), shape, opts);
}

/** A tensor of zeros. */
export function zeros(shape: readonly number[], opts: TensorOptions = {}): Tensor {
  return fromFilled(newArray('zeros', shape, opts.dtype ?? 'float32'), shape, opts);
}

/** A tensor of ones. */
export function ones(shape: readonly number[], opts: TensorOptions = {}): Tensor {
  return fromFilled(newArray('ones', shape, opts.dtype ?? 'float32').fill(1), shape, opts);
}

/** Standard-normal samples from `generator` (the default generator if omitted). */
export function randn(shape: readonly number[], opts: TensorOptions & { generator?: Generator } = {}): Tensor {
  const g = opts.generator ?? defaultGenerator;
  // Drawn straight into the typed array: a plain JS array of that many numbers could exhaust V8's heap, which
  // aborts the process instead of throwing.
  const arr = newArray('randn', shape, opts.dtype ?? 'float32');
  for (let i = 0; i < arr.length; i++) arr[i] = g.normal();
  return fromFilled(arr, shape, opts);
}

/** Uniform samples in [lo, hi). */
export function rand(
  shape: readonly number[],
  lo = 0,
  hi = 1,
  opts: TensorOptions & { generator?: Generator } = {},
): Tensor {
  if (!(Number.isFinite(lo) && Number.isFinite(hi) && lo <= hi))
    throw new Error(`rand: the bounds must be finite with lo ≤ hi, got [${lo}, ${hi})`);
  const g = opts.generator ?? defaultGenerator;
  const arr = newArray('rand', shape, opts.dtype ?? 'float32');
  for (let i = 0; i < arr.length; i++) arr[i] = g.uniform(lo, hi);
  return fromFilled(arr, shape, opts);
}

/** The identity matrix (n, n). */
export function eye(n: number, opts: TensorOptions = {}): Tensor {
  const arr = newArray('eye', [n, n], opts.dtype ?? 'float32');
  for (let i = 0; i < n; i++) arr[i * n + i] = 1;
  return fromFilled(arr, [n, n], opts);
}

/** 0, 1, …, n−1. */
export function arange(n: number, opts: TensorOptions = {}): Tensor {
  const arr = newArray('arange', [n], opts.dtype ?? 'float32');
  for (let i = 0; i < n; i++) arr[i] = i;
  return fromFilled(arr, [n], opts);
}
