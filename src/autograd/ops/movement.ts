// Shape and data-movement ops. reshape shares storage; the others copy through one kernel. Each backward is the
// op's adjoint: permute ↔ inverse permute, expand ↔ sum, slice ↔ pad, concat ↔ slices.
import { activeBackend } from '../../backend/registry.js';
import { fmtShape, normAxis, sizeOf } from '../../backend/shape_info.js';
import { record } from '../engine.js';
import { fromStorage, Tensor } from '../tensor.js';
import { sumTo } from './reduce.js';

/** Same elements, new shape; one dimension may be −1 (inferred). Shares storage. */
export function reshape(x: Tensor, shape: readonly number[]): Tensor {
  const known = shape.filter((d) => d !== -1);
  const inferred = shape.length - known.length;
  if (inferred > 1 || known.some((d) => !Number.isInteger(d) || d < 0))
    throw new Error(`reshape: invalid shape ${fmtShape(shape)}`);
  const rest = sizeOf(known);
  const fill = inferred ? x.size / rest : 1;
  if (!Number.isInteger(fill) || (inferred === 0 && rest !== x.size)) {
    throw new Error(`reshape: cannot view ${x.size} elements of ${fmtShape(x.shape)} as ${fmtShape(shape)}`);
  }
  const newShape = shape.map((d) => (d === -1 ? fill : d));
  const out = new Tensor(x.storage, newShape, x.dtype, x.backendName);
  return record(out, 'reshape', [x], (g) => [g.reshape(x.shape)]);
}

/** Reorders the axes: output axis i is input axis perm[i]. */
export function permute(x: Tensor, perm: readonly number[]): Tensor {
  const axes = perm.map((p) => normAxis('permute', p, x.ndim));
  if (axes.length !== x.ndim || new Set(axes).size !== axes.length) {
    throw new Error(`permute: [${perm.join(', ')}] is not a permutation of the ${x.ndim} axes of ${fmtShape(x.shape)}`);
  }
  // Moving only axes of size 1 keeps the elements in memory order: a reshape, with no copy.
  const moved = axes.filter((a) => x.shape[a] !== 1);
  if (moved.every((a, i) => i === 0 || a > moved[i - 1]))
    return reshape(
      x,
      axes.map((a) => x.shape[a]),
    );
  const b = activeBackend();
  const out = fromStorage(
    b.permute(x.storageOn(b), x.shape, axes, x.dtype),
    axes.map((a) => x.shape[a]),
    x.dtype,
  );
  const inverse = axes.map((_, i) => axes.indexOf(i));
  return record(out, 'permute', [x], (g) => [permute(g, inverse)]);
}

/** Swaps dimensions `dim0` and `dim1`. */
export function transpose(x: Tensor, dim0: number, dim1: number): Tensor {
  const a = normAxis('transpose', dim0, x.ndim);
  const c = normAxis('transpose', dim1, x.ndim);
  const perm = x.shape.map((_, i) => (i === a ? c : i === c ? a : i));
  return permute(x, perm);
}

/** Merges dimensions startDim … endDim into one. */
export function flatten(x: Tensor, startDim = 0, endDim = -1): Tensor {
  if (x.ndim === 0) return reshape(x, [1]);
  const s = normAxis('flatten', startDim, x.ndim);
  const e = normAxis('flatten', endDim, x.ndim);
  return reshape(x, [...x.shape.slice(0, s), sizeOf(x.shape.slice(s, e + 1)), ...x.shape.slice(e + 1)]);
}

/** Inserts a dimension of size 1 at `dim`. */
export function unsqueeze(x: Tensor, dim: number): Tensor {
  const d = normAxis('unsqueeze', dim, x.ndim + 1);
  return reshape(x, [...x.shape.slice(0, d), 1, ...x.shape.slice(d)]);
}

/** Removes `dim` if it has size 1, or every size-1 dimension. */
export function squeeze(x: Tensor, dim?: number): Tensor {
  if (dim === undefined)
    return reshape(
      x,
      x.shape.filter((d) => d !== 1),
    );
  const d = normAxis('squeeze', dim, x.ndim);
  return x.shape[d] === 1
    ? reshape(
        x,
        x.shape.filter((_, i) => i !== d),
      )
    : x;
}

/** Broadcasts to `shape` (−1 keeps a dimension); copies. */
export function expand(x: Tensor, shape: readonly number[]): Tensor {
  const lead = shape.length - x.ndim;
  const target = shape.map((d, i) => (d === -1 && i >= lead ? x.shape[i - lead] : d));
  const ok = lead >= 0 && x.shape.every((d, i) => d === target[i + lead] || d === 1);
  if (!ok) throw new Error(`expand: cannot broadcast ${fmtShape(x.shape)} to ${fmtShape(shape)}`);
  if (target.length === x.ndim && target.every((d, i) => d === x.shape[i])) return x;
  const b = activeBackend();
  const out = fromStorage(b.expand(x.storageOn(b), x.shape, target, x.dtype), target, x.dtype);
  return record(out, 'expand', [x], (g) => [sumTo(g, x.shape)]);
}

