// Module: the PyTorch nn.Module contract. Parameters, buffers and submodules are registered by name, so
// stateDict() keys are PyTorch's dotted names ("features.0.weight", "1.running_var") and weights move both ways.
import { clearGrad, isGradEnabled, noGrad } from '../autograd/engine.js';
import { scopedKeeping } from '../autograd/scope.js';
import { Tensor } from '../autograd/tensor.js';
import { fmtShape } from '../backend/shape_info.js';

/** A state-dict value: a tensor, or plain data with its shape (as read from JSON or a file). */
export type StateValue = Tensor | { shape: readonly number[]; data: ArrayLike<number> };
/** Parameters and buffers by dotted PyTorch name. */
export type StateDict = Record<string, Tensor>;

/** What `loadStateDict` did not match (with `strict: false`). */
export interface LoadResult {
  missingKeys: string[];
  unexpectedKeys: string[];
}

/** The base of every layer and model (PyTorch's `nn.Module`): registered parameters, buffers and submodules, train/eval mode, state dicts with dotted names, `toString()`. */
export abstract class Module {
  /** Whether the module is in training mode (see train() and eval()). */
  training = true;
  private readonly _parameters = new Map<string, Tensor | null>();
  private readonly _buffers = new Map<string, Tensor>();
  private readonly _modules = new Map<string, Module>();

  /**
   * The computation. Subclasses define it; call it as `module.forward(x)`. Under `noGrad()`, what a forward makes and
   * does not return (its intermediate activations) is freed when it returns: an inference loop keeps its memory flat
   * without `scoped()`. To read such a tensor afterwards, `keep()` it or store it in a parameter or buffer.
   */
  abstract forward(...inputs: Tensor[]): Tensor;

  /** Sets up `forward` to run as the class defines it, in a scope under `noGrad()` (see forward). */
  constructor() {
    // An own property, so that `module.forward(x)` goes through forwardInScope whatever the class: it runs the
    // prototype's forward (a sharedTwin's prototype may be a fused layer's), and nested modules nest their scopes.
    Object.defineProperty(this, 'forward', { value: forwardInScope, writable: true, configurable: true });
  }

  /** Registers a trainable tensor under `name` (readable and assignable as `this[name]`); null for an absent one. */
  protected registerParameter(name: string, value: Tensor | null): void {
    if (value) value.requiresGrad_().keep();
    this._parameters.set(name, value);
    this.defineSlot(name, '_parameters');
  }

  /** Registers a non-trainable tensor that belongs to the state dict (running statistics). */
  protected registerBuffer(name: string, value: Tensor): void {
    this._buffers.set(name, value.keep());
    this.defineSlot(name, '_buffers');
  }

  /** Registers a child module, or replaces the one of that name; its state appears under `name.`. */
  registerModule(name: string, module: Module): void {
    this._modules.set(name, module);
    this.defineSlot(name, '_modules');
  }

  /** `this[name]` reads and writes the registry entry (through `this`, so clones get their own). */
  private defineSlot(name: string, registry: '_parameters' | '_buffers' | '_modules'): void {
    Object.defineProperty(this, name, {
      get(this: Module) {
        return this[registry].get(name);
      },
      set(this: Module, v: never) {
        // A parameter or buffer outlives training steps, even one assigned during a step.
        if (registry !== '_modules') (v as Tensor | null)?.keep();
        this[registry].set(name, v);
      },
      enumerable: true,
      configurable: true,
    });
  }

  /** A deep copy: same structure and options, its own copies of every parameter and buffer. */
  clone(): this {
    const children = [...this._modules].map(([k, m]): [string, Module] => [k, m.clone()]);
    const copy = this.sharedTwin(Object.getPrototypeOf(this), children);
    // The twin's registries are its own maps: replace their tensors with copies.
    for (const [k, p] of this._parameters)
      copy._parameters.set(k, p ? p.clone().keep().requiresGrad_(p.requiresGrad) : null);
    for (const [k, b] of this._buffers) copy._buffers.set(k, b.clone().keep());
    return copy as this;
  }

