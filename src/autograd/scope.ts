// Scopes for loops that know what survives an iteration. Nothing needs them — memory stays bounded without (see
// the README's Memory section) — but a scope frees at once what otherwise waits for the garbage collector or a
// spill to JS: the training loop in train/trainer.ts wraps each step in one.
import { activeBackend } from '../backend/registry.js';
import type { Tensor } from './tensor.js';

/**
 * Runs `fn`; when it returns, every storage it allocated is freed except those of the tensors `keep()` lists at
 * that moment (evaluated after `fn`, so state created inside — an optimizer's momentum — can be named). A tensor
 * outside `keep()` that `fn` created and that is used later throws a clear error rather than reading freed memory.
 * `fn` should return plain values (numbers), not tensors.
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
