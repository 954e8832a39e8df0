// Losses, composed from primitives. Both check their inputs so a bad batch fails loudly, not as a NaN later.
import { fmtShape } from '../../backend/shape_info.js';
import { tensor, type Tensor } from '../tensor.js';
import { logSoftmax } from './softmax.js';
import { expectSameShape } from './util.js';

function assertFinite(op: string, name: string, t: Tensor): void {
  const d = t.data;
  for (let i = 0; i < d.length; i++) {
    if (!Number.isFinite(d[i])) throw new Error(`${op}: ${name} ${fmtShape(t.shape)} holds ${d[i]} at flat index ${i}`);
  }
}

/** Mean cross entropy of logits (N, K) against integer labels in [0, K). */
export function crossEntropy(logits: Tensor, labels: Int32Array | readonly number[]): Tensor {
  if (logits.ndim !== 2) throw new Error(`crossEntropy: logits must be 2-D (N, K), got ${fmtShape(logits.shape)}`);
  const [n, k] = logits.shape;
  if (labels.length !== n)
    throw new Error(`crossEntropy: ${labels.length} labels for a batch of ${n} logits ${fmtShape(logits.shape)}`);
  const onehot = new Float64Array(n * k);
  for (let i = 0; i < n; i++) {
    const c = labels[i];
    if (typeof c !== 'number')
      throw new Error(
        `crossEntropy: label ${JSON.stringify(c)} at index ${i} is a ${typeof c}, expected an integer class index`,
      );
    if (!Number.isInteger(c) || c < 0 || c >= k)
      throw new Error(`crossEntropy: label ${c} at index ${i} is outside [0, ${k})`);
    onehot[i * k + c] = 1;
  }
  assertFinite('crossEntropy', 'logits', logits);
  const picked = logSoftmax(logits, 1).mul(tensor(onehot, [n, k], { dtype: logits.dtype }));
  return picked.sum().div(-n);
}

/** Mean squared error over all elements. */
export function mseLoss(input: Tensor, target: Tensor): Tensor {
  expectSameShape('mseLoss', input, target);
  assertFinite('mseLoss', 'input', input);
  assertFinite('mseLoss', 'target', target);
  const diff = input.sub(target);
  return diff.mul(diff).mean();
}
