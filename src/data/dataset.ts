// In-memory image datasets (NCHW float32 images) with seeded splits, per-channel normalisation and shuffled
// mini-batches: ImageDataset labels each image with a class, RegressionDataset with a vector of real targets.
import { type Tensor, tensor } from '../autograd/tensor.js';
import { Generator as Rng } from '../random.js';

/** One mini-batch: images (B, C, H, W) and their targets (class labels, or a (B, k) tensor for regression). */
export interface Batch<Y = Int32Array> {
  /** Images (B, C, H, W). */
  x: Tensor;
  /** Labels (B), or regression targets (B, k). */
  y: Y;
}

/** How `batches()` cuts the dataset. */
export interface BatchOptions {
  shuffle?: boolean;
  /** Seed of the shuffle (each call with the same seed gives the same order). */
  seed?: number;
  /** Drop a last batch smaller than batchSize. */
  dropLast?: boolean;
  /** Random training augmentation, drawn from `seed` (the paper's CIFAR recipe: `{ pad: 4, flip: true }`). */
  augment?: Augment;
}

/** Training augmentation: a random crop of the zero-padded image back to its size, and a horizontal flip. */
export interface Augment {
  /** Zero padding on every side before a random crop back to H×W (torchvision's RandomCrop(padding)); 0: none. */
  pad?: number;
  /** Mirror left–right with probability ½ (RandomHorizontalFlip). */
  flip?: boolean;
}

/**
 * Writes image `src` (C, H, W) into `dst`, shifted by (dy, dx) ∈ [−pad, pad]² with zeros where it leaves the frame
 * (a crop of the zero-padded image), mirrored left–right when `flip`.
 */
function augmentInto(
  dst: Float32Array,
  src: Float32Array,
  [C, H, W]: readonly [number, number, number],
  dy: number,
  dx: number,
  flip: boolean,
): void {
  for (let c = 0; c < C; c++) {
    for (let y = 0; y < H; y++) {
      const sy = y + dy;
      const row = (c * H + y) * W;
      if (sy < 0 || sy >= H) {
        dst.fill(0, row, row + W);
        continue;
      }
      for (let x = 0; x < W; x++) {
        const sx = (flip ? W - 1 - x : x) + dx;
        dst[row + x] = sx >= 0 && sx < W ? src[(c * H + sy) * W + sx] : 0;
      }
    }
  }
}

/** A dataset cut in two by `split()`. */
export interface Split<D> {
  train: D;
  test: D;
}

/** What both dataset kinds share: the images and everything that only touches them. */
export abstract class ImageSet<Y> {
  constructor(
    /** n·C·H·W values, image after image. */
    readonly images: Float32Array,
    /** (C, H, W) of one image. */
    readonly imageShape: readonly [number, number, number],
  ) {
    if (!imageShape.every((d) => Number.isInteger(d) && d > 0))
      throw new Error(`${this.constructor.name}: image shape (${imageShape.join(', ')}) must be positive integers`);
  }

  /** Number of images. */
  abstract get length(): number;

  /** A dataset of the same kind holding `images` and the targets at `indices` (all of them, in order, when null). */
  protected abstract make(images: Float32Array, indices: ArrayLike<number> | null): this;

  /** The targets of the images at `indices`, as a batch carries them. */
  protected abstract targetsAt(indices: ArrayLike<number>): Y;

  /** Values per image (C·H·W). */
  protected get imageSize(): number {
    return this.imageShape[0] * this.imageShape[1] * this.imageShape[2];
  }

  /** Throws unless `images` holds exactly `count` images. */
  protected checkCount(count: number): void {
    if (this.images.length !== count * this.imageSize) {
      throw new Error(
        `${this.constructor.name}: ${this.images.length} values do not make ${count} images of (${this.imageShape.join(', ')})`,
      );
    }
  }

  /** The images at `indices`, in that order. */
  subset(indices: ArrayLike<number>): this {
    const per = this.imageSize;
    const images = new Float32Array(indices.length * per);
    for (let i = 0; i < indices.length; i++) {
      const j = indices[i];
      if (!(Number.isInteger(j) && j >= 0 && j < this.length))
        throw new Error(`subset: index ${j} at position ${i} is outside the ${this.length} images`);
      images.set(this.images.subarray(j * per, (j + 1) * per), i * per);
    }
    return this.make(images, indices);
  }

