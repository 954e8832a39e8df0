// A plain training loop shared by the CLI, the examples and the tests. It knows nothing of terminals or browsers:
// progress goes to a callback.
import { scoped } from '../autograd/scope.js';
import { fuse } from '../nn/fuse.js';
import { noGrad } from '../autograd/engine.js';
import { crossEntropy, mseLoss } from '../autograd/ops/losses.js';
import type { Tensor } from '../autograd/tensor.js';
import { type Augment, type ImageSet, RegressionDataset } from '../data/dataset.js';
import { loadCheckpoint, saveCheckpoint } from '../io/checkpoint.js';
import { defaultGenerator } from '../random.js';
import type { Module } from '../nn/module.js';
import { Adam, AdamW } from '../optim/adam.js';
import { CosineAnnealingLR, type LRScheduler, OneCycleLR, StepLR } from '../optim/lr_scheduler.js';
import type { Optimizer } from '../optim/optimizer.js';
import { SGD } from '../optim/sgd.js';

export type OptimizerName = 'sgd' | 'adam' | 'adamw';
export type ScheduleName = 'onecycle' | 'cosine' | 'step' | 'none';

/** How `fit()` trains. */
export interface TrainConfig {
  epochs: number;
  batchSize: number;
  /** Peak rate for onecycle, the starting rate otherwise. */
  lr: number;
  optimizer: OptimizerName;
  schedule: ScheduleName;
  momentum: number;
  weightDecay: number;
  /** Seeds the batch order (and the augmentation). */
  seed: number;
  /** Random crop and flip of the training images (none by default). */
  augment?: Augment;
}

/** What `fit()` reports to and takes from its caller, besides the data and the config. */
export interface FitOptions {
  /** After every step. */
  onStep?: (s: StepInfo) => void;
  /** After every epoch's evaluation on the test set. */
  onEpoch?: (epoch: number, r: EvalResult) => void;
  /**
   * After every epoch: a training checkpoint (model, optimizer, schedule, random generator, epochs done). Pass it
   * back as `resume` to continue exactly where it stopped.
   */
  onCheckpoint?: (bytes: Uint8Array, epochsDone: number) => void;
  /** A checkpoint from `onCheckpoint`: training continues after its epoch, with the same config. */
  resume?: Uint8Array;
}

/** The defaults of `fit()` and the CLI. */
export const DEFAULT_TRAIN_CONFIG: TrainConfig = {
  epochs: 3,
  batchSize: 64,
  lr: 0.05,
  optimizer: 'sgd',
  schedule: 'onecycle',
  momentum: 0.9,
  weightDecay: 5e-4,
  seed: 0,
};

/** What `fit()` reports after each step. */
export interface StepInfo {
  epoch: number;
  /** Step within the epoch (0-based) and steps per epoch. */
  step: number;
  stepsPerEpoch: number;
  loss: number;
  lr: number;
  imagesSeen: number;
  /** Seconds since training began, and since this epoch began. */
  seconds: number;
  epochSeconds: number;
}

/** Mean loss over a dataset, with accuracy (classification) or RMSE (regression). */
export interface EvalResult {
  /** Mean cross entropy (classification) or mean squared error (regression). */
  loss: number;
  /** Fraction classified right; NaN for a regression dataset. */
  accuracy: number;
  /** Root mean squared error over every target; NaN for a classification dataset. */
  rmse: number;
}

/** A dataset `fit()` and `evaluate()` train on: classes (ImageDataset) or real targets (RegressionDataset). */
export type TrainingData = ImageSet<Int32Array> | ImageSet<Tensor>;

/** The loss a dataset is trained with: cross entropy for class labels, mean squared error for real targets. */
export function lossFor(output: Tensor, y: Int32Array | Tensor): Tensor {
  return y instanceof Int32Array ? crossEntropy(output, y) : mseLoss(output, y);
}

/** What `fit()` returns. */
export interface TrainResult {
  /** Loss of every training step. */
  lossCurve: number[];
  /** Test accuracy after each epoch. */
  epochAccuracy: number[];
  finalTrainLoss: number;
  test: EvalResult;
  /** Wall time of the whole fit, and of the training steps alone (evaluation excluded). */
  seconds: number;
  trainSeconds: number;
  /** Training throughput: images per second of training steps. */
  imagesPerSecond: number;
}

/** Builds the optimizer a config names. */
export function makeOptimizer(model: Module, cfg: TrainConfig): Optimizer<object> {
  const params = model.parameters();
  switch (cfg.optimizer) {
    case 'sgd':
      return new SGD(params, { lr: cfg.lr, momentum: cfg.momentum, weightDecay: cfg.weightDecay });
    case 'adam':
      return new Adam(params, { lr: cfg.lr, weightDecay: cfg.weightDecay });
    case 'adamw':
      return new AdamW(params, { lr: cfg.lr, weightDecay: cfg.weightDecay });
    default:
      throw new Error(`unknown optimizer '${cfg.optimizer}' (sgd, adam, adamw)`);
  }
}

/** Builds the per-step schedule a config names, or null for a constant rate. */
export function makeSchedule(opt: Optimizer<object>, cfg: TrainConfig, totalSteps: number): LRScheduler | null {
  switch (cfg.schedule) {
    case 'onecycle':
      return new OneCycleLR(opt, { maxLr: cfg.lr, totalSteps });
    case 'cosine':
      return new CosineAnnealingLR(opt, { tMax: totalSteps });
    case 'step':
      return new StepLR(opt, { stepSize: Math.max(1, Math.floor(totalSteps / 3)), gamma: 0.1 });
    case 'none':
      return null;
    default:
      throw new Error(`unknown schedule '${cfg.schedule}' (onecycle, cosine, step, none)`);
  }
}

