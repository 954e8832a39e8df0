// PyTorch's own file format, as torch.save writes it (PyTorch ≥ 1.6): a zip archive whose `<name>/data.pkl` pickles
// the saved object, with each tensor's storage pickled as a persistent id ('storage', torch.FloatStorage, key, device,
// numel) whose raw little-endian bytes are the archive's `<name>/data/<key>`. Tensors are views of storages (an
// offset, a shape and strides), so several may share one. Only state dicts are read: the unpickler reaches the few
// functions that rebuild tensors and nothing else, so a whole pickled module or any other code is refused.
import { readZip } from '../data/zip.js';
import { fmtShape, sizeOf } from '../backend/shape_info.js';
import { unpickle } from './pickle.js';

/** One tensor of a PyTorch file, in C order: float types as float32 (float64 as is), integer types as float64. */
export interface TorchTensor {
  /** PyTorch's dtype name ('float32', 'int64', …). */
  dtype: string;
  shape: number[];
  data: Float32Array | Float64Array;
}

/** Each storage class's dtype, bytes per value and reader (little-endian, from a DataView). */
const STORAGES: Record<string, { dtype: string; width: number; read: (dv: DataView, at: number) => number }> = {
  FloatStorage: { dtype: 'float32', width: 4, read: (dv, at) => dv.getFloat32(at, true) },
  DoubleStorage: { dtype: 'float64', width: 8, read: (dv, at) => dv.getFloat64(at, true) },
  HalfStorage: { dtype: 'float16', width: 2, read: (dv, at) => halfToFloat(dv.getUint16(at, true)) },
  BFloat16Storage: { dtype: 'bfloat16', width: 2, read: (dv, at) => bfloat16ToFloat(dv.getUint16(at, true)) },
  LongStorage: { dtype: 'int64', width: 8, read: (dv, at) => Number(dv.getBigInt64(at, true)) },
  IntStorage: { dtype: 'int32', width: 4, read: (dv, at) => dv.getInt32(at, true) },
  ShortStorage: { dtype: 'int16', width: 2, read: (dv, at) => dv.getInt16(at, true) },
  CharStorage: { dtype: 'int8', width: 1, read: (dv, at) => dv.getInt8(at) },
  ByteStorage: { dtype: 'uint8', width: 1, read: (dv, at) => dv.getUint8(at) },
  BoolStorage: { dtype: 'bool', width: 1, read: (dv, at) => +(dv.getUint8(at) !== 0) },
};

const FLOAT_DTYPES = new Set(['float32', 'float16', 'bfloat16']);

function halfToFloat(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >> 10) & 0x1f;
  const frac = h & 0x3ff;
  if (exp === 0) return sign * frac * 2 ** -24;
  if (exp === 31) return frac ? Number.NaN : sign * Number.POSITIVE_INFINITY;
  return sign * (1 + frac / 1024) * 2 ** (exp - 15);
}

const bf16 = new Float32Array(1);
const bf16Bits = new Uint32Array(bf16.buffer);

function bfloat16ToFloat(b: number): number {
  bf16Bits[0] = b << 16;
  return bf16[0];
}

/** A storage class named by the pickle (torch.FloatStorage …). */
class StorageType {
  constructor(readonly name: string) {}
}

/** A storage's values, read once however many tensors view it. */
interface Storage {
  key: string;
  dtype: string;
  values: Float32Array | Float64Array;
}

/** A rebuilt tensor inside the unpickled object (only these end up in the state dict). */
class Rebuilt {
  constructor(readonly tensor: TorchTensor) {}
}

/** Whether `bytes` look like a torch.save file (a zip archive) rather than safetensors. */
export function isTorchSave(bytes: Uint8Array): boolean {
  return bytes.length >= 4 && bytes[0] === 0x50 && bytes[1] === 0x4b && bytes[2] === 0x03 && bytes[3] === 0x04;
}

/** Python's pickle of PyTorch's legacy (pre-1.6) magic number opens an old-format torch.save file. */
function isLegacyTorchSave(bytes: Uint8Array): boolean {
  return bytes[0] === 0x80 && bytes[1] === 0x02 && bytes[2] === 0x8a && bytes[3] === 0x0a && bytes[4] === 0x6c;
}

