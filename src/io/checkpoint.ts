// Saving and loading models (safetensors, PyTorch names and layouts) and whole training checkpoints (model,
// optimizer state, schedule position and RNG state) that resume to bit-identical results.
import { fmtShape } from '../backend/shape_info.js';
import { Linear } from '../nn/layers/linear.js';
import type { Module } from '../nn/module.js';
import type { LRScheduler } from '../optim/lr_scheduler.js';
import type { Optimizer, OptimizerStateDict } from '../optim/optimizer.js';
import { defaultGenerator, Generator } from '../random.js';
import { decodeSafetensors, encodeSafetensors, type NamedArray, stateDictArrays } from './safetensors.js';
import { decodeTorchSave, isTorchSave } from './torch_save.js';

/** The model's state dict as safetensors bytes (`safetensors.torch.load_file` reads them). */
export function save(model: Module): Uint8Array {
  return encodeSafetensors(stateDictArrays(model.stateDict()), { format: 'pt', producer: 'netdeconv' });
}

/**
 * Throws unless every value of every tensor is finite: safetensors has no checksum, and a weight that is NaN or ∞
 * is a damaged file (or a diverged run), never a model worth loading.
 */
function checkFinite(tensors: Record<string, { data: ArrayLike<number> }>, source: string): void {
  for (const [name, t] of Object.entries(tensors)) {
    for (let i = 0; i < t.data.length; i++) {
      if (!Number.isFinite(t.data[i]))
        throw new Error(`${source}: '${name}' holds ${t.data[i]} at index ${i}; a model's weights must be finite`);
    }
  }
}

/** The tensors of safetensors bytes or of a torch.save file (told apart by their first bytes), all finite. */
function decodeWeights(bytes: Uint8Array, source: string | undefined) {
  const torch = isTorchSave(bytes);
  const src = source ?? (torch ? 'PyTorch data' : 'safetensors data');
  const tensors = torch ? decodeTorchSave(bytes, src) : decodeSafetensors(bytes, src).tensors;
  checkFinite(tensors, src);
  return { tensors, source: src };
}

/**
 * Loads a state dict into `model`: safetensors bytes, or a PyTorch file written by
 * `torch.save(model.state_dict(), path)`. Strict: names and shapes must match, errors name them; every weight must
 * be finite. Nothing is loaded unless everything is right.
 */
export function load(model: Module, bytes: Uint8Array, opts: { strict?: boolean; source?: string } = {}): void {
  const { tensors, source } = decodeWeights(bytes, opts.source);
  try {
    model.loadStateDict(tensors, { strict: opts.strict ?? true });
  } catch (e) {
    throw new Error(`${source}: ${(e as Error).message}`);
  }
}

/**
 * Loads pretrained weights (safetensors, or `torch.save(model.state_dict())`) for fine-tuning: as strict as `load`,
 * except that the model's last Linear keeps its fresh initialisation when the file's differs in shape (a classifier
 * trained on other classes, such as ImageNet's 1000). Returns the names of the weights it left as they were.
 */
export function loadPretrained(model: Module, bytes: Uint8Array, opts: { source?: string } = {}): string[] {
  const { tensors, source } = decodeWeights(bytes, opts.source);
  const own = model.stateDict();
  const linears = model.namedModules().filter(([, m]) => m instanceof Linear);
  const head = linears.length ? linears[linears.length - 1][0] : undefined;
  const headKeys = head === undefined ? [] : ['weight', 'bias'].map((n) => (head ? `${head}.${n}` : n));
  const differs = headKeys.some((k) => k in own && tensors[k] && fmtShape(tensors[k].shape) !== fmtShape(own[k].shape));
  const kept = differs ? headKeys.filter((k) => k in own) : [];
  const dict = Object.fromEntries(Object.entries(tensors).filter(([k]) => !kept.includes(k)));
  try {
    const { missingKeys, unexpectedKeys } = model.checkStateDict(dict, { strict: false });
    const missing = missingKeys.filter((k) => !kept.includes(k));
    const problems = [
      ...(missing.length ? [`missing keys: ${missing.join(', ')}`] : []),
      ...(unexpectedKeys.length ? [`unexpected keys: ${unexpectedKeys.join(', ')}`] : []),
    ];
    if (problems.length) throw new Error(`${model.constructor.name}.loadStateDict: ${problems.join('; ')}`);
    model.loadStateDict(dict, { strict: false });
  } catch (e) {
    throw new Error(`${source}: ${(e as Error).message}`);
  }
  return kept;
}