  /**
   * A twin of this module that shares its parameters and buffers (training one trains the other): of the class whose
   * prototype is `proto` (a fused layer's, whose forward differs), with `children` as its submodules. For model
   * rewrites such as nn.utils.fuse.
   */
  sharedTwin(proto: Module = Object.getPrototypeOf(this), children: [string, Module][] = [...this._modules]): Module {
    const twin = Object.create(proto) as Module;
    Object.defineProperties(twin, Object.getOwnPropertyDescriptors(this));
    const own = twin as unknown as {
      _parameters: Module['_parameters'];
      _buffers: Module['_buffers'];
      _modules: Module['_modules'];
    };
    own._parameters = new Map(this._parameters);
    own._buffers = new Map(this._buffers);
    own._modules = new Map(children);
    return twin;
  }

  /** Direct children with their names. */
  namedChildren(): [string, Module][] {
    return [...this._modules];
  }

  /** The direct submodules, in registration order. */
  children(): Module[] {
    return [...this._modules.values()];
  }

  /** This module and every descendant, with dotted names ('' for this one). */
  namedModules(prefix = ''): [string, Module][] {
    const out: [string, Module][] = [[prefix, this]];
    for (const [name, m] of this._modules) out.push(...m.namedModules(prefix ? `${prefix}.${name}` : name));
    return out;
  }

  /** Every parameter with its dotted name, each tensor once (shared parameters are not repeated). */
  namedParameters(): [string, Tensor][] {
    const seen = new Set<Tensor>();
    const out: [string, Tensor][] = [];
    for (const [prefix, m] of this.namedModules()) {
      for (const [name, p] of m._parameters) {
        if (!p || seen.has(p)) continue;
        seen.add(p);
        out.push([prefix ? `${prefix}.${name}` : name, p]);
      }
    }
    return out;
  }

  /** Every parameter of this module and its submodules, each once. */
  parameters(): Tensor[] {
    return this.namedParameters().map(([, p]) => p);
  }

  /** Every buffer (running statistics and the like) with its dotted name. */
  namedBuffers(): [string, Tensor][] {
    const out: [string, Tensor][] = [];
    for (const [prefix, m] of this.namedModules()) {
      for (const [name, b] of m._buffers) out.push([prefix ? `${prefix}.${name}` : name, b]);
    }
    return out;
  }

  /** Every buffer of this module and its submodules. */
  buffers(): Tensor[] {
    return this.namedBuffers().map(([, b]) => b);
  }

  /** Parameters and buffers by dotted name, in registration order per module (PyTorch's order). */
  stateDict(): StateDict {
    const out: StateDict = {};
    for (const [prefix, m] of this.namedModules()) {
      const key = (name: string) => (prefix ? `${prefix}.${name}` : name);
      for (const [name, p] of m._parameters) if (p) out[key(name)] = p;
      for (const [name, b] of m._buffers) out[key(name)] = b;
    }
    return out;
  }

  /**
   * Copies values into this module's parameters and buffers, in place (optimizers keep their references).
   * Shape mismatches always throw, naming each key; with `strict` (the default) missing or unexpected keys throw too.
   * Nothing is copied unless everything matches.
   */
  loadStateDict(dict: Record<string, StateValue>, opts: { strict?: boolean } = {}): LoadResult {
    const result = this.checkStateDict(dict, opts);
    const own = this.stateDict();
    noGrad(() => {
      for (const [key, target] of Object.entries(own)) {
        const v = dict[key];
        if (v) target.data.set(v.data);
      }
    });
    return result;
  }