/** The box begin … begin+size. */
export function sliceBox(x: Tensor, begin: readonly number[], size: readonly number[]): Tensor {
  const bad =
    begin.length !== x.ndim ||
    size.length !== x.ndim ||
    begin.some((b, i) => b < 0 || size[i] < 0 || b + size[i] > x.shape[i]);
  if (bad)
    throw new Error(`slice: begin [${begin.join(', ')}] size [${size.join(', ')}] is outside ${fmtShape(x.shape)}`);
  const b = activeBackend();
  const out = fromStorage(b.slice(x.storageOn(b), x.shape, begin, size, x.dtype), [...size], x.dtype);
  const after = x.shape.map((d, i) => d - begin[i] - size[i]);
  return record(out, 'slice', [x], (g) => [padBox(g, begin, after, 0)]);
}

/** `x` with `before[i]` and `after[i]` elements of `value` added along each axis. */
export function padBox(x: Tensor, before: readonly number[], after: readonly number[], value = 0): Tensor {
  if (
    before.length !== x.ndim ||
    after.length !== x.ndim ||
    [...before, ...after].some((p) => !Number.isInteger(p) || p < 0)
  ) {
    throw new Error(`pad: paddings [${before.join(', ')}] / [${after.join(', ')}] do not suit ${fmtShape(x.shape)}`);
  }
  const b = activeBackend();
  const shape = x.shape.map((d, i) => d + before[i] + after[i]);
  const out = fromStorage(b.pad(x.storageOn(b), x.shape, before, after, value, x.dtype), shape, x.dtype);
  return record(out, 'pad', [x], (g) => [sliceBox(g, before, x.shape)]);
}

/** PyTorch's F.pad: `pads` come in (before, after) pairs starting from the last dimension. */
export function pad(x: Tensor, pads: readonly number[], value = 0): Tensor {
  if (pads.length % 2 !== 0 || pads.length / 2 > x.ndim)
    throw new Error(`pad: ${pads.length} pad values do not suit ${fmtShape(x.shape)}`);
  const before = x.shape.map(() => 0);
  const after = x.shape.map(() => 0);
  for (let k = 0; k < pads.length / 2; k++) {
    before[x.ndim - 1 - k] = pads[2 * k];
    after[x.ndim - 1 - k] = pads[2 * k + 1];
  }
  return padBox(x, before, after, value);
}

/** Elements start … end−1 along `dim`. */
export function narrow(x: Tensor, dim: number, start: number, end?: number): Tensor {
  const d = normAxis('slice', dim, x.ndim);
  const n = x.shape[d];
  const s = start < 0 ? start + n : start;
  const e = end === undefined ? n : end < 0 ? end + n : Math.min(end, n);
  if (s < 0 || s > e)
    throw new Error(`slice: range ${start}…${end ?? n} is empty or outside dim ${dim} of ${fmtShape(x.shape)}`);
  const begin = x.shape.map((_, i) => (i === d ? s : 0));
  const size = x.shape.map((v, i) => (i === d ? e - s : v));
  return sliceBox(x, begin, size);
}

/** The i-th sub-tensor along `dim` (that dimension removed). */
export function select(x: Tensor, dim: number, i: number): Tensor {
  const d = normAxis('index', dim, x.ndim);
  const n = x.shape[d];
  if (!Number.isInteger(i) || i < -n || i >= n)
    throw new Error(`index: ${i} is out of range for dim ${d} of size ${n}`);
  const idx = i < 0 ? i + n : i;
  return squeeze(narrow(x, d, idx, idx + 1), d);
}

/** Joins tensors along `dim`. */
export function concat(xs: readonly Tensor[], dim = 0): Tensor {
  if (xs.length === 0) throw new Error('concat: needs at least one tensor');
  const first = xs[0];
  const d = normAxis('concat', dim, first.ndim);
  for (const t of xs) {
    if (t.ndim !== first.ndim || t.shape.some((v, i) => i !== d && v !== first.shape[i]) || t.dtype !== first.dtype) {
      throw new Error(`concat: shapes ${xs.map((x) => fmtShape(x.shape)).join(', ')} differ outside dim ${d}`);
    }
  }
  const b = activeBackend();
  const shape = first.shape.map((v, i) => (i === d ? xs.reduce((s, t) => s + t.shape[d], 0) : v));
  const out = fromStorage(
    b.concat(
      xs.map((t) => t.storageOn(b)),
      xs.map((t) => t.shape),
      d,
      first.dtype,
    ),
    shape,
    first.dtype,
  );
  return record(out, 'concat', xs, (g) => {
    let start = 0;
    return xs.map((t) => {
      const part = narrow(g, d, start, start + t.shape[d]);
      start += t.shape[d];
      return part;
    });
  });
}

/** Stacks equally shaped tensors along a new dimension. */
export function stack(xs: readonly Tensor[], dim = 0): Tensor {
  if (xs.length === 0) throw new Error('stack: needs at least one tensor');
  return concat(
    xs.map((t) => unsqueeze(t, dim)),
    dim,
  );
}
