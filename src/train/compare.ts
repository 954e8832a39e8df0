// The experiment of the paper, at laptop scale: a BatchNorm network and its deconvolution twin trained from the same
// seed, on the same data, batch order and budget; several seeds; accuracy mean ± std, loss curves and throughput.
import type { TrainingData } from './trainer.js';
import type { Module } from '../nn/module.js';
import { manualSeed } from '../random.js';
import { fit, type StepInfo, type TrainConfig } from './trainer.js';

export type Variant = 'bn' | 'deconv';

/** One training run, in the shape written by `netdeconv compare --json`. */
export interface CompareRun {
  model: Variant;
  seed: number;
  /** Test accuracy (NaN for regression). */
  testAccuracy: number;
  /** Test RMSE (NaN for classification). */
  testRmse: number;
  testLoss: number;
  /** Mean training loss over the last steps. */
  finalLoss: number;
  seconds: number;
  imagesPerSecond: number;
  lossCurve: number[];
  /** Test accuracy after each epoch. */
  epochAccuracy: number[];
}

export interface CompareSummary {
  model: Variant;
  runs: number;
  accuracyMean: number;
  accuracyStd: number;
  /** Test RMSE mean and standard deviation (NaN for classification). */
  rmseMean: number;
  rmseStd: number;
  finalLoss: number;
  imagesPerSecond: number;
}

export interface CompareOptions {
  /** Builds the network; `deconv` selects the twin. Called after seeding, so both start from the same draws. */
  makeModel: (variant: Variant) => Module;
  train: TrainingData;
  test: TrainingData;
  cfg: TrainConfig;
  seeds: number[];
  onStart?: (variant: Variant, seed: number) => void;
  onStep?: (variant: Variant, seed: number, s: StepInfo) => void;
  onRun?: (run: CompareRun) => void;
}

/** Trains both variants for every seed, alternating so that machine noise hits both alike. */
export function compareBnDeconv(o: CompareOptions): CompareRun[] {
  const runs: CompareRun[] = [];
  for (const seed of o.seeds) {
    for (const variant of ['bn', 'deconv'] as const) {
      manualSeed(seed);
      const model = o.makeModel(variant);
      o.onStart?.(variant, seed);
      const r = fit(model, o.train, o.test, { ...o.cfg, seed }, { onStep: (s) => o.onStep?.(variant, seed, s) });
      const run: CompareRun = {
        model: variant,
        seed,
        testAccuracy: r.test.accuracy,
        testRmse: r.test.rmse,
        testLoss: r.test.loss,
        finalLoss: r.finalTrainLoss,
        seconds: r.seconds,
        imagesPerSecond: r.imagesPerSecond,
        lossCurve: r.lossCurve,
        epochAccuracy: r.epochAccuracy,
      };
      runs.push(run);
      o.onRun?.(run);
    }
  }
  return runs;
}

function meanStd(v: number[]): [number, number] {
  const m = v.reduce((a, b) => a + b, 0) / v.length;
  const sd = v.length > 1 ? Math.sqrt(v.reduce((a, b) => a + (b - m) ** 2, 0) / (v.length - 1)) : 0;
  return [m, sd];
}

/** Per variant: accuracy (or RMSE) mean and sample standard deviation over seeds, mean final loss and throughput. */
export function summarize(runs: CompareRun[]): CompareSummary[] {
  return (['bn', 'deconv'] as const)
    .map((model) => {
      const rs = runs.filter((r) => r.model === model);
      const [accuracyMean, accuracyStd] = meanStd(rs.map((r) => r.testAccuracy));
      const [rmseMean, rmseStd] = meanStd(rs.map((r) => r.testRmse));
      return {
        model,
        runs: rs.length,
        accuracyMean,
        accuracyStd,
        rmseMean,
        rmseStd,
        finalLoss: meanStd(rs.map((r) => r.finalLoss))[0],
        imagesPerSecond: meanStd(rs.map((r) => r.imagesPerSecond))[0],
      };
    })
    .filter((s) => s.runs > 0);
}