  /** A seeded random split into `testSize` test images and the rest for training. */
  split(testSize: number, seed = 0): Split<this> {
    if (!(Number.isInteger(testSize) && testSize > 0 && testSize < this.length)) {
      throw new Error(`split: testSize must be an integer in (0, ${this.length}), got ${testSize}`);
    }
    const perm = new Rng(seed).permutation(this.length);
    return { test: this.subset(perm.subarray(0, testSize)), train: this.subset(perm.subarray(testSize)) };
  }

  /** Per-channel mean and standard deviation (to normalise with). */
  channelStats(): { mean: number[]; std: number[] } {
    const [C, H, W] = this.imageShape;
    const hw = H * W;
    const mean: number[] = [];
    const std: number[] = [];
    for (let c = 0; c < C; c++) {
      let s = 0;
      let s2 = 0;
      for (let n = 0; n < this.length; n++) {
        const base = (n * C + c) * hw;
        for (let i = 0; i < hw; i++) {
          const v = this.images[base + i];
          s += v;
          s2 += v * v;
        }
      }
      const count = this.length * hw;
      mean.push(s / count);
      std.push(Math.sqrt(Math.max(s2 / count - (s / count) ** 2, 1e-12)));
    }
    return { mean, std };
  }

  /** A copy with each channel mapped to (v − mean[c]) / std[c]. */
  normalize(mean: readonly number[], std: readonly number[]): this {
    const [C, H, W] = this.imageShape;
    if (mean.length !== C || std.length !== C)
      throw new Error(`normalize: need ${C} means and stds, got ${mean.length} and ${std.length}`);
    for (let c = 0; c < C; c++) {
      if (!(Number.isFinite(mean[c]) && Number.isFinite(std[c]) && std[c] > 0))
        throw new Error(
          `normalize: channel ${c} needs a finite mean and a std > 0, got mean ${mean[c]}, std ${std[c]}`,
        );
    }
    const hw = H * W;
    const out = new Float32Array(this.images.length);
    for (let n = 0; n < this.length; n++) {
      for (let c = 0; c < C; c++) {
        const base = (n * C + c) * hw;
        for (let i = 0; i < hw; i++) out[base + i] = (this.images[base + i] - mean[c]) / std[c];
      }
    }
    return this.make(out, null);
  }

  /** A copy with `p` rows and columns of zeros on every side (28×28 digits padded by 2 are 32×32, as LeNet had). */
  pad(p: number): this {
    if (!(Number.isInteger(p) && p >= 0)) throw new Error(`pad: expected an integer ≥ 0, got ${p}`);
    const [C, H, W] = this.imageShape;
    const [Hp, Wp] = [H + 2 * p, W + 2 * p];
    const out = new Float32Array(this.length * C * Hp * Wp);
    for (let plane = 0; plane < this.length * C; plane++)
      for (let y = 0; y < H; y++)
        out.set(this.images.subarray((plane * H + y) * W, (plane * H + y + 1) * W), (plane * Hp + y + p) * Wp + p);
    return this.withShape(out, [C, Hp, Wp]);
  }

  /** A dataset of the same kind and targets holding `images` of a new shape. */
  protected abstract withShape(images: Float32Array, imageShape: readonly [number, number, number]): this;

  /** Number of batches an epoch yields. */
  numBatches(batchSize: number, dropLast = false): number {
    return dropLast ? Math.floor(this.length / batchSize) : Math.ceil(this.length / batchSize);
  }

