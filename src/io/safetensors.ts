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

/** How each readable dtype is read: its width in bytes and a little-endian reader. */
const READ = {
  F32: { width: 4, read: (dv: DataView, at: number) => dv.getFloat32(at, true) },
  F64: { width: 8, read: (dv: DataView, at: number) => dv.getFloat64(at, true) },
  I32: { width: 4, read: (dv: DataView, at: number) => dv.getInt32(at, true) },
  I64: { width: 8, read: (dv: DataView, at: number) => Number(dv.getBigInt64(at, true)) },
} as const;

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
  if (header === null || typeof header !== 'object' || Array.isArray(header))
    throw new Error(`${source}: corrupt header (not a JSON object)`);
  const dataStart = 8 + n;
  const dataLength = bytes.length - dataStart;
  // Validate every entry first: integer shapes and offsets, and entries that tile the data section exactly (in
  // offset order, no gap, no overlap, nothing after the last), so a wrong header length or a corrupt offset is
  // an error rather than misaligned, non-finite weights.
  const entries: { name: string; dtype: keyof typeof READ; shape: number[]; off: [number, number] }[] = [];
  for (const [name, info] of Object.entries(header)) {
    if (name === '__metadata__') continue;
    if (name === '__proto__') throw new Error(`${source}: a tensor may not be named '__proto__'`);
    const { dtype, shape, data_offsets: off } = info ?? {};
    if (!['F32', 'F64', 'I64', 'I32', 'F16', 'BF16'].includes(dtype))
      throw new Error(`${source}: '${name}' has unsupported dtype ${dtype}`);
    if (!(dtype in READ)) throw new Error(`${source}: '${name}' is ${dtype}; netdeconv reads F32, F64, I64 and I32`);
    if (!Array.isArray(shape) || !shape.every((d) => Number.isInteger(d) && d >= 0))
      throw new Error(
        `${source}: '${name}' has shape ${JSON.stringify(shape)}, expected a list of non-negative integers`,
      );
    if (!Array.isArray(off) || off.length !== 2 || !off.every((o) => Number.isInteger(o) && o >= 0))
      throw new Error(
        `${source}: '${name}' has data_offsets ${JSON.stringify(off)}, expected two non-negative integers`,
      );
    const width = READ[dtype as keyof typeof READ].width;
    const count = sizeOf(shape);
    if (off[1] - off[0] !== count * width)
      throw new Error(
        `${source}: '${name}' spans ${off[1] - off[0]} bytes, shape ${fmtShape(shape)} of ${dtype} needs ${count * width}`,
      );
    if (off[1] > dataLength)
      throw new Error(`${source}: truncated: '${name}' ends at byte ${off[1]} of a ${dataLength}-byte data section`);
    entries.push({ name, dtype, shape, off: off as [number, number] });
  }
  entries.sort((a, b) => a.off[0] - b.off[0] || a.off[1] - b.off[1]);
  let end = 0;
  for (const e of entries) {
    if (e.off[0] !== end)
      throw new Error(
        `${source}: '${e.name}' starts at byte ${e.off[0]} of the data section, expected ${end} (tensors must tile it without gaps or overlaps)`,
      );
    end = e.off[1];
  }
  if (end !== dataLength)
    throw new Error(
      `${source}: ${dataLength - end} bytes after the last tensor (a wrong header length, or trailing data)`,
    );
  const meta = header.__metadata__ ?? {};
  if (
    meta === null ||
    typeof meta !== 'object' ||
    Array.isArray(meta) ||
    !Object.values(meta).every((v) => typeof v === 'string')
  )
    throw new Error(`${source}: __metadata__ must be an object of strings`);

  const tensors: DecodedSafetensors['tensors'] = Object.create(null);
  for (const { name, dtype, shape, off } of entries) {
    const { width, read } = READ[dtype];
    const count = sizeOf(shape);
    const base = dataStart + off[0];
    const data = dtype === 'F64' ? new Float64Array(count) : new Float32Array(count);
    for (let i = 0; i < count; i++) data[i] = read(dv, base + i * width);
    tensors[name] = { shape, dtype, data };
  }
  return { tensors, metadata: meta };
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
