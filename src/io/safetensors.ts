// The safetensors format (Hugging Face): an 8-byte little-endian header length, a JSON header naming each tensor's
// dtype, shape and byte range, then the raw little-endian data. PyTorch reads it with safetensors.torch.load_file,
// so a netdeconv state dict — PyTorch's names and layouts — loads straight into the official models.
import type { Tensor } from '../autograd/tensor.js';
import { fmtShape, sizeOf } from '../backend/shape_info.js';

/** One array of a safetensors file. */
export interface NamedArray {
  shape: number[];
  /** F32 for parameters and buffers; I64 for integer counters (PyTorch's num_batches_tracked). */
  dtype: 'F32' | 'F64' | 'I64';
  data: ArrayLike<number>;
}

const BYTES = { F32: 4, F64: 8, I64: 8 } as const;

/** Names whose values PyTorch stores as int64. */
export function isIntegerBuffer(name: string): boolean {
  return name.endsWith('num_batches_tracked');
}

/** Serialises named arrays (and optional string metadata) to safetensors bytes. */
export function encodeSafetensors(tensors: Record<string, NamedArray>, metadata?: Record<string, string>): Uint8Array {
  const header: Record<string, unknown> = {};
  if (metadata) header.__metadata__ = metadata;
  let offset = 0;
  const entries = Object.entries(tensors);
  for (const [name, t] of entries) {
    const size = sizeOf(t.shape);
    if (t.data.length !== size)
      throw new Error(`safetensors: '${name}' has ${t.data.length} values for shape ${fmtShape(t.shape)}`);
    const bytes = size * BYTES[t.dtype];
    header[name] = { dtype: t.dtype, shape: t.shape, data_offsets: [offset, offset + bytes] };
    offset += bytes;
  }
  let json = JSON.stringify(header);
  json += ' '.repeat((8 - ((8 + json.length) % 8)) % 8); // the data section starts 8-byte aligned
  const headerBytes = new TextEncoder().encode(json);
  const out = new Uint8Array(8 + headerBytes.length + offset);
  const dv = new DataView(out.buffer);
  dv.setBigUint64(0, BigInt(headerBytes.length), true);
  out.set(headerBytes, 8);
  let at = 8 + headerBytes.length;
  for (const [, t] of entries) {
    for (let i = 0; i < t.data.length; i++, at += BYTES[t.dtype]) {
      if (t.dtype === 'F32') dv.setFloat32(at, t.data[i], true);
      else if (t.dtype === 'F64') dv.setFloat64(at, t.data[i], true);
      else dv.setBigInt64(at, BigInt(Math.round(t.data[i])), true);
    }
  }
  return out;
}

/** A decoded safetensors file: its arrays by name and its metadata. */
export interface DecodedSafetensors {
  tensors: Record<string, { shape: number[]; dtype: string; data: Float32Array | Float64Array }>;
  metadata: Record<string, string>;
}

/** Parses safetensors bytes; every error names `source` and what is wrong. */
export function decodeSafetensors(bytes: Uint8Array, source = 'safetensors data'): DecodedSafetensors {
  if (bytes.length < 8) throw new Error(`${source}: ${bytes.length} bytes is too short for a safetensors header`);
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const n = Number(dv.getBigUint64(0, true));
  if (n > bytes.length - 8)
    throw new Error(`${source}: truncated: the header claims ${n} bytes, only ${bytes.length - 8} follow`);
  let header: Record<string, any>;
  try {
    header = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(8, 8 + n)));
  } catch (e) {
    throw new Error(`${source}: corrupt header (${(e as Error).message})`);
  }
  const dataStart = 8 + n;
  const dataLength = bytes.length - dataStart;
  const tensors: DecodedSafetensors['tensors'] = {};
  for (const [name, info] of Object.entries(header)) {
    if (name === '__metadata__') continue;
    const { dtype, shape, data_offsets: off } = info ?? {};
    if (!['F32', 'F64', 'I64', 'I32', 'F16', 'BF16'].includes(dtype))
      throw new Error(`${source}: '${name}' has unsupported dtype ${dtype}`);
    if (!['F32', 'F64', 'I64', 'I32'].includes(dtype))
      throw new Error(`${source}: '${name}' is ${dtype}; netdeconv reads F32, F64, I64 and I32`);
    const width = dtype === 'I32' ? 4 : BYTES[dtype as keyof typeof BYTES];
    if (!Array.isArray(shape) || !Array.isArray(off) || off.length !== 2)
      throw new Error(`${source}: '${name}' has a malformed entry`);
    const count = sizeOf(shape);
    if (off[1] - off[0] !== count * width)
      throw new Error(
        `${source}: '${name}' spans ${off[1] - off[0]} bytes, shape ${fmtShape(shape)} of ${dtype} needs ${count * width}`,
      );
    if (off[0] < 0 || off[1] > dataLength)
      throw new Error(`${source}: truncated: '${name}' ends at byte ${off[1]} of a ${dataLength}-byte data section`);
    const base = dataStart + off[0];
    const data = dtype === 'F64' ? new Float64Array(count) : new Float32Array(count);
    for (let i = 0; i < count; i++) {
      const at = base + i * width;
      data[i] =
        dtype === 'F32'
          ? dv.getFloat32(at, true)
          : dtype === 'F64'
            ? dv.getFloat64(at, true)
            : dtype === 'I32'
              ? dv.getInt32(at, true)
              : Number(dv.getBigInt64(at, true));
    }
    tensors[name] = { shape, dtype, data };
  }
  return { tensors, metadata: header.__metadata__ ?? {} };
}

/** A state dict as safetensors arrays: float32 values, int64 counters. */
export function stateDictArrays(state: Record<string, Tensor>, prefix = ''): Record<string, NamedArray> {
  const out: Record<string, NamedArray> = {};
  for (const [name, t] of Object.entries(state)) {
    out[prefix + name] = {
      shape: [...t.shape],
      dtype: isIntegerBuffer(name) ? 'I64' : 'F32',
      data: Float32Array.from(t.data),
    };
  }
  return out;
}
