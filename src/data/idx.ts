// The IDX format of MNIST and Fashion-MNIST: magic 0x0000, a type byte, a rank byte, big-endian u32 dimensions,
// then the values in big-endian order.
import { ImageDataset } from './dataset.js';

/** An array read from an IDX file: its shape and typed data. */
export interface IdxArray {
  shape: number[];
  data: Uint8Array | Int8Array | Int16Array | Int32Array | Float32Array | Float64Array;
}

const TYPES: Record<number, { name: string; bytes: number }> = {
  0x08: { name: 'uint8', bytes: 1 },
  0x09: { name: 'int8', bytes: 1 },
  0x0b: { name: 'int16', bytes: 2 },
  0x0c: { name: 'int32', bytes: 4 },
  0x0d: { name: 'float32', bytes: 4 },
  0x0e: { name: 'float64', bytes: 8 },
};

/** Parses IDX bytes; `name` (a file name) appears in every error. */
export function parseIdx(bytes: Uint8Array, name = 'IDX data'): IdxArray {
  if (bytes.length < 4) throw new Error(`${name}: ${bytes.length} bytes is too short for an IDX header (4 bytes)`);
  if (bytes[0] !== 0 || bytes[1] !== 0) {
    throw new Error(
      `${name}: not an IDX file (magic bytes ${bytes[0]}, ${bytes[1]}; expected 0, 0)${bytes[0] === 0x1f && bytes[1] === 0x8b ? ' — it is gzip-compressed; gunzip it first' : ''}`,
    );
  }
  const type = TYPES[bytes[2]];
  if (!type) throw new Error(`${name}: unknown IDX element type 0x${bytes[2].toString(16)}`);
  const rank = bytes[3];
  const headerSize = 4 + 4 * rank;
  if (bytes.length < headerSize)
    throw new Error(`${name}: truncated header (rank ${rank} needs ${headerSize} bytes, file has ${bytes.length})`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const shape = Array.from({ length: rank }, (_, i) => view.getUint32(4 + 4 * i, false));
  const count = shape.reduce((a, b) => a * b, 1);
  const expected = headerSize + count * type.bytes;
  if (bytes.length < expected) {
    throw new Error(
      `${name}: truncated: shape (${shape.join(', ')}) of ${type.name} needs ${expected} bytes, file has ${bytes.length}`,
    );
  }
  if (bytes.length > expected)
    throw new Error(
      `${name}: ${bytes.length - expected} unexpected bytes after the data of shape (${shape.join(', ')})`,
    );
  let data: IdxArray['data'];
  switch (type.name) {
    case 'uint8':
      data = bytes.slice(headerSize, expected);
      break;
    case 'int8':
      data = new Int8Array(bytes.slice(headerSize, expected).buffer);
      break;
    default: {
      const Ctor = { int16: Int16Array, int32: Int32Array, float32: Float32Array, float64: Float64Array }[
        type.name as 'int16'
      ];
      const arr = new Ctor(count);
      const read = { int16: 'getInt16', int32: 'getInt32', float32: 'getFloat32', float64: 'getFloat64' }[
        type.name as 'int16'
      ] as 'getInt16';
      for (let i = 0; i < count; i++) arr[i] = view[read](headerSize + i * type.bytes, false);
      data = arr;
    }
  }
  return { shape, data };
}

/** An image dataset from IDX images (n, H, W) of uint8 (scaled to [0, 1]) and IDX labels (n). */
export function idxDataset(
  images: Uint8Array,
  labels: Uint8Array,
  names: [string, string] = ['images', 'labels'],
  numClasses = 10,
): ImageDataset {
  const img = parseIdx(images, names[0]);
  const lab = parseIdx(labels, names[1]);
  if (img.shape.length !== 3)
    throw new Error(`${names[0]}: expected images of rank 3 (n, H, W), got shape (${img.shape.join(', ')})`);
  if (lab.shape.length !== 1)
    throw new Error(`${names[1]}: expected labels of rank 1 (n), got shape (${lab.shape.join(', ')})`);
  if (img.shape[0] !== lab.shape[0])
    throw new Error(`${names[0]} has ${img.shape[0]} images but ${names[1]} has ${lab.shape[0]} labels`);
  const scale = img.data instanceof Uint8Array ? 1 / 255 : 1;
  const pixels = Float32Array.from(img.data, (v) => v * scale);
  const labelArr = new Int32Array(lab.data.length);
  for (let i = 0; i < lab.data.length; i++) {
    const v = lab.data[i];
    if (!(Number.isInteger(v) && v >= 0 && v <= 0x7fffffff))
      throw new Error(`${names[1]}: label ${v} at index ${i} is not a non-negative integer`);
    labelArr[i] = v;
  }
  for (let i = 0; i < labelArr.length; i++) {
    if (labelArr[i] < 0 || labelArr[i] >= numClasses)
      throw new Error(`${names[1]}: label ${labelArr[i]} at index ${i} is outside [0, ${numClasses})`);
  }
  return new ImageDataset(pixels, labelArr, [1, img.shape[1], img.shape[2]], numClasses);
}
