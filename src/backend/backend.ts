// The kernel contract. Every heavy computation in netdeconv is one of these kernels; the autograd ops call them
// and every backend implements all of them. The names here are the shared list (tfjs-core's kernel_names.ts).
//
// Storage is opaque to the ops: a backend hands out handles (`S`) and turns them into typed-array views on demand.
// Kernels take handles and plain shape information, never allocate anything the caller cannot see, and return new
// handles. Shapes arrive already validated by the op layer (see shape_info.ts).
import type { DType, FloatArray } from './dtype.js';
import type { Conv2dInfo, Pool2dInfo } from './shape_info.js';

export type UnaryOp = 'neg' | 'exp' | 'log' | 'sqrt' | 'abs' | 'sign' | 'relu' | 'sigmoid' | 'tanh';

/** Broadcasting binary ops. Comparisons return 1 or 0 in the input dtype. */
export type BinaryOp = 'add' | 'sub' | 'mul' | 'div' | 'pow' | 'maximum' | 'minimum' | 'eq' | 'gt' | 'ge';

/** What im2col/col2im need: the conv geometry without the output channels and groups. */
export type Im2colInfo = Omit<Conv2dInfo, 'outChannels' | 'groups'>;

export interface ValuesAndIndices<S> {
  values: S;
  /** For each output element, the flat index into the input that produced it. */
  indices: Int32Array;
}

