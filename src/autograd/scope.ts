// Scopes for loops that do not step an optimizer (evaluation, inference): a training step frees what it made by
// itself (the README's Memory section), but a loop of forward passes alone would leave its tensors to the garbage
// collector, or to a spill to JS in a loop that never yields. A scope frees them at once: evaluate() runs each batch
// in one, backward() each node, and a module's forward under noGrad() runs in one that keeps what it returns.
import { activeBackend } from '../backend/registry.js';
import type { Tensor } from './tensor.js';

/**
 * Runs `fn`; when it returns, every storage it allocated is freed except those of the tensors `keep()` lists at
 * that moment and those kept anyway (parameters, buffers, gradients, optimizer state, `Tensor.keep()`). A tensor
 * that `fn` created and that is used later throws a clear error rather than reading freed memory. `fn` should
 * return plain values (numbers), not tensors.
 */
export function scoped<T>(fn: () => T, keep: () => Iterable<Tensor | null | undefined> = () => []): T {
  return scopedKeeping(fn, keep);
}

/**
 * scoped() whose kept tensors may depend on what `fn` returned: `keep(result)` lists them, or is null to free
 * nothing (what `fn` made then belongs to the enclosing scope). `because` (“when …”) is what a later read of a freed
 * tensor reports.
 */
export function scopedKeeping<T>(
  fn: () => T,
  keep: (result: T) => Iterable<Tensor | null | undefined> | null,
  because?: string,
): T {
  const backend = activeBackend();
  if (!backend.openScope) return fn();
  backend.openScope();
  let result: T;
  let kept: Iterable<Tensor | null | undefined> | null;
  try {
    result = fn();
    kept = keep(result);
  } catch (e) {
    backend.abandonScope!();
    throw e;
  }
  if (!kept) {
    backend.abandonScope!();
    return result;
  }
  const storages = new Set<unknown>();
  for (const t of kept) if (t) storages.add(t.storage);
  backend.closeScope!(storages, because);
  return result;
}