/** What a training checkpoint holds: model, optimizer and optionally scheduler and generator. */
export interface TrainingState {
  model: Module;
  optimizer: Optimizer<object>;
  scheduler?: LRScheduler | null;
  generator?: Generator;
  /** Anything else worth keeping (epoch, step, config), JSON-serialisable. */
  extra?: Record<string, unknown>;
}

const MODEL = 'model.';
const OPT = 'optimizer.';

/** A training checkpoint: model and optimizer tensors, plus the optimizer's hyper-parameters, schedule and RNG. */
export function saveCheckpoint(s: TrainingState): Uint8Array {
  const tensors: Record<string, NamedArray> = stateDictArrays(s.model.stateDict(), MODEL);
  const opt = s.optimizer.stateDict();
  const scalars: Record<string, Record<string, number>> = {};
  for (const [index, st] of Object.entries(opt.state)) {
    for (const [key, v] of Object.entries(st)) {
      if (typeof v === 'number') (scalars[index] ??= {})[key] = v;
      else tensors[`${OPT}${index}.${key}`] = { shape: [v.length], dtype: 'F32', data: Float32Array.from(v) };
    }
  }
  const meta = {
    paramGroups: opt.paramGroups,
    scalars,
    scheduler: s.scheduler?.stateDict() ?? null,
    generator: (s.generator ?? defaultGenerator).getState(),
    extra: s.extra ?? {},
  };
  return encodeSafetensors(tensors, { format: 'netdeconv-checkpoint', state: JSON.stringify(meta) });
}

/**
 * Restores a checkpoint into an existing model, optimizer, scheduler and generator; returns its `extra`. Every
 * part, and `extra` through `checkExtra` when given, is checked before any is applied.
 */
export function loadCheckpoint(
  s: TrainingState,
  bytes: Uint8Array,
  source = 'checkpoint',
  checkExtra?: (extra: Record<string, unknown>) => void,
): Record<string, unknown> {
  const { tensors, metadata } = decodeSafetensors(bytes, source);
  if (metadata.format !== 'netdeconv-checkpoint' || !metadata.state)
    throw new Error(`${source}: not a netdeconv training checkpoint (use load() for model weights)`);
  let meta: {
    paramGroups: OptimizerStateDict['paramGroups'];
    scalars: Record<string, Record<string, number>>;
    scheduler: { lastEpoch: number; baseLrs: number[] } | null;
    generator: number[];
    extra: Record<string, unknown>;
  };
  try {
    meta = JSON.parse(metadata.state);
  } catch (e) {
    throw new Error(`${source}: the training state is not valid JSON (${(e as Error).message})`);
  }
  const isObject = (v: unknown) => v !== null && typeof v === 'object' && !Array.isArray(v);
  if (!isObject(meta) || !Array.isArray(meta.paramGroups) || !isObject(meta.scalars) || !isObject(meta.extra ?? {}))
    throw new Error(`${source}: the training state lacks paramGroups, scalars or extra`);
  const model: Record<string, { shape: number[]; data: Float32Array | Float64Array }> = {};
  const state: OptimizerStateDict['state'] = {};
  for (const [name, t] of Object.entries(tensors)) {
    if (name.startsWith(MODEL)) model[name.slice(MODEL.length)] = t;
    else if (name.startsWith(OPT)) {
      const [index, key] = name.slice(OPT.length).split('.');
      (state[Number(index)] ??= {})[key] = Array.from(t.data);
    }
  }
  for (const [index, sc] of Object.entries(meta.scalars)) Object.assign((state[Number(index)] ??= {}), sc);
  const optimizerState = { state, paramGroups: meta.paramGroups };
  // Every part is checked before any is applied: a bad optimizer tensor must not leave a model already overwritten.
  try {
    checkFinite(model, 'the model');
    s.model.checkStateDict(model);
    s.optimizer.checkStateDict(optimizerState);
    if (s.scheduler && meta.scheduler) s.scheduler.checkStateDict(meta.scheduler);
    Generator.checkState(meta.generator);
    checkExtra?.(meta.extra ?? {});
  } catch (e) {
    throw new Error(`${source}: ${(e as Error).message}`);
  }
  s.model.loadStateDict(model);
  s.optimizer.loadStateDict(optimizerState);
  if (s.scheduler && meta.scheduler) s.scheduler.loadStateDict(meta.scheduler);
  (s.generator ?? defaultGenerator).setState(meta.generator);
  return meta.extra ?? {};
}
