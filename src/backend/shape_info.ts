// Shape arithmetic shared by the ops (which validate) and by every backend (which trust it).
// One place computes output sizes, strides and paddings, as tfjs-core's computeConv2DInfo does.

/** Number of elements of a shape. */
export function sizeOf(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

/** Row-major (C order) strides of a shape. */
export function stridesOf(shape: readonly number[]): number[] {
  const strides = new Array<number>(shape.length);
  let s = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    strides[i] = s;
    s *= shape[i];
  }
  return strides;
}

/** `[2,3]` formatted as `(2, 3)` for error messages. */
export function fmtShape(shape: readonly number[]): string {
  return `(${shape.join(', ')})`;
}

/** NumPy/PyTorch broadcasting: align at the right, a size-1 dimension stretches. Throws naming both shapes. */
export function broadcastShapes(op: string, a: readonly number[], b: readonly number[]): number[] {
  const rank = Math.max(a.length, b.length);
  const out = new Array<number>(rank);
  for (let i = 0; i < rank; i++) {
    const da = a[a.length - rank + i] ?? 1;
    const db = b[b.length - rank + i] ?? 1;
    if (da !== db && da !== 1 && db !== 1) {
      throw new Error(
        `${op}: shapes ${fmtShape(a)} and ${fmtShape(b)} do not broadcast (dimension ${i - rank}: ${da} vs ${db})`,
      );
    }
    out[i] = da === 1 ? db : da;
  }
  return out;
}

/** Normalises a possibly negative axis against a rank, or throws naming the op. */
export function normAxis(op: string, axis: number, rank: number): number {
  if (!Number.isInteger(axis) || axis < -Math.max(rank, 1) || axis >= Math.max(rank, 1)) {
    throw new Error(`${op}: dim ${axis} is out of range for a tensor of rank ${rank}`);
  }
  return axis < 0 ? axis + rank : axis;
}

/** `number | [h, w]` → `[h, w]`. */
export type Pair = number | readonly [number, number];
export function pair(v: Pair): [number, number] {
  return typeof v === 'number' ? [v, v] : [v[0], v[1]];
}

/** Everything a conv2d kernel (forward and both backward passes) needs. NCHW input, (Cout, C/groups, kh, kw) weight. */
export interface Conv2dInfo {
  batch: number;
  inChannels: number;
  inHeight: number;
  inWidth: number;
  outChannels: number;
  outHeight: number;
  outWidth: number;
  kernelH: number;
  kernelW: number;
  strideH: number;
  strideW: number;
  padH: number;
  padW: number;
  dilationH: number;
  dilationW: number;
  groups: number;
}

export interface Conv2dOptions {
  stride?: Pair;
  padding?: Pair;
  dilation?: Pair;
  groups?: number;
}

function positiveInts(op: string, name: string, v: [number, number], min: number): void {
  for (const x of v) {
    if (!Number.isInteger(x) || x < min)
      throw new Error(`${op}: ${name} must be integers ≥ ${min}, got [${v.join(', ')}]`);
  }
}

/** Validates a conv2d call and computes its output size: Ho = floor((H + 2ph − dh(kh−1) − 1)/sh) + 1. */
export function conv2dInfo(
  op: string,
  xShape: readonly number[],
  wShape: readonly number[],
  opts: Conv2dOptions = {},
): Conv2dInfo {
  if (xShape.length !== 4) throw new Error(`${op}: input must be 4-D (N, C, H, W), got ${fmtShape(xShape)}`);
  if (wShape.length !== 4)
    throw new Error(`${op}: weight must be 4-D (Cout, C/groups, kh, kw), got ${fmtShape(wShape)}`);
  const [strideH, strideW] = pair(opts.stride ?? 1);
  const [padH, padW] = pair(opts.padding ?? 0);
  const [dilationH, dilationW] = pair(opts.dilation ?? 1);
  const groups = opts.groups ?? 1;
  positiveInts(op, 'stride', [strideH, strideW], 1);
  positiveInts(op, 'padding', [padH, padW], 0);
  positiveInts(op, 'dilation', [dilationH, dilationW], 1);
  if (!Number.isInteger(groups) || groups < 1)
    throw new Error(`${op}: groups must be a positive integer, got ${groups}`);
  const [batch, inChannels, inHeight, inWidth] = xShape;
  const [outChannels, cPerGroup, kernelH, kernelW] = wShape;
  if (inChannels % groups !== 0 || outChannels % groups !== 0) {
    throw new Error(
      `${op}: in channels ${inChannels} and out channels ${outChannels} must both be divisible by groups ${groups}`,
    );
  }
  if (cPerGroup !== inChannels / groups) {
    throw new Error(
      `${op}: weight ${fmtShape(wShape)} expects ${cPerGroup * groups} input channels (C/groups = ${cPerGroup}, groups = ${groups}), but input ${fmtShape(xShape)} has ${inChannels}`,
    );
  }
  const outHeight = Math.floor((inHeight + 2 * padH - dilationH * (kernelH - 1) - 1) / strideH) + 1;
  const outWidth = Math.floor((inWidth + 2 * padW - dilationW * (kernelW - 1) - 1) / strideW) + 1;
  if (outHeight < 1 || outWidth < 1) {
    throw new Error(
      `${op}: kernel ${kernelH}x${kernelW} (dilation ${dilationH}x${dilationW}) does not fit input ${inHeight}x${inWidth} with padding ${padH}x${padW}`,
    );
  }
  return {
    batch,
    inChannels,
    inHeight,
    inWidth,
    outChannels,
    outHeight,
    outWidth,
    kernelH,
    kernelW,
    strideH,
    strideW,
    padH,
    padW,
    dilationH,
    dilationW,
    groups,
  };
}