/** Mean loss and accuracy (or RMSE) of `model` (in eval mode) on a dataset. */
export function evaluate(model: Module, data: TrainingData, batchSize = 256): EvalResult {
  const wasTraining = model.training;
  model.eval();
  let lossSum = 0;
  let correct = 0;
  noGrad(() => {
    for (const { x, y } of (data as ImageSet<Int32Array | Tensor>).batches(batchSize)) {
      // Each batch in a scope: its activations are freed at once (only numbers leave it).
      scoped(() => {
        const output = model.forward(x);
        const n = x.shape[0];
        lossSum += lossFor(output, y).item() * n;
        if (y instanceof Int32Array) {
          const pred = output.argmax(1).data;
          for (let i = 0; i < n; i++) if (pred[i] === y[i]) correct++;
        }
      });
    }
  });
  model.train(wasTraining);
  const loss = lossSum / data.length;
  return data instanceof RegressionDataset
    ? { loss, accuracy: NaN, rmse: Math.sqrt(loss) }
    : { loss, accuracy: correct / data.length, rmse: NaN };
}

/** Throws unless a checkpoint's `extra` comes from `fit()` with this config, at an epoch it has yet to reach. */
function checkResume(extra: Record<string, unknown>, cfg: TrainConfig): void {
  const saved = extra.config as Record<string, unknown> | undefined;
  const done = extra.epochsDone;
  if (!saved || !Number.isInteger(done)) throw new Error('it was not written by fit() (no epochsDone and config)');
  const here = cfg as unknown as Record<string, unknown>;
  const differ = Object.keys({ ...saved, ...cfg }).filter((k) => JSON.stringify(saved[k]) !== JSON.stringify(here[k]));
  if (differ.length)
    throw new Error(
      `it was trained with another config (${differ.map((k) => `${k}: ${JSON.stringify(saved[k])} there, ${JSON.stringify(here[k])} here`).join('; ')})`,
    );
  if ((done as number) >= cfg.epochs) throw new Error(`it has already done ${done} of the ${cfg.epochs} epochs`);
}

/**
 * Trains a classifier with cross entropy (an ImageDataset) or a regressor with mean squared error (a
 * RegressionDataset); calls `onStep` after every step and `onEpoch` after every evaluation.
 */
export function fit(
  model: Module,
  train: TrainingData,
  test: TrainingData,
  cfg: TrainConfig,
  hooks: FitOptions = {},
): TrainResult {
  const stepsPerEpoch = train.numBatches(cfg.batchSize, true);
  if (stepsPerEpoch === 0)
    throw new Error(`fit: ${train.length} training images are fewer than one batch of ${cfg.batchSize}`);
  const opt = makeOptimizer(model, cfg);
  const sched = makeSchedule(opt, cfg, cfg.epochs * stepsPerEpoch);
  const lossCurve: number[] = [];
  const epochAccuracy: number[] = [];
  const start = performance.now();
  let imagesSeen = 0;
  let evalSeconds = 0;
  if (train instanceof RegressionDataset !== test instanceof RegressionDataset)
    throw new Error('fit: the training and test sets must both be classification or both regression datasets');
  let test_: EvalResult = { loss: NaN, accuracy: NaN, rmse: NaN };
  const state = { model, optimizer: opt, scheduler: sched, generator: defaultGenerator };
  let firstEpoch = 0;
  if (hooks.resume) {
    const extra = loadCheckpoint(state, hooks.resume, 'fit: the resume checkpoint', (e) => checkResume(e, cfg));
    firstEpoch = extra.epochsDone as number;
  }
  // The model with its fused layers (nn.utils.fuse), sharing its parameters and buffers.
  const net = fuse(model).train();
  for (let epoch = firstEpoch; epoch < cfg.epochs; epoch++) {
    let step = 0;
    const epochStart = performance.now();
    for (const { x, y } of (train as ImageSet<Int32Array | Tensor>).batches(cfg.batchSize, {
      shuffle: true,
      seed: cfg.seed * 1000 + epoch,
      dropLast: true,
      augment: cfg.augment,
    })) {
      // The plain loop a user writes: step() frees what the step before made (see Tensor.keep()).
      opt.zeroGrad();
      const loss = lossFor(net.forward(x), y);
      loss.backward();
      opt.step();
      const l = loss.item();
      const lr = opt.paramGroups[0].lr;
      sched?.step();
      lossCurve.push(l);
      imagesSeen += x.shape[0];
      hooks.onStep?.({
        epoch,
        step,
        stepsPerEpoch,
        loss: l,
        lr,
        imagesSeen,
        seconds: (performance.now() - start) / 1000,
        epochSeconds: (performance.now() - epochStart) / 1000,
      });
      step++;
    }
    const evalStart = performance.now();
    test_ = evaluate(net, test);
    evalSeconds += (performance.now() - evalStart) / 1000;
    epochAccuracy.push(test_.accuracy);
    hooks.onEpoch?.(epoch, test_);
    if (hooks.onCheckpoint)
      hooks.onCheckpoint(saveCheckpoint({ ...state, extra: { epochsDone: epoch + 1, config: cfg } }), epoch + 1);
  }
  const seconds = (performance.now() - start) / 1000;
  const tail = lossCurve.slice(-Math.min(20, lossCurve.length));
  return {
    lossCurve,
    epochAccuracy,
    finalTrainLoss: tail.reduce((a, b) => a + b, 0) / tail.length,
    test: test_,
    seconds,
    trainSeconds: seconds - evalSeconds,
    imagesPerSecond: imagesSeen / (seconds - evalSeconds),
  };
}