/**
 * Reads a state dict saved by `torch.save(model.state_dict(), path)` (also one nested as `state_dict`, `model` or
 * `model_state_dict` of a training checkpoint): tensors by name. Every error names `source` and the fault.
 */
export function decodeTorchSave(bytes: Uint8Array, source = 'PyTorch data'): Record<string, TorchTensor> {
  if (isLegacyTorchSave(bytes))
    throw new Error(
      `${source}: this is PyTorch's legacy format (torch.save before 1.6, or _use_new_zipfile_serialization=False); load it in PyTorch and save it again with torch.save`,
    );
  if (!isTorchSave(bytes)) throw new Error(`${source}: not a torch.save file (a zip archive)`);
  const files = readZip(bytes, `${source}: not a readable torch.save (zip) archive`);
  const pkl = Object.keys(files).filter((f) => f.endsWith('/data.pkl') || f === 'data.pkl');
  if (pkl.length !== 1)
    throw new Error(`${source}: a torch.save archive holds one data.pkl, this one ${pkl.length} (${pkl.join(', ')})`);
  const root = pkl[0].slice(0, -'data.pkl'.length);
  const order = files[`${root}byteorder`];
  if (order && new TextDecoder().decode(order).trim() !== 'little')
    throw new Error(`${source}: its tensors are stored big-endian; netdeconv reads little-endian files`);

  const storages = new Map<string, Storage>();
  const storage = (pid: unknown): Storage => {
    if (!Array.isArray(pid) || pid.length !== 5 || pid[0] !== 'storage' || !(pid[1] instanceof StorageType))
      throw new Error(`${source}: a persistent id ${describe(pid)} is not a tensor storage`);
    const [, type, key, , numel] = pid as [string, StorageType, unknown, unknown, unknown];
    if (typeof key !== 'string' || !Number.isSafeInteger(numel) || (numel as number) < 0)
      throw new Error(`${source}: a storage id has key ${describe(key)} and size ${describe(numel)}`);
    const known = storages.get(key);
    if (known) return known;
    const { dtype, width, read } = STORAGES[type.name];
    const raw = files[`${root}data/${key}`];
    if (!raw) throw new Error(`${source}: storage ${key} is missing from the archive (${root}data/${key})`);
    if (raw.length !== (numel as number) * width)
      throw new Error(
        `${source}: storage ${key} holds ${raw.length} bytes, its ${numel} ${dtype} values need ${(numel as number) * width}`,
      );
    const dv = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
    const values = FLOAT_DTYPES.has(dtype) ? new Float32Array(numel as number) : new Float64Array(numel as number);
    for (let i = 0; i < values.length; i++) values[i] = read(dv, i * width);
    if (dtype === 'int64')
      for (let i = 0; i < values.length; i++) {
        if (!Number.isSafeInteger(values[i]))
          throw new Error(`${source}: storage ${key} holds the int64 ${dv.getBigInt64(i * 8, true)}, past 2^53`);
      }
    const s = { key, dtype, values };
    storages.set(key, s);
    return s;
  };

  const rebuildTensor = (s: unknown, offset: unknown, size: unknown, stride: unknown): Rebuilt => {
    if (!(s && typeof s === 'object' && 'values' in s)) throw new Error(`${source}: a tensor without a storage`);
    const st = s as Storage;
    const isDims = (v: unknown): v is number[] =>
      Array.isArray(v) && v.every((d) => Number.isSafeInteger(d) && (d as number) >= 0);
    if (!isDims(size) || !isDims(stride) || size.length !== stride.length || !Number.isSafeInteger(offset))
      throw new Error(
        `${source}: a tensor of storage ${st.key} has size ${describe(size)}, stride ${describe(stride)} and offset ${describe(offset)}`,
      );
    const count = sizeOf(size);
    // A view no larger than its storage can be checked by bounds alone; a larger one repeats elements (stride 0),
    // which no saved weight does, and would let a few bytes of file ask for any amount of memory.
    if (count > st.values.length)
      throw new Error(
        `${source}: a tensor of shape ${fmtShape(size)} has more elements than its storage ${st.key} (${st.values.length}); save it after .contiguous()`,
      );
    const last = (offset as number) + size.reduce((a, d, i) => a + (d - 1) * stride[i], 0);
    if (count > 0 && ((offset as number) < 0 || last >= st.values.length))
      throw new Error(
        `${source}: a tensor of shape ${fmtShape(size)} (offset ${offset}, strides ${fmtShape(stride)}) reaches element ${last} of storage ${st.key}, which holds ${st.values.length}`,
      );
    const data = st.values instanceof Float32Array ? new Float32Array(count) : new Float64Array(count);
    // Walk the tensor in C order, carrying the storage index along each dimension's odometer.
    const index = new Array<number>(size.length).fill(0);
    let at = offset as number;
    for (let i = 0; i < count; i++) {
      data[i] = st.values[at];
      for (let d = size.length - 1; d >= 0; d--) {
        at += stride[d];
        if (++index[d] < size[d]) break;
        at -= stride[d] * size[d];
        index[d] = 0;
      }
    }
    return new Rebuilt({ dtype: st.dtype, shape: [...size], data });
  };

  const GLOBALS = new Map<string, unknown>(
    Object.entries({
      'collections.OrderedDict': () => new Map(),
      'torch._utils._rebuild_tensor': rebuildTensor,
      'torch._utils._rebuild_tensor_v2': rebuildTensor,
      'torch._utils._rebuild_parameter': (t: unknown) => t,
      'torch._utils._rebuild_parameter_with_state': (t: unknown) => t,
      'torch._tensor._rebuild_from_type_v2': (f: unknown, _type: unknown, args: unknown) => {
        if (typeof f !== 'function' || !Array.isArray(args)) throw new Error(`${source}: a malformed tensor rebuild`);
        return f(...args);
      },
      'torch.Tensor': 'torch.Tensor',
      'torch.nn.parameter.Parameter': 'torch.nn.parameter.Parameter',
    }),
  );
  for (const name of Object.keys(STORAGES)) GLOBALS.set(`torch.${name}`, new StorageType(name));

  const saved = unpickle(
    files[pkl[0]],
    {
      global(module, name) {
        const full = `${module}.${name}`;
        if (GLOBALS.has(full)) return GLOBALS.get(full);
        throw new Error(
          `${source}: it pickles ${full}, which a state dict of tensors never needs; netdeconv reads state dicts only (save one with torch.save(model.state_dict(), path))`,
        );
      },
      persistentLoad: storage,
    },
    `${source}: ${pkl[0]}`,
  );
  return stateDictOf(saved, source);
}

