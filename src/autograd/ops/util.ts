// Small helpers shared by the op files.
import { fmtShape } from '../../backend/shape_info.js';
import { Tensor, tensor } from '../tensor.js';

/** Turns a number operand into a 0-d constant of `like`'s dtype; checks that tensor operands agree in dtype. */
export function operands(op: string, a: Tensor | number, b: Tensor | number): [Tensor, Tensor] {
  if (typeof a === 'number' && typeof b === 'number') throw new Error(`${op}: at least one operand must be a tensor`);
  const x = typeof a === 'number' ? tensor(a, [], { dtype: (b as Tensor).dtype }) : a;
  const y = typeof b === 'number' ? tensor(b, [], { dtype: x.dtype }) : b;
  if (!(x instanceof Tensor) || !(y instanceof Tensor)) throw new Error(`${op}: operands must be tensors or numbers`);
  if (x.dtype !== y.dtype)
    throw new Error(`${op}: dtypes differ (${x.dtype} ${fmtShape(x.shape)} vs ${y.dtype} ${fmtShape(y.shape)})`);
  return [x, y];
}

/** Throws unless `t` has exactly `rank` dimensions. */
export function expectRank(op: string, name: string, t: Tensor, rank: number, layout: string): void {
  if (t.ndim !== rank) throw new Error(`${op}: ${name} must be ${rank}-D ${layout}, got shape ${fmtShape(t.shape)}`);
}

/** Throws unless two shapes are equal. */
export function expectSameShape(op: string, a: Tensor, b: Tensor): void {
  if (a.ndim !== b.ndim || a.shape.some((d, i) => d !== b.shape[i])) {
    throw new Error(`${op}: shapes ${fmtShape(a.shape)} and ${fmtShape(b.shape)} must be equal`);
  }
}