/** Everything a 2-D pooling kernel needs. */
export interface Pool2dInfo {
  batch: number;
  channels: number;
  inHeight: number;
  inWidth: number;
  outHeight: number;
  outWidth: number;
  kernelH: number;
  kernelW: number;
  strideH: number;
  strideW: number;
  padH: number;
  padW: number;
  /** avg pooling: divide by kh·kw even where the window overlaps padding (PyTorch's default). */
  countIncludePad: boolean;
}

export interface Pool2dOptions {
  /** Defaults to the kernel size, as in PyTorch. */
  stride?: Pair | null;
  padding?: Pair;
  countIncludePad?: boolean;
}

/** Validates a pooling call: Ho = floor((H + 2ph − kh)/sh) + 1, and PyTorch's rule ph ≤ kh/2. */
export function pool2dInfo(
  op: string,
  xShape: readonly number[],
  kernelSize: Pair,
  opts: Pool2dOptions = {},
): Pool2dInfo {
  if (xShape.length !== 4) throw new Error(`${op}: input must be 4-D (N, C, H, W), got ${fmtShape(xShape)}`);
  const [kernelH, kernelW] = pair(kernelSize);
  const [strideH, strideW] = pair(opts.stride ?? kernelSize);
  const [padH, padW] = pair(opts.padding ?? 0);
  positiveInts(op, 'kernel size', [kernelH, kernelW], 1);
  positiveInts(op, 'stride', [strideH, strideW], 1);
  positiveInts(op, 'padding', [padH, padW], 0);
  if (padH > kernelH / 2 || padW > kernelW / 2) {
    throw new Error(`${op}: padding ${padH}x${padW} must be at most half the kernel size ${kernelH}x${kernelW}`);
  }
  const [batch, channels, inHeight, inWidth] = xShape;
  const outHeight = Math.floor((inHeight + 2 * padH - kernelH) / strideH) + 1;
  const outWidth = Math.floor((inWidth + 2 * padW - kernelW) / strideW) + 1;
  if (outHeight < 1 || outWidth < 1) {
    throw new Error(
      `${op}: kernel ${kernelH}x${kernelW} does not fit input ${inHeight}x${inWidth} with padding ${padH}x${padW}`,
    );
  }
  return {
    batch,
    channels,
    inHeight,
    inWidth,
    outHeight,
    outWidth,
    kernelH,
    kernelW,
    strideH,
    strideW,
    padH,
    padW,
    countIncludePad: opts.countIncludePad ?? true,
  };
}

/** A^(−1/2) needs ‖A‖_F > 0 and finite: a clear error instead of NaNs from dividing by it. */
export function checkNewtonSchulzNorm(norm: number, b: number): void {
  if (!(norm > 0 && Number.isFinite(norm))) {
    throw new Error(
      `newtonSchulz: matrix ${b} has Frobenius norm ${norm}; its inverse square root needs a nonzero, finite matrix`,
    );
  }
}

/**
 * Where newtonSchulz keeps its iterates for the backward pass (offsets in elements): for matrix b and step i < nIter,
 * Y_i, Z_i and T_i, each (d, d); after every matrix's, ‖A_b‖_F for each b.
 */
export class NewtonSchulzLayout {
  readonly size: number;
  private readonly dd: number;
  constructor(
    readonly batch: number,
    readonly d: number,
    readonly nIter: number,
  ) {
    this.dd = d * d;
    this.size = batch * (3 * nIter * this.dd + 1);
  }
  y(b: number, i: number): number {
    return 3 * (b * this.nIter + i) * this.dd;
  }
  z(b: number, i: number): number {
    return this.y(b, i) + this.dd;
  }
  t(b: number, i: number): number {
    return this.y(b, i) + 2 * this.dd;
  }
  norm(b: number): number {
    return 3 * this.batch * this.nIter * this.dd + b;
  }
}
