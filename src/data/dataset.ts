// An in-memory image classification dataset (NCHW float32 images, integer labels) with seeded splits,
// per-channel normalisation and shuffled mini-batches.
import { type Tensor, tensor } from '../autograd/tensor.js';
import { Generator as Rng } from '../random.js';

/** One mini-batch: images (N, C, H, W) and their labels. */
export interface Batch {
  /** Images (B, C, H, W). */
  x: Tensor;
  /** Labels (B). */
  y: Int32Array;
}

/** How `batches()` cuts the dataset. */
export interface BatchOptions {
  shuffle?: boolean;
  /** Seed of the shuffle (each call with the same seed gives the same order). */
  seed?: number;
  /** Drop a last batch smaller than batchSize. */
  dropLast?: boolean;
}

/** An in-memory image dataset: NCHW float32 images and integer labels, with seeded splits, per-channel normalisation and shuffled mini-batches. */
export class ImageDataset {
  constructor(
    /** n·C·H·W values, image after image. */
    readonly images: Float32Array,
    readonly labels: Int32Array,
    /** (C, H, W) of one image. */
    readonly imageShape: readonly [number, number, number],
    readonly numClasses: number,
  ) {
    const per = imageShape[0] * imageShape[1] * imageShape[2];
    if (images.length !== labels.length * per) {
      throw new Error(
        `ImageDataset: ${images.length} values do not make ${labels.length} images of (${imageShape.join(', ')})`,
      );
    }
    for (let i = 0; i < labels.length; i++) {
      if (!(labels[i] >= 0 && labels[i] < numClasses))
        throw new Error(`ImageDataset: label ${labels[i]} at index ${i} is outside [0, ${numClasses})`);
    }
  }

  /** Number of images. */
  get length(): number {
    return this.labels.length;
  }

  private get imageSize(): number {
    return this.imageShape[0] * this.imageShape[1] * this.imageShape[2];
  }

  /** The images at `indices`, in that order. */
  subset(indices: ArrayLike<number>): ImageDataset {
    const per = this.imageSize;
    const images = new Float32Array(indices.length * per);
    const labels = new Int32Array(indices.length);
    for (let i = 0; i < indices.length; i++) {
      const j = indices[i];
      if (!(Number.isInteger(j) && j >= 0 && j < this.length))
        throw new Error(`subset: index ${j} at position ${i} is outside the ${this.length} images`);
      images.set(this.images.subarray(j * per, (j + 1) * per), i * per);
      labels[i] = this.labels[j];
    }
    return new ImageDataset(images, labels, this.imageShape, this.numClasses);
  }

  /** A seeded random split into `testSize` test images and the rest for training. */
  split(testSize: number, seed = 0): { train: ImageDataset; test: ImageDataset } {
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
  normalize(mean: readonly number[], std: readonly number[]): ImageDataset {
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
    return new ImageDataset(out, this.labels, this.imageShape, this.numClasses);
  }

  /** Number of batches an epoch yields. */
  numBatches(batchSize: number, dropLast = false): number {
    return dropLast ? Math.floor(this.length / batchSize) : Math.ceil(this.length / batchSize);
  }

  /** Mini-batches as tensors; shuffled with a seeded generator when `shuffle`. */
  *batches(batchSize: number, opts: BatchOptions = {}): Generator<Batch> {
    if (!(Number.isInteger(batchSize) && batchSize > 0))
      throw new Error(`batches: batchSize must be a positive integer, got ${batchSize}`);
    const order = opts.shuffle
      ? new Rng(opts.seed ?? 0).permutation(this.length)
      : Int32Array.from({ length: this.length }, (_, i) => i);
    const count = this.numBatches(batchSize, opts.dropLast);
    const per = this.imageSize;
    for (let b = 0; b < count; b++) {
      const idx = order.subarray(b * batchSize, Math.min((b + 1) * batchSize, this.length));
      const x = new Float32Array(idx.length * per);
      const y = new Int32Array(idx.length);
      for (let i = 0; i < idx.length; i++) {
        x.set(this.images.subarray(idx[i] * per, (idx[i] + 1) * per), i * per);
        y[i] = this.labels[idx[i]];
      }
      yield { x: tensor(x, [idx.length, ...this.imageShape]), y };
    }
  }
}