  /** Mini-batches as tensors; shuffled with a seeded generator when `shuffle`. */
  *batches(batchSize: number, opts: BatchOptions = {}): Generator<Batch<Y>> {
    if (!(Number.isInteger(batchSize) && batchSize > 0))
      throw new Error(`batches: batchSize must be a positive integer, got ${batchSize}`);
    const order = opts.shuffle
      ? new Rng(opts.seed ?? 0).permutation(this.length)
      : Int32Array.from({ length: this.length }, (_, i) => i);
    const count = this.numBatches(batchSize, opts.dropLast);
    const per = this.imageSize;
    const pad = opts.augment?.pad ?? 0;
    const flip = opts.augment?.flip ?? false;
    if (!(Number.isInteger(pad) && pad >= 0))
      throw new Error(`batches: augment.pad must be an integer ≥ 0, got ${pad}`);
    // Its own stream, so augmenting does not change the batch order a seed gives.
    const rng = new Rng(((opts.seed ?? 0) ^ 0x5bd1e995) >>> 0);
    for (let b = 0; b < count; b++) {
      const idx = order.subarray(b * batchSize, Math.min((b + 1) * batchSize, this.length));
      const x = new Float32Array(idx.length * per);
      for (let i = 0; i < idx.length; i++) {
        const image = this.images.subarray(idx[i] * per, (idx[i] + 1) * per);
        if (pad === 0 && !flip) x.set(image, i * per);
        else {
          const dy = pad ? rng.int(2 * pad + 1) - pad : 0;
          const dx = pad ? rng.int(2 * pad + 1) - pad : 0;
          augmentInto(x.subarray(i * per, (i + 1) * per), image, this.imageShape, dy, dx, flip && rng.random() < 0.5);
        }
      }
      yield { x: tensor(x, [idx.length, ...this.imageShape]), y: this.targetsAt(idx) };
    }
  }
}

/** An in-memory image classification dataset: NCHW float32 images and an integer class label per image. */
export class ImageDataset extends ImageSet<Int32Array> {
  constructor(
    images: Float32Array,
    readonly labels: Int32Array,
    imageShape: readonly [number, number, number],
    readonly numClasses: number,
  ) {
    super(images, imageShape);
    this.checkCount(labels.length);
    for (let i = 0; i < labels.length; i++) {
      if (!(labels[i] >= 0 && labels[i] < numClasses))
        throw new Error(`ImageDataset: label ${labels[i]} at index ${i} is outside [0, ${numClasses})`);
    }
  }

  get length(): number {
    return this.labels.length;
  }

  protected make(images: Float32Array, indices: ArrayLike<number> | null): this {
    const labels = indices ? this.targetsAt(indices) : this.labels;
    return new ImageDataset(images, labels, this.imageShape, this.numClasses) as this;
  }

  protected withShape(images: Float32Array, imageShape: readonly [number, number, number]): this {
    return new ImageDataset(images, this.labels, imageShape, this.numClasses) as this;
  }

  protected targetsAt(indices: ArrayLike<number>): Int32Array {
    return Int32Array.from(indices, (j) => this.labels[j]);
  }
}

/**
 * An in-memory image regression dataset: NCHW float32 images and `targetSize` real targets per image (train it
 * with `mseLoss`; batches carry the targets as a (B, targetSize) tensor).
 */
export class RegressionDataset extends ImageSet<Tensor> {
  constructor(
    images: Float32Array,
    /** n·targetSize values, image after image. */
    readonly targets: Float32Array,
    imageShape: readonly [number, number, number],
    readonly targetSize: number,
  ) {
    super(images, imageShape);
    if (!(Number.isInteger(targetSize) && targetSize > 0))
      throw new Error(`RegressionDataset: targetSize must be a positive integer, got ${targetSize}`);
    if (targets.length % targetSize !== 0)
      throw new Error(`RegressionDataset: ${targets.length} targets are not a whole number of rows of ${targetSize}`);
    this.checkCount(targets.length / targetSize);
    const bad = targets.findIndex((v) => !Number.isFinite(v));
    if (bad >= 0)
      throw new Error(
        `RegressionDataset: target ${targets[bad]} of image ${Math.floor(bad / targetSize)} is not a finite number`,
      );
  }

  get length(): number {
    return this.targets.length / this.targetSize;
  }

  protected make(images: Float32Array, indices: ArrayLike<number> | null): this {
    const targets = indices ? this.rowsAt(indices) : this.targets;
    return new RegressionDataset(images, targets, this.imageShape, this.targetSize) as this;
  }

  protected withShape(images: Float32Array, imageShape: readonly [number, number, number]): this {
    return new RegressionDataset(images, this.targets, imageShape, this.targetSize) as this;
  }

  protected targetsAt(indices: ArrayLike<number>): Tensor {
    return tensor(this.rowsAt(indices), [indices.length, this.targetSize]);
  }

  private rowsAt(indices: ArrayLike<number>): Float32Array {
    const k = this.targetSize;
    const out = new Float32Array(indices.length * k);
    for (let i = 0; i < indices.length; i++)
      out.set(this.targets.subarray(indices[i] * k, (indices[i] + 1) * k), i * k);
    return out;
  }
}
