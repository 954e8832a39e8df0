// NumPy's .npy format: the magic "\x93NUMPY", a version, a header length, a Python-dict header
// ({'descr': '<f4', 'fortran_order': False, 'shape': (N, C, H, W), }) padded with spaces, then the raw values.
// .npz is a zip archive of .npy files (stored or deflated), read here with fflate.
import { readZip } from './zip.js';

/** An array read from a .npy file: its NumPy dtype (e.g. 'float32'), its shape and its values in C order. */
export interface NpyArray {
  dtype: string;
  shape: number[];
  data: Float32Array | Float64Array | Uint8Array | Int8Array | Int16Array | Uint16Array | Int32Array | Uint32Array;
}

/** The dtypes read: NumPy's type code → name, bytes per value, and the typed array that holds them. */
const DTYPES: Record<string, { name: string; bytes: number; make: (n: number) => NpyArray['data'] }> = {
  f4: { name: 'float32', bytes: 4, make: (n) => new Float32Array(n) },
  f8: { name: 'float64', bytes: 8, make: (n) => new Float64Array(n) },
  u1: { name: 'uint8', bytes: 1, make: (n) => new Uint8Array(n) },
  b1: { name: 'bool', bytes: 1, make: (n) => new Uint8Array(n) },
  i1: { name: 'int8', bytes: 1, make: (n) => new Int8Array(n) },
  i2: { name: 'int16', bytes: 2, make: (n) => new Int16Array(n) },
  u2: { name: 'uint16', bytes: 2, make: (n) => new Uint16Array(n) },
  i4: { name: 'int32', bytes: 4, make: (n) => new Int32Array(n) },
  u4: { name: 'uint32', bytes: 4, make: (n) => new Uint32Array(n) },
  // 64-bit integers (NumPy's default for labels) land in float64: exact up to 2^53, checked value by value.
  i8: { name: 'int64', bytes: 8, make: (n) => new Float64Array(n) },
  u8: { name: 'uint64', bytes: 8, make: (n) => new Float64Array(n) },
};

/** Reads one value of type code `code` at byte `at`. */
function reader(view: DataView, code: string, little: boolean): (at: number) => number {
  switch (code) {
    case 'f4':
      return (at) => view.getFloat32(at, little);
    case 'f8':
      return (at) => view.getFloat64(at, little);
    case 'u1':
    case 'b1':
      return (at) => view.getUint8(at);
    case 'i1':
      return (at) => view.getInt8(at);
    case 'i2':
      return (at) => view.getInt16(at, little);
    case 'u2':
      return (at) => view.getUint16(at, little);
    case 'i4':
      return (at) => view.getInt32(at, little);
    case 'u4':
      return (at) => view.getUint32(at, little);
    case 'i8':
      return (at) => Number(view.getBigInt64(at, little));
    default:
      return (at) => Number(view.getBigUint64(at, little));
  }
}

/** The header's value for `key`, as its Python literal text. */
function headerField(header: string, key: string, name: string): string {
  const m = header.match(new RegExp(`['"]${key}['"]\\s*:\\s*('[^']*'|"[^"]*"|True|False|\\([^)]*\\))`));
  if (!m) throw new Error(`${name}: the .npy header has no '${key}' (header: ${header.trim()})`);
  return m[1];
}

/** Parses .npy bytes; `name` (a file name) appears in every error. Fortran-ordered arrays come back in C order. */
export function parseNpy(bytes: Uint8Array, name = 'npy data'): NpyArray {
  const magic = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59];
  if (bytes.length < 10 || magic.some((b, i) => bytes[i] !== b))
    throw new Error(`${name}: not a .npy file (it does not start with \\x93NUMPY)`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const major = bytes[6];
  if (major < 1 || major > 3) throw new Error(`${name}: unknown .npy version ${major}.${bytes[7]}`);
  const lengthBytes = major === 1 ? 2 : 4;
  const headerLength = major === 1 ? view.getUint16(8, true) : view.getUint32(8, true);
  const start = 8 + lengthBytes + headerLength;
  if (bytes.length < start)
    throw new Error(`${name}: truncated header (${headerLength} bytes announced, the file has ${bytes.length})`);
  const header = new TextDecoder().decode(bytes.subarray(8 + lengthBytes, start));

  const descr = headerField(header, 'descr', name).slice(1, -1);
  const code = descr.slice(1);
  const dtype = DTYPES[code];
  if (!dtype || !'<>|='.includes(descr[0]) || descr.length !== 3)
    throw new Error(
      `${name}: dtype '${descr}' is not supported (expected float32/64, (u)int8/16/32/64 or bool; structured and string arrays are not read)`,
    );
  const fortran = headerField(header, 'fortran_order', name) === 'True';
  const shapeText = headerField(header, 'shape', name).slice(1, -1);
  const shape = shapeText
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '')
    .map(Number);
  if (shape.some((d) => !Number.isSafeInteger(d) || d < 0))
    throw new Error(`${name}: shape (${shapeText}) is not a tuple of non-negative integers`);
  const count = shape.reduce((a, b) => a * b, 1);
  const end = start + count * dtype.bytes;
  if (bytes.length !== end) {
    throw new Error(
      `${name}: shape (${shape.join(', ')}) of ${dtype.name} needs ${end - start} data bytes, the file has ${bytes.length - start}`,
    );
  }

  const read = reader(view, code, descr[0] !== '>');
  const data = dtype.make(count);
  // Fortran order: the first index varies fastest on disk; write each value at its C-order position.
  const strides = shape.map((_, i) => shape.slice(i + 1).reduce((a, b) => a * b, 1));
  const index = new Array<number>(shape.length).fill(0);
  for (let i = 0; i < count; i++) {
    let at = i;
    if (fortran) {
      at = 0;
      for (let d = 0; d < shape.length; d++) at += index[d] * strides[d];
      for (let d = 0; d < shape.length && ++index[d] === shape[d]; d++) index[d] = 0;
    }
    const v = read(start + i * dtype.bytes);
    if ((code === 'i8' || code === 'u8') && !Number.isSafeInteger(v))
      throw new Error(`${name}: ${dtype.name} value ${v} at index ${i} does not fit a float64 exactly`);
    data[at] = v;
  }
  return { dtype: dtype.name, shape, data };
}

/** Parses .npz bytes (a zip of .npy files) into its arrays, keyed by name without '.npy' (as `np.load` does). */
export function parseNpz(bytes: Uint8Array, name = 'npz data'): Record<string, NpyArray> {
  const files = readZip(bytes, `${name}: not a readable .npz (zip) archive`);
  const arrays: Record<string, NpyArray> = Object.create(null);
  for (const [file, content] of Object.entries(files)) {
    if (!file.endsWith('.npy')) continue;
    arrays[file.slice(0, -4)] = parseNpy(content, `${name}: ${file}`);
  }
  if (Object.keys(arrays).length === 0) throw new Error(`${name}: the archive holds no .npy arrays`);
  return arrays;
}