  /** Throws what `loadStateDict(dict, opts)` would throw, changing nothing; returns the keys it would skip. */
  checkStateDict(dict: Record<string, StateValue>, opts: { strict?: boolean } = {}): LoadResult {
    const own = this.stateDict();
    const missingKeys = Object.keys(own).filter((k) => !(k in dict));
    const unexpectedKeys = Object.keys(dict).filter((k) => !(k in own));
    const mismatched: string[] = [];
    for (const [key, target] of Object.entries(own)) {
      const v = dict[key];
      if (!v) continue;
      const shape = v.shape;
      const size = shape.reduce((a, b) => a * b, 1);
      if (shape.length !== target.ndim || shape.some((d, i) => d !== target.shape[i]) || v.data.length !== size) {
        mismatched.push(`${key}: checkpoint ${fmtShape(shape)} vs model ${fmtShape(target.shape)}`);
      }
    }
    const problems: string[] = [];
    if (mismatched.length) problems.push(`size mismatch for ${mismatched.join('; ')}`);
    if (opts.strict ?? true) {
      if (missingKeys.length) problems.push(`missing keys: ${missingKeys.join(', ')}`);
      if (unexpectedKeys.length) problems.push(`unexpected keys: ${unexpectedKeys.join(', ')}`);
    }
    if (problems.length) throw new Error(`${this.constructor.name}.loadStateDict: ${problems.join('; ')}`);
    return { missingKeys, unexpectedKeys };
  }

  /** Sets training mode on this module and every descendant. */
  train(mode = true): this {
    for (const [, m] of this.namedModules()) m.training = mode;
    return this;
  }

  /** Evaluation mode: BatchNorm and deconvolution layers use their running statistics; dropout is off. */
  eval(): this {
    return this.train(false);
  }

  /** Clears every parameter's gradient (sets it to null, PyTorch's default; freed at once, as Optimizer.zeroGrad). */
  zeroGrad(): void {
    for (const p of this.parameters()) clearGrad(p);
  }

  /** Calls `fn` on every descendant and then on this module. */
  apply(fn: (m: Module) => void): this {
    for (const m of this._modules.values()) m.apply(fn);
    fn(this);
    return this;
  }

  /** Extra text inside the parentheses of toString(), as PyTorch's extra_repr. */
  extraRepr(): string {
    return '';
  }

  /** PyTorch-style tree: `Sequential(\n  (0): Conv2d(1, 8, kernel_size=(3, 3), ...)\n)`. */
  toString(): string {
    const name = this.constructor.name;
    const kids = [...this._modules];
    if (!kids.length) return `${name}(${this.extraRepr()})`;
    const lines = kids.map(([k, m]) => `  (${k}): ${m.toString().replace(/\n/g, '\n  ')}`);
    const extra = this.extraRepr();
    return `${name}(${extra ? `\n  ${extra}` : ''}\n${lines.join('\n')}\n)`;
  }
}

/** Whether `m` is an instance of exactly `cls`, not of a subclass (which may compute otherwise): for layer fusion. */
export function isExactly(m: Module | undefined, cls: abstract new (...args: never[]) => Module): boolean {
  return m !== undefined && Object.getPrototypeOf(m) === cls.prototype;
}

/**
 * `module.forward` as called: the class's forward, which under noGrad() runs in a scope that frees what it made
 * except the tensors it returns (a tensor or an array of tensors; anything else frees nothing). With the graph
 * recorded, backward() still needs the intermediates: the step's boundary frees them.
 */
function forwardInScope(this: Module, ...inputs: Tensor[]): Tensor {
  let proto = Object.getPrototypeOf(this) as Module | null;
  while (proto && Object.getOwnPropertyDescriptor(proto, 'forward')?.value === forwardInScope)
    proto = Object.getPrototypeOf(proto) as Module | null;
  const forward = proto?.forward;
  if (!forward) throw new Error(`${this.constructor.name}: a Module must define forward()`);
  if (isGradEnabled()) return forward.apply(this, inputs);
  return scopedKeeping(
    () => forward.apply(this, inputs),
    returnedTensors,
    `when ${this.constructor.name}.forward() returned under noGrad(), which frees what a forward made and did not return: call keep() on a tensor in forward() to read it afterwards`,
  );
}

/** The tensors `result` consists of, or null when it is not a tensor or an array of tensors. */
function returnedTensors(result: unknown): Tensor[] | null {
  if (result instanceof Tensor) return [result];
  if (Array.isArray(result) && result.every((t) => t instanceof Tensor)) return result;
  return null;
}
