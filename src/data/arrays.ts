// Datasets from plain arrays (what .npy files hold): images (N, C, H, W), (N, H, W, C) or (N, H, W), and either
// integer class labels (N) or real regression targets (N) / (N, k).
import { ImageDataset, RegressionDataset } from './dataset.js';

/** An array's shape and values, e.g. an `NpyArray` from `parseNpy`. */
export interface ShapedArray {
  shape: readonly number[];
  data: ArrayLike<number>;
  /** The element type ('uint8' images are scaled to [0, 1]). */
  dtype?: string;
}

/** How `arrayDataset` reads its arrays. */
export interface ArrayDatasetOptions {
  /** Where the channels sit in rank-4 images: 'nchw' (PyTorch's order, the default) or 'nhwc'. */
  layout?: 'nchw' | 'nhwc';
  /** Multiplies every pixel; default 1/255 for uint8 images (as torchvision's ToTensor), 1 otherwise. */
  scale?: number;
  /** The two arrays' names (file names), used in errors. */
  names?: [string, string];
}

/** Images as (C, H, W) and their values in NCHW order, from a rank-3 or rank-4 array. */
function imagesOf(x: ShapedArray, opts: ArrayDatasetOptions, name: string) {
  const s = x.shape;
  if (s.length !== 3 && s.length !== 4)
    throw new Error(
      `${name}: images must have shape (N, C, H, W), (N, H, W, C) with layout 'nhwc', or (N, H, W); got (${s.join(', ')})`,
    );
  const nhwc = s.length === 4 && opts.layout === 'nhwc';
  const [n, c, h, w] = s.length === 3 ? [s[0], 1, s[1], s[2]] : nhwc ? [s[0], s[3], s[1], s[2]] : s;
  const scale = opts.scale ?? (x.dtype === 'uint8' ? 1 / 255 : 1);
  const images = new Float32Array(n * c * h * w);
  const src = x.data;
  if (nhwc) {
    for (let i = 0, o = 0; i < n; i++)
      for (let ch = 0; ch < c; ch++)
        for (let p = 0; p < h * w; p++, o++) images[o] = src[(i * h * w + p) * c + ch] * scale;
  } else {
    for (let i = 0; i < images.length; i++) images[i] = src[i] * scale;
  }
  const bad = images.findIndex((v) => !Number.isFinite(v));
  if (bad >= 0) throw new Error(`${name}: value ${images[bad]} at index ${bad} is not a finite number`);
  return { n, imageShape: [c, h, w] as [number, number, number], images };
}

/**
 * A classification dataset from an image array and a label array (N) of integers 0…k−1; `numClasses` defaults
 * to the largest label + 1.
 */
export function arrayDataset(
  x: ShapedArray,
  y: ShapedArray,
  opts: ArrayDatasetOptions & { numClasses?: number } = {},
): ImageDataset {
  const [xName, yName] = opts.names ?? ['images', 'labels'];
  const { n, imageShape, images } = imagesOf(x, opts, xName);
  if (y.shape.length !== 1 || y.shape[0] !== n)
    throw new Error(
      `${yName}: labels must have shape (${n}) to match ${xName}, got (${y.shape.join(', ')})${y.shape.length === 2 ? ' (for real-valued targets use the regress task)' : ''}`,
    );
  const labels = new Int32Array(n);
  let top = -1;
  for (let i = 0; i < n; i++) {
    const v = y.data[i];
    if (!(Number.isInteger(v) && v >= 0 && v < 2 ** 31))
      throw new Error(
        `${yName}: label ${v} at index ${i} is not a non-negative integer (for real-valued targets use the regress task)`,
      );
    labels[i] = v;
    top = Math.max(top, v);
  }
  return new ImageDataset(images, labels, imageShape, opts.numClasses ?? top + 1);
}

/** A regression dataset from an image array and a target array (N) or (N, k) of real numbers. */
export function arrayRegressionDataset(
  x: ShapedArray,
  y: ShapedArray,
  opts: ArrayDatasetOptions = {},
): RegressionDataset {
  const [xName, yName] = opts.names ?? ['images', 'targets'];
  const { n, imageShape, images } = imagesOf(x, opts, xName);
  if (!((y.shape.length === 1 || y.shape.length === 2) && y.shape[0] === n))
    throw new Error(
      `${yName}: targets must have shape (${n}) or (${n}, k) to match ${xName}, got (${y.shape.join(', ')})`,
    );
  const k = y.shape.length === 2 ? y.shape[1] : 1;
  const targets = Float32Array.from(y.data);
  const bad = targets.findIndex((v) => !Number.isFinite(v));
  if (bad >= 0) throw new Error(`${yName}: target ${y.data[bad]} at index ${bad} is not a finite number`);
  return new RegressionDataset(images, targets, imageShape, k);
}