export interface Kernels<S> {
  /** Elementwise `op(x)`. */
  unary(op: UnaryOp, x: S, size: number, dtype: DType): S;
  /** ReLU's gradient: `x <= 0 ? 0 : dy` (PyTorch's threshold_backward: a NaN x passes dy), in one pass over both. */
  reluBackward(dy: S, x: S, size: number, dtype: DType): S;
  /** `min(max(x, lo), hi)`. */
  clamp(x: S, size: number, lo: number, hi: number, dtype: DType): S;
  /** Elementwise `op(a, b)` with `a` and `b` broadcast to `outShape`. */
  binary(
    op: BinaryOp,
    a: S,
    aShape: readonly number[],
    b: S,
    bShape: readonly number[],
    outShape: readonly number[],
    dtype: DType,
  ): S;
  /** `cond ≠ 0 ? a : b`, all three broadcast to `outShape`. */
  where(
    cond: S,
    cShape: readonly number[],
    a: S,
    aShape: readonly number[],
    b: S,
    bShape: readonly number[],
    outShape: readonly number[],
    dtype: DType,
  ): S;
  /** Sum over `axes` (sorted, unique); the output keeps the reduced axes as size 1. */
  reduceSum(x: S, shape: readonly number[], axes: readonly number[], dtype: DType): S;
  /** Max over `axes`; the first maximum in row-major order wins ties. */
  reduceMax(x: S, shape: readonly number[], axes: readonly number[], dtype: DType): ValuesAndIndices<S>;
  /** `out[indices[i]] += values[i]` into a zero tensor of `outSize` elements (the adjoint of a gather). */
  scatterAdd(values: S, indices: Int32Array, outSize: number, dtype: DType): S;
  /** Copies `x` broadcast to `outShape`. */
  expand(x: S, shape: readonly number[], outShape: readonly number[], dtype: DType): S;
  /** Copies `x` with its axes reordered: output axis i is input axis `perm[i]`. */
  permute(x: S, shape: readonly number[], perm: readonly number[], dtype: DType): S;
  /** The box `begin … begin+size` of `x`. */
  slice(x: S, shape: readonly number[], begin: readonly number[], size: readonly number[], dtype: DType): S;
  /** `x` surrounded by `before[i]`/`after[i]` elements of `value` along each axis. */
  pad(
    x: S,
    shape: readonly number[],
    before: readonly number[],
    after: readonly number[],
    value: number,
    dtype: DType,
  ): S;
  /** Joins tensors along `axis`; all other dimensions agree. */
  concat(xs: readonly S[], shapes: readonly (readonly number[])[], axis: number, dtype: DType): S;
  /** Batched `op(a) @ op(b)`: a is (batch, m, k) or (batch, k, m) if transA; b is (batch, k, n) or (batch, n, k) if transB. */
  matmul(a: S, b: S, batch: number, m: number, k: number, n: number, transA: boolean, transB: boolean, dtype: DType): S;
  /** Cross-correlation, NCHW, grouped, plus `bias` (Cout) on each output channel when given. */
  conv2d(x: S, w: S, bias: S | null, info: Conv2dInfo, dtype: DType): S;
  /** ∂(Σ y∘dy)/∂x of conv2d. */
  conv2dBackwardInput(dy: S, w: S, info: Conv2dInfo, dtype: DType): S;
  /** ∂(Σ y∘dy)/∂w of conv2d. */
  conv2dBackwardFilter(x: S, dy: S, info: Conv2dInfo, dtype: DType): S;
  /** F.unfold: (N, C, H, W) → (N, C·kh·kw, Ho·Wo), row index c·kh·kw + ky·kw + kx; zero padding. */
  im2col(x: S, info: Im2colInfo, dtype: DType): S;
  /** The adjoint of im2col (F.fold): sums patches back into (N, C, H, W). */
  col2im(cols: S, info: Im2colInfo, dtype: DType): S;
  /** Max pooling with −∞ padding: each window's first maximum in row-major order (a NaN wins outright). */
  maxPool2d(x: S, info: Pool2dInfo, dtype: DType): S;
  /** maxPool2d, and for each output the flat index into x of its maximum. */
  maxPool2dWithArgmax(x: S, info: Pool2dInfo, dtype: DType): ValuesAndIndices<S>;
  /** The gradient of maxPool2d: each dy added at its window's maximum in x, found again as maxPool2d finds it. */
  maxPool2dBackward(dy: S, x: S, info: Pool2dInfo, dtype: DType): S;
  /** Fused: maxPool2d(relu(x)), x read through the ReLU, which makes no pass of its own. */
  fusedReluMaxPool2d(x: S, info: Pool2dInfo, dtype: DType): S;
  /** The gradient of fusedReluMaxPool2d: a window's dy goes to its maximum unless that maximum is ≤ 0. */
  fusedReluMaxPool2dBackward(dy: S, x: S, info: Pool2dInfo, dtype: DType): S;
  /** Average pooling forward. */
  avgPool2d(x: S, info: Pool2dInfo, dtype: DType): S;
  /** Average pooling backward: each window's gradient spread evenly over its cells. */
  avgPool2dBackward(dy: S, info: Pool2dInfo, dtype: DType): S;
  /** Per-channel mean and biased variance of x laid out (N, C, L), over N and L. */
  channelMoments(x: S, dims: NclDims, dtype: DType): { mean: S; variance: S };
  /** y = (x − mean[c])·invstd[c]·scale[c] + shift[c] for x (N, C, L); a null scale is 1, a null shift 0. */
  batchNormApply(x: S, mean: S, invstd: S, scale: S | null, shift: S | null, dims: NclDims, dtype: DType): S;
  /**
   * The backward pass of batch normalisation with batch statistics: Σdy and Σdy·x̂ per channel (the gradients of
   * shift and scale) and dx = scale·invstd·(dy − Σdy/M − x̂·Σdy·x̂/M), M = N·L.
   */
  batchNormBackward(dy: S, x: S, mean: S, invstd: S, scale: S | null, dims: NclDims, dtype: DType): BatchNormGrads<S>;
  /** Fused: relu(batchNormApply(…)) in the same pass, as unary('relu') computes it (a NaN propagates). */
  fusedBatchNormReluApply(x: S, mean: S, invstd: S, scale: S | null, shift: S | null, dims: NclDims, dtype: DType): S;
  /** The backward pass of fusedBatchNormReluApply, whose output was `y`: dy is first zeroed where y ≤ 0. */
  fusedBatchNormReluBackward(
    dy: S,
    x: S,
    mean: S,
    invstd: S,
    scale: S | null,
    y: S,
    dims: NclDims,
    dtype: DType,
  ): BatchNormGrads<S>;
  /** Log-softmax of each row of x (rows, cols): x − max − log Σ exp(x − max). */
  logSoftmax(x: S, rows: number, cols: number, dtype: DType): S;
  /** Its backward pass from the output y: dx = g − exp(y)·Σ_row g. */
  logSoftmaxBackward(g: S, y: S, rows: number, cols: number, dtype: DType): S;
  /** C = XᵀX/n + eps·I for each of `batch` matrices X (n, d) (the centred covariance of network deconvolution). */
  covariance(x: S, batch: number, n: number, d: number, eps: number, dtype: DType): S;
  /**
   * A^(−1/2) ≈ Z_N/√‖A‖_F for each of `batch` (d, d) matrices A, by N = `nIter` coupled Newton–Schulz steps from
   * Y₀ = A/‖A‖_F, Z₀ = I: T_i = (3I − Z_i·Y_i)/2, Y_{i+1} = Y_i·T_i, Z_{i+1} = T_i·Z_i. `iterates` holds what the
   * backward pass reads (layout: NewtonSchulzLayout in shape_info.ts).
   */
  newtonSchulz(a: S, batch: number, d: number, nIter: number, dtype: DType): { out: S; iterates: S };
  /** The gradient wrt A of newtonSchulz's `out`, given its gradient g, A, out and the iterates. */
  newtonSchulzBackward(g: S, a: S, out: S, iterates: S, batch: number, d: number, nIter: number, dtype: DType): S;
  /**
   * For a symmetric A: the symmetric part (G_A + G_Aᵀ)/2 of newtonSchulzBackward's result, which is all that reaches
   * a covariance's rows, in about half the work (every product of its chain is symmetric).
   */
  newtonSchulzSymmetricBackward(
    g: S,
    a: S,
    out: S,
    iterates: S,
    batch: number,
    d: number,
    nIter: number,
    dtype: DType,
  ): S;
  /** One SGD step, in place on `p` and the momentum buffer (null without momentum). The only in-place kernels. */
  sgdUpdate(p: S, grad: S, buf: S | null, h: SgdStep, dtype: DType): void;
  /** One Adam/AdamW step, in place on `p`, the moments and (amsgrad) their running maximum. */
  adamUpdate(p: S, grad: S, m: S, v: S, vmax: S | null, h: AdamStep, dtype: DType): void;
}