/** The state dict in what was saved: the object itself, or a state dict nested under a checkpoint's usual key. */
function stateDictOf(saved: unknown, source: string): Record<string, TorchTensor> {
  if (saved instanceof Rebuilt)
    throw new Error(`${source}: it holds one tensor of shape ${fmtShape(saved.tensor.shape)}, not a state dict`);
  if (!(saved instanceof Map)) throw new Error(`${source}: it holds ${describe(saved)}, not a state dict`);
  const allTensors = (m: Map<unknown, unknown>) =>
    [...m].every(([k, v]) => typeof k === 'string' && v instanceof Rebuilt);
  let dict: Map<unknown, unknown> | undefined = allTensors(saved) ? saved : undefined;
  for (const key of ['state_dict', 'model_state_dict', 'model']) {
    const nested = saved.get(key);
    if (!dict && nested instanceof Map && allTensors(nested)) dict = nested;
  }
  if (!dict) {
    const keys = [...saved.keys()].map(String).slice(0, 8);
    throw new Error(
      `${source}: not a state dict of tensors (its keys: ${keys.join(', ')}${saved.size > 8 ? ', …' : ''}), nor one holding a state dict under 'state_dict', 'model_state_dict' or 'model'`,
    );
  }
  const out: Record<string, TorchTensor> = Object.create(null);
  for (const [k, v] of dict) {
    if (k === '__proto__') throw new Error(`${source}: a tensor may not be named '__proto__'`);
    out[k as string] = (v as Rebuilt).tensor;
  }
  return out;
}

/** A short description of a pickled value, for errors. */
function describe(v: unknown): string {
  if (v instanceof Map) return `a dict of ${v.size} entries`;
  if (Array.isArray(v)) return `a ${v.length}-tuple`;
  if (v instanceof Rebuilt) return 'a tensor';
  if (typeof v === 'string') return JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}…` : v);
  return String(v);
}
