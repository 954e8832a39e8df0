// Scopes for loops that do not step an optimizer (evaluation, inference): a training step frees what it made by
// itself (the README's Memory section), but a loop of forward passes alone leaves its tensors to the garbage
// collector, or to a spill to JS in a loop that never yields. A scope frees them at once: evaluate() runs each batch
// in one, and backward() each node.
import { activeBackend } from '../backend/registry.js';
import type { Tensor } from './tensor.js';

/**
 * Runs `fn`; when it returns, every storage it allocated is freed except those of the tensors `keep()` lists at
 * that moment and those kept anyway (parameters, buffers, gradients, optimizer state, `Tensor.keep()`). A tensor
 * that `fn` created and that is used later throws a clear error rather than reading freed memory. `fn` should
 * return plain values (numbers), not tensors.
 */
export function scoped<T>(fn: () => T, keep: () => Iterable<Tensor | null | undefined> = () => []): T {
  const backend = activeBackend();
  if (!backend.openScope) return fn();
  backend.openScope();
  let result: T;
  try {
    result = fn();
  } catch (e) {
    backend.abandonScope!();
    throw e;
  }
  const kept = new Set<unknown>();
  for (const t of keep()) if (t) kept.add(t.storage);
  backend.closeScope!(kept);
  return result;
}
