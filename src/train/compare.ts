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

/** The mean test score of runs: accuracy, or RMSE for regression runs. */
function meanScore(runs: CompareRun[]): number {
  const regress = runs.every((r) => Number.isNaN(r.testAccuracy));
  return meanStd(runs.map((r) => (regress ? r.testRmse : r.testAccuracy)))[0];
}

/**
 * Each variant's best rate in a sweep: the rate whose runs have the highest mean accuracy (lowest mean RMSE for
 * regression), with its summary.
 */
export function bestRates(runs: CompareRun[]): { model: Variant; lr: number; summary: CompareSummary }[] {
  const regress = runs.every((r) => Number.isNaN(r.testAccuracy));
  const rates = [...new Set(runs.map((r) => r.lr))];
  return (['bn', 'deconv'] as const).flatMap((model) => {
    const scored = rates
      .map((lr) => ({ lr, rs: runs.filter((r) => r.model === model && r.lr === lr) }))
      .filter(({ rs }) => rs.length > 0)
      .map(({ lr, rs }) => ({ lr, score: meanScore(rs), rs }));
    if (scored.length === 0) return [];
    // NaN scores (diverged runs) never win.
    const ok = scored.filter((s) => Number.isFinite(s.score));
    const best = (ok.length ? ok : scored).reduce((a, b) =>
      (regress ? b.score < a.score : b.score > a.score) ? b : a,
    );
    return [{ model, lr: best.lr, summary: summarize(best.rs)[0] }];
  });
}