/** What a batch-normalisation backward pass returns. */
export interface BatchNormGrads<S> {
  dx: S;
  sumDy: S;
  sumDyXhat: S;
}

/** SGD's hyper-parameters for one step; `first`: the momentum buffer starts as the gradient. */
export interface SgdStep {
  lr: number;
  momentum: number;
  dampening: number;
  weightDecay: number;
  nesterov: boolean;
  first: boolean;
}

/** Adam's hyper-parameters for one step (`step` counts from 1); `decoupled`: AdamW's decay. */
export interface AdamStep {
  lr: number;
  beta1: number;
  beta2: number;
  eps: number;
  weightDecay: number;
  decoupled: boolean;
  step: number;
}

/** (N, C, L): a batch of N images of C channels of L values (L = H·W). */
export interface NclDims {
  n: number;
  c: number;
  l: number;
}

/** The list of kernel names, shared by ops, backends and tests. */
export const KERNEL_NAMES = [
  'unary',
  'reluBackward',
  'clamp',
  'binary',
  'where',
  'reduceSum',
  'reduceMax',
  'scatterAdd',
  'expand',
  'permute',
  'slice',
  'pad',
  'concat',
  'matmul',
  'conv2d',
  'conv2dBackwardInput',
  'conv2dBackwardFilter',
  'im2col',
  'col2im',
  'maxPool2d',
  'maxPool2dWithArgmax',
  'maxPool2dBackward',
  'fusedReluMaxPool2d',
  'fusedReluMaxPool2dBackward',
  'avgPool2d',
  'avgPool2dBackward',
  'channelMoments',
  'batchNormApply',
  'batchNormBackward',
  'fusedBatchNormReluApply',
  'fusedBatchNormReluBackward',
  'sgdUpdate',
  'adamUpdate',
  'logSoftmax',
  'logSoftmaxBackward',
  'covariance',
  'newtonSchulz',
  'newtonSchulzBackward',
] as const satisfies readonly (keyof Kernels<unknown>)[];
/** The name of one kernel of the contract. */
export type KernelName = (typeof KERNEL_NAMES)[number];

/** A backend: a storage manager plus every kernel. */
export interface Backend<S = unknown> extends Kernels<S> {
  readonly name: string;
  /** The dtypes this backend can store. */
  readonly dtypes: readonly DType[];
  /** A zero-filled buffer. */
  alloc(size: number, dtype: DType): S;
  /**
   * A buffer holding a copy of `data`. `kept`: outlives scopes and training steps (it replaces the storage of a
   * tensor made earlier, as when a tensor moves between backends).
   */
  fromArray(data: FloatArray, kept?: boolean): S;
  /** A typed-array view of a buffer, valid until the backend next allocates. Writes through it change the buffer. */
  view(s: S, size: number, dtype: DType): FloatArray;
  /** Bytes of WebAssembly memory the backend holds (0 for a backend without any). */
  wasmMemoryBytes(): number;
  /**
   * Lifetimes, for backends whose storage the garbage collector cannot free promptly (wasm; see its lifetimes.ts).
   * Scopes: backward() opens one; closing it frees every storage allocated inside except those in `keep`.
   */
  openScope?(): void;
  /**
   * Closes the innermost scope, freeing what it allocated except `keep` and kept storages; `because` (“when …”) is
   * what a later read of a freed storage reports.
   */
  closeScope?(keep: ReadonlySet<unknown>, because?: string): void;
  /** Closes the innermost scope without freeing (after an error). */
  abandonScope?(): void;
  /** Frees a storage the innermost open scope recorded, at once (it must not be used again); others are left alone. */
  freeNow?(storage: S): void;
  /** Frees a storage at once whichever scope recorded it (it must not be used again): zeroGrad's dropped gradients. */
  dispose?(storage: S): void;
  /** Keeps a storage past scopes and training steps (parameters, buffers, optimizer state, gradients, keep()). */
  keep?(storage: S): void;
  /** An optimizer's zeroGrad(): the previous training step's storages go once the next step has made something. */
  beginStep?(): void;
  /** An optimizer's step() has ended (`first`: its first): the step before this one goes. */
  endStep?(first: boolean): void;
}
