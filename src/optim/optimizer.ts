// The optimizer base: parameter groups with their hyper-parameters (which schedulers rewrite), per-parameter state,
// zeroGrad(), and a state dict for checkpoints. Updates are in-place kernels on each parameter's storage, outside the graph.
import { clearGrad, noGrad } from '../autograd/engine.js';
import { type Tensor, zeros } from '../autograd/tensor.js';
import { activeBackend } from '../backend/registry.js';

/** A group of parameters with its own hyper-parameters. */
export interface ParamGroup {
  params: Tensor[];
  lr: number;
  [hyper: string]: unknown;
}

/** Either a list of tensors or a list of groups, each with its own overrides (PyTorch's param groups). */
export type ParamsInput = Tensor[] | ({ params: Tensor[] } & Record<string, unknown>)[];

/** Per-parameter optimizer state: named tensors plus a step count. */
export interface ParamState {
  step: number;
  [buffer: string]: Tensor | number;
}

/** An optimizer's hyper-parameters and state, in PyTorch's layout. */
export interface OptimizerStateDict {
  state: Record<number, Record<string, number[] | number>>;
  paramGroups: Record<string, unknown>[];
}

/** The optimizer contract: parameter groups, per-parameter state, `zeroGrad()`, `step()`, state dicts. */
export abstract class Optimizer<H extends object> {
  readonly paramGroups: (ParamGroup & H)[];
  readonly state = new Map<Tensor, ParamState>();

  constructor(params: ParamsInput, defaults: H & { lr: number }) {
    const groups = (params.length && !('params' in params[0]) ? [{ params: params as Tensor[] }] : params) as ({
      params: Tensor[];
    } & Record<string, unknown>)[];
    if (!groups.length || groups.every((g) => !g.params.length))
      throw new Error(`${this.constructor.name}: got an empty parameter list`);
    this.paramGroups = groups.map((g) => ({ ...defaults, ...g }) as ParamGroup & H);
    for (const g of this.paramGroups) {
      if (!(Number.isFinite(g.lr) && g.lr >= 0))
        throw new Error(`${this.constructor.name}: the learning rate must be a finite number ≥ 0, got ${g.lr}`);
    }
  }

  /** Whether step() has run: its first call leaves what was made before it (data, model) to the garbage collector. */
  private stepped = false;

  /**
   * Applies one update to every parameter that has a gradient, and ends a training step: what the step before this
   * one made (batch, activations, loss) is freed, unless kept (see Tensor.keep()).
   */
  step(): void {
    noGrad(() => {
      for (const group of this.paramGroups) {
        for (const p of group.params) {
          if (!p.grad) continue;
          let st = this.state.get(p);
          if (!st) {
            st = { step: 0 };
            this.state.set(p, st);
          }
          st.step += 1;
          this.update(p, p.grad, group, st);
        }
      }
    });
    activeBackend().endStep?.(!this.stepped);
    this.stepped = true;
  }

  /** The update rule for one parameter. `st.step` already counts this step. */
  protected abstract update(p: Tensor, grad: Tensor, group: ParamGroup & H, st: ParamState): void;

  /** A zero state buffer shaped like `p`, created on first use. */
  protected buffer(st: ParamState, name: string, p: Tensor): Tensor {
    let b = st[name];
    if (!(b && typeof b === 'object')) {
      b = zeros(p.shape, { dtype: p.dtype }).keep();
      st[name] = b;
    }
    return b;
  }

  /** Every tensor of the per-parameter state (momentum and moment buffers). */
  stateTensors(): Tensor[] {
    const out: Tensor[] = [];
    for (const st of this.state.values()) for (const v of Object.values(st)) if (typeof v === 'object') out.push(v);
    return out;
  }

  /**
   * Sets every parameter's gradient to null (PyTorch's default), freeing the memory of gradients backward() made
   * at once: a reference to an old `p.grad` kept past this call is invalid (using it throws); `clone()` it to keep it.
   * Called before a step's work, it also frees what the step before the last one made (see step()).
   */
  zeroGrad(): void {
    for (const g of this.paramGroups) for (const p of g.params) clearGrad(p);
    activeBackend().beginStep?.();
  }

  /** Hyper-parameters and state, keyed by parameter position (PyTorch's layout); plain data, JSON-safe. */
  stateDict(): OptimizerStateDict {
    const all = this.paramGroups.flatMap((g) => g.params);
    const state: OptimizerStateDict['state'] = {};
    all.forEach((p, i) => {
      const st = this.state.get(p);
      if (!st) return;
      state[i] = Object.fromEntries(
        Object.entries(st).map(([k, v]) => [k, typeof v === 'number' ? v : Array.from(v.data)]),
      );
    });
    const paramGroups = this.paramGroups.map(({ params, ...hyper }) => ({
      ...hyper,
      params: params.map((p) => all.indexOf(p)),
    }));
    return { state, paramGroups: structuredClone(paramGroups) };
  }

  /** Restores what stateDict() returned (for the same parameters in the same order); all or nothing. */
  loadStateDict(dict: OptimizerStateDict): void {
    const restored = this.checkStateDict(dict);
    dict.paramGroups.forEach((g, i) => {
      const { params: _p, ...hyper } = g;
      Object.assign(this.paramGroups[i], structuredClone(hyper));
    });
    this.state.clear();
    for (const [p, st] of restored) this.state.set(p, st);
    // A restored optimizer starts over: its next step() leaves what was made before it to the garbage collector.
    this.stepped = false;
  }

  /** Throws what `loadStateDict(dict)` would throw, changing nothing; returns the state it would set. */
  checkStateDict(dict: OptimizerStateDict): Map<Tensor, ParamState> {
    const op = `${this.constructor.name}.loadStateDict`;
    const all = this.paramGroups.flatMap((g) => g.params);
    if (!Array.isArray(dict?.paramGroups) || dict.paramGroups.length !== this.paramGroups.length) {
      throw new Error(
        `${op}: ${dict?.paramGroups?.length} parameter groups in the state, the optimizer has ${this.paramGroups.length}`,
      );
    }
    dict.paramGroups.forEach((g, i) => {
      for (const [k, v] of Object.entries(g)) {
        if (typeof v === 'number' && !Number.isFinite(v))
          throw new Error(`${op}: parameter group ${i} has ${k} = ${v}, expected a finite number`);
      }
      if (!(typeof g.lr === 'number' && g.lr >= 0))
        throw new Error(`${op}: parameter group ${i} has lr ${g.lr}, expected a finite number ≥ 0`);
    });
    const restored = new Map<Tensor, ParamState>();
    for (const [key, st] of Object.entries(dict.state ?? {})) {
      const p = all[Number(key)];
      if (!p) throw new Error(`${op}: state for parameter ${key}, but the optimizer has ${all.length}`);
      const state: ParamState = { step: 0 };
      for (const [k, v] of Object.entries(st)) {
        if (typeof v === 'number') {
          if (!Number.isFinite(v)) throw new Error(`${op}: state '${k}' of parameter ${key} is ${v}`);
          state[k] = v;
        } else {
          if (!(Array.isArray(v) || ArrayBuffer.isView(v)) || v.length !== p.size)
            throw new Error(
              `${op}: state '${k}' of parameter ${key} has ${(v as { length?: number })?.length} values, expected ${p.size}`,
            );
          const t = zeros(p.shape, { dtype: p.dtype }).keep();
          t.data.set(v);
          state[k] = t;
        }
      }
      restored.set(p, state);
    }
    return restored;
  }
}
