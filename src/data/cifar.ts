// CIFAR-10 binary batches: records of 1 label byte and 3·32·32 pixel bytes (channel-major: R plane, G, B).
import { ImageDataset } from './dataset.js';

const RECORD = 1 + 3 * 32 * 32;

/** Parses one or more CIFAR-10 binary batch files; each `name` appears in the errors about its bytes. */
export function cifar10Dataset(files: { bytes: Uint8Array; name: string }[]): ImageDataset {
  let total = 0;
  for (const { bytes, name } of files) {
    if (bytes.length === 0 || bytes.length % RECORD !== 0) {
      throw new Error(
        `${name}: ${bytes.length} bytes is not a whole number of CIFAR-10 records (${RECORD} bytes each)${bytes.length % RECORD ? `; the last record is truncated after ${bytes.length % RECORD} bytes` : ''}`,
      );
    }
    total += bytes.length / RECORD;
  }
  const images = new Float32Array(total * (RECORD - 1));
  const labels = new Int32Array(total);
  let n = 0;
  for (const { bytes, name } of files) {
    for (let r = 0; r < bytes.length / RECORD; r++, n++) {
      const label = bytes[r * RECORD];
      if (label > 9)
        throw new Error(`${name}: record ${r} has label ${label}, outside 0…9 (is this a CIFAR-100 file?)`);
      labels[n] = label;
      const base = r * RECORD + 1;
      for (let i = 0; i < RECORD - 1; i++) images[n * (RECORD - 1) + i] = bytes[base + i] / 255;
    }
  }
  return new ImageDataset(images, labels, [3, 32, 32], 10);
}

/** The ten CIFAR-10 class names, by label. */
export const CIFAR10_CLASSES = [
  'airplane',
  'automobile',
  'bird',
  'cat',
  'deer',
  'dog',
  'frog',
  'horse',
  'ship',
  'truck',
];
