// Reverse-mode autograd. Each op links its output to its inputs with a backward closure (micrograd style);
// `backward()` walks the graph in reverse topological order, accumulates gradients with `+`, and frees the graph.
import { activeBackend } from '../backend/registry.js';
import { fmtShape } from '../backend/shape_info.js';
import { scoped } from './scope.js';
import type { Tensor } from './tensor.js';

/** How an op's output was made: its inputs and the rule that maps the output's gradient to theirs. */
export interface GradFn {
  readonly name: string;
  readonly inputs: readonly Tensor[];
  /** One gradient per input, `null` where an input needs none. Runs with grad recording off. */
  readonly backward: (grad: Tensor) => readonly (Tensor | null)[];
}

let gradEnabled = true;

/** Whether ops currently record the graph. */
export function isGradEnabled(): boolean {
  return gradEnabled;
}

/** Runs `fn` without recording the graph (inference, parameter updates, running statistics). */
export function noGrad<T>(fn: () => T): T {
  const prev = gradEnabled;
  gradEnabled = false;
  try {
    return fn();
  } finally {
    gradEnabled = prev;
  }
}

/**
 * Gradients backward() made and handed to one leaf alone (no other leaf's .grad and not the caller's gradient share
 * their storage): when they are dropped, by zeroGrad() or by accumulating the next backward, their storage is freed
 * at once. A training loop that never yields would otherwise leave each step's gradients to the garbage collector,
 * which seldom runs while the JS heap itself stays small, and the wasm heap would fill up to its spill budget.
 */
const ownedGrads = new WeakSet<Tensor>();

/** Sets `t.grad` to null, freeing the gradient's storage at once if only backward() ever handed it out. */
export function clearGrad(t: Tensor): void {
  const g = t.grad;
  t.grad = null;
  if (g) disposeOwnedGrad(g);
}

function disposeOwnedGrad(g: Tensor): void {
  if (!ownedGrads.delete(g)) return;
  activeBackend().dispose?.(g.storage);
}

/** Records `out = name(inputs)` when any input needs a gradient; returns `out`. */
export function record(out: Tensor, name: string, inputs: readonly Tensor[], backward: GradFn['backward']): Tensor {
  if (gradEnabled && inputs.some((t) => t.requiresGrad)) {
    out.requiresGrad = true;
    out.gradFn = { name, inputs, backward };
  }
  return out;
}

/** Inputs before outputs, every node reachable from `root` exactly once (iterative DFS: deep graphs do not overflow). */
function topoSort(root: Tensor): Tensor[] {
  const order: Tensor[] = [];
  const seen = new Set<Tensor>([root]);
  const stack: [Tensor, number][] = [[root, 0]];
  while (stack.length) {
    const top = stack[stack.length - 1];
    const inputs = top[0].gradFn?.inputs ?? [];
    if (top[1] < inputs.length) {
      const next = inputs[top[1]++];
      if (next.requiresGrad && !seen.has(next)) {
        seen.add(next);
        stack.push([next, 0]);
      }
    } else {
      order.push(top[0]);
      stack.pop();
    }
  }
  return order;
}

/**
 * Backpropagates `grad` (ones for a one-element root) into every leaf that requires a gradient.
 *
 * The intermediate gradients exist only in here, so backward runs in a backend scope: when it ends, every storage
 * it allocated is freed except the leaves' gradients (a wasm backend's memory is reused at once, with no wait for
 * the garbage collector).
 */
export function backward(root: Tensor, grad: Tensor): void {
  let order: Tensor[] = [];
  let leafGrads: Tensor[] = [];
  scoped(
    () => {
      order = accumulateGradients(root, grad);
      leafGrads = order.filter((t) => !t.gradFn && t.grad).map((t) => t.grad!);
    },
    () => leafGrads,
  );
  markOwnedGrads(leafGrads, grad);
  // A gradient outlives training steps: zeroGrad() frees it (or the garbage collector, if another tensor shares it).
  for (const g of leafGrads) g.keep();
  // Free the graph: intermediate tensors drop their links so everything they saved can be collected.
  for (const t of order) {
    if (t.gradFn) {
      t.gradFn = null;
      t.graphFreed = true;
    }
  }
}

/** Marks the leaves' gradients whose storage no other leaf's gradient, nor the caller's `rootGrad`, shares. */
function markOwnedGrads(leafGrads: readonly Tensor[], rootGrad: Tensor): void {
  const uses = new Map<unknown, number>([[rootGrad.storage, 2]]);
  for (const g of leafGrads) uses.set(g.storage, (uses.get(g.storage) ?? 0) + 1);
  for (const g of leafGrads) if (uses.get(g.storage) === 1) ownedGrads.add(g);
}

/** The reverse sweep: each node's gradient through its rule, summed into its inputs; leaves accumulate `.grad`. */
function accumulateGradients(root: Tensor, grad: Tensor): Tensor[] {
  const backend = activeBackend();
  const grads = new Map<Tensor, Tensor>();
  // How many entries of `grads` hold each storage (an op's backward may pass a gradient through, or reshape it
  // without a copy): a gradient is freed once consumed only if no other entry holds its storage.
  const holders = new Map<unknown, number>();
  const hold = (t: Tensor, g: Tensor) => {
    grads.set(t, g);
    holders.set(g.storage, (holders.get(g.storage) ?? 0) + 1);
  };
  /** Storages that outlive backward whatever else holds them: the caller's gradient and the leaves' new .grad. */
  const kept = new Set<unknown>([grad.storage]);
  /** Drops one hold on `g`; frees it when it was the last (only storages made by this backward are freed). */
  const release = (g: Tensor) => {
    const n = (holders.get(g.storage) ?? 1) - 1;
    if (n > 0) return void holders.set(g.storage, n);
    holders.delete(g.storage);
    if (!kept.has(g.storage)) backend.freeNow?.(g.storage);
  };
  hold(root, grad);
  const order = topoSort(root);
  noGrad(() => {
    for (let i = order.length - 1; i >= 0; i--) {
      const t = order[i];
      const g = grads.get(t);
      if (!g) continue;
      grads.delete(t);
      const fn = t.gradFn;
      if (!fn) {
        // A leaf: accumulate, as PyTorch does. A gradient that becomes t.grad lives on.
        if (t.grad) {
          const previous = t.grad;
          t.grad = previous.add(g);
          disposeOwnedGrad(previous);
        } else {
          t.grad = g;
          kept.add(g.storage);
        }
        release(g);
        continue;
      }
      // Each node's backward runs in its own scope: the temporaries it makes die as it returns, and the gradient
      // it consumed is freed after it, so backward's memory peaks at the gradients in flight.
      const sums: Tensor[] = [];
      const replaced: Tensor[] = [];
      scoped(
        () => {
          const inputGrads = fn.backward(g);
          fn.inputs.forEach((input, k) => {
            const gi = inputGrads[k];
            if (!gi || !input.requiresGrad) return;
            if (gi.shape.length !== input.shape.length || gi.shape.some((d, j) => d !== input.shape[j])) {
              throw new Error(
                `backward of ${fn.name}: gradient for input ${k} has shape ${fmtShape(gi.shape)}, expected ${fmtShape(input.shape)}`,
              );
            }
            const prev = grads.get(input);
            const sum = prev ? prev.add(gi) : gi;
            if (prev) replaced.push(prev);
            hold(input, sum);
            sums.push(sum);
          });
        },
        () => sums,
      );
      for (const prev of replaced) release(prev);
      release(g);
    }
  });
  return order;
}
