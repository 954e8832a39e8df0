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
  /** Peak learning rate of the run. */
  lr: number;
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
        lr: o.cfg.lr,
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

/** Runs `compareBnDeconv` at each peak learning rate in `rates` (every seed, both variants, at every rate). */
export function compareLrSweep(o: CompareOptions & { rates: number[] }): CompareRun[] {
  return o.rates.flatMap((lr) => compareBnDeconv({ ...o, cfg: { ...o.cfg, lr } }));
}

/** A run's test score: its RMSE when it is a regression run (its accuracy is NaN), else its accuracy. */
export function testScore(run: CompareRun): number {
  return Number.isNaN(run.testAccuracy) ? run.testRmse : run.testAccuracy;
}

/** Whether the runs are regression runs, scored by RMSE (lower is better) rather than accuracy. */
export function isRegression(runs: readonly CompareRun[]): boolean {
  return runs.length > 0 && runs.every((r) => Number.isNaN(r.testAccuracy));
}

/** A summary's test score, mean and standard deviation: RMSE for regression runs, accuracy otherwise. */
export function summaryScore(s: CompareSummary, regress: boolean): [number, number] {
  return regress ? [s.rmseMean, s.rmseStd] : [s.accuracyMean, s.accuracyStd];
}

/**
 * Each variant's best rate in a sweep: the rate whose runs have the highest mean accuracy (lowest mean RMSE for
 * regression), with its summary.
 */
export function bestRates(runs: CompareRun[]): { model: Variant; lr: number; summary: CompareSummary }[] {
  const regress = isRegression(runs);
  const rates = [...new Set(runs.map((r) => r.lr))];
  return (['bn', 'deconv'] as const).flatMap((model) => {
    const scored = rates
      .map((lr) => ({ lr, rs: runs.filter((r) => r.model === model && r.lr === lr) }))
      .filter(({ rs }) => rs.length > 0)
      .map(({ lr, rs }) => ({ lr, score: meanStd(rs.map(testScore))[0], rs }));
    if (scored.length === 0) return [];
    // NaN scores (diverged runs) never win.
    const ok = scored.filter((s) => Number.isFinite(s.score));
    const best = (ok.length ? ok : scored).reduce((a, b) =>
      (regress ? b.score < a.score : b.score > a.score) ? b : a,
    );
    return [{ model, lr: best.lr, summary: summarize(best.rs)[0] }];
  });
}
