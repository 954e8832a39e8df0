// The learning-rate range test (Smith 2015; fastai's lr_find): raise the rate exponentially every step, watch the
// smoothed loss, stop when it diverges, and suggest a one-cycle peak rate between where the loss falls fastest
// and where it bottoms out.
import type { Tensor } from '../autograd/tensor.js';
import type { Module } from '../nn/module.js';
import type { Optimizer } from './optimizer.js';

/** Options of `lrFinder`. */
export interface LrFinderOptions {
  startLr?: number;
  endLr?: number;
  /** Number of steps of the sweep. */
  numIter?: number;
  /** Weight of the past in the loss's exponential moving average (bias-corrected). */
  beta?: number;
  /** Stop once the smoothed loss exceeds this multiple of the best smoothed loss. */
  divergeThreshold?: number;
}

/** What `lrFinder` measured, and the rate it suggests. */
export interface LrFinderResult {
  /** The rate of each step actually taken. */
  lrs: number[];
  /** The raw loss of each step. */
  losses: number[];
  /** The bias-corrected moving average of the losses (plot this against lrs on a log axis). */
  smoothed: number[];
  /**
   * The suggested peak rate of a one-cycle schedule: half-way, on a log scale, between the rate where the smoothed
   * loss falls fastest (`steepestLr`, a rate that surely trains) and the rate where it bottoms out (`minLossLr`,
   * the edge of stability), i.e. √(steepestLr · minLossLr). When the loss is lowest at the sweep's last rate (no
   * edge of stability in the range), half-way between the valley (`valleyLr`, a cautious rate) and the steepest
   * descent: √(valleyLr · steepestLr).
   */
  suggestion: number;
  /** The rate with the lowest smoothed loss. */
  minLossLr: number;
  /** The rate where the smoothed loss falls fastest per unit of log(lr). */
  steepestLr: number;
  /** fastai's "valley": the longest falling stretch of the smoothed loss, 1/3 + 1/6 of the way along it. */
  valleyLr: number;
  /** Whether the sweep stopped early because the loss diverged. */
  diverged: boolean;
}

/**
 * Runs the sweep with `closure(step)` computing one batch's loss, then restores the model's weights and the
 * optimizer's state, so the sweep leaves no trace.
 */
export function lrFinder(
  model: Module,
  optimizer: Optimizer<object>,
  closure: (step: number) => Tensor,
  opts: LrFinderOptions = {},
): LrFinderResult {
  const startLr = opts.startLr ?? 1e-7;
  const endLr = opts.endLr ?? 10;
  const numIter = opts.numIter ?? 100;
  const beta = opts.beta ?? 0.98;
  const threshold = opts.divergeThreshold ?? 4;
  if (!(startLr > 0 && endLr > startLr && numIter >= 2)) {
    throw new Error(`lrFinder: need 0 < startLr < endLr and numIter ≥ 2, got ${startLr}, ${endLr}, ${numIter}`);
  }
  const savedModel = Object.fromEntries(Object.entries(model.stateDict()).map(([k, t]) => [k, t.clone().keep()]));
  const savedOpt = optimizer.stateDict();
  const wasTraining = model.training;
  model.train();

  const lrs: number[] = [];
  const losses: number[] = [];
  const smoothed: number[] = [];
  let avg = 0;
  let best = Infinity;
  let diverged = false;
  const ratio = (endLr / startLr) ** (1 / (numIter - 1));
  try {
    for (let i = 0; i < numIter; i++) {
      const lr = startLr * ratio ** i;
      for (const g of optimizer.paramGroups) g.lr = lr;
      optimizer.zeroGrad();
      let loss: number;
      try {
        const l = closure(i);
        loss = l.item();
        if (!Number.isFinite(loss)) throw new Error('non-finite loss');
        l.backward();
      } catch {
        diverged = true; // a NaN or infinite loss is divergence, not a failure of the sweep
        break;
      }
      optimizer.step();
      avg = beta * avg + (1 - beta) * loss;
      const s = avg / (1 - beta ** (i + 1));
      lrs.push(lr);
      losses.push(loss);
      smoothed.push(s);
      best = Math.min(best, s);
      if (i > 0 && s > threshold * best) {
        diverged = true;
        break;
      }
    }
  } finally {
    model.loadStateDict(savedModel);
    optimizer.loadStateDict(savedOpt);
    model.train(wasTraining);
  }
  if (lrs.length < 3) throw new Error(`lrFinder: the loss diverged after ${lrs.length} step(s); lower startLr`);
  return { lrs, losses, smoothed, diverged, ...suggest(lrs, smoothed) };
}

/**
 * The longest falling subsequence of the smoothed loss (not necessarily contiguous: noise may interrupt it) and
 * the rate half-way into its middle third, as fastai's `valley` suggester does.
 */
function valley(lrs: number[], smoothed: number[]): number {
  const n = smoothed.length;
  const run = new Array<number>(n).fill(1);
  let end = 0;
  let start = 0;
  for (let i = 1; i < n; i++) {
    for (let j = 0; j < i; j++) if (smoothed[i] < smoothed[j] && run[i] < run[j] + 1) run[i] = run[j] + 1;
    if (run[i] > run[end]) {
      end = i;
      start = end - run[end];
    }
  }
  const third = (end - start) / 3;
  return lrs[Math.max(0, Math.min(n - 1, start + Math.floor(third) + Math.floor(third / 2)))];
}

/** The steepest descent of the smoothed curve in log(lr), ignoring the noisy ends; the minimum; the valley. */
function suggest(
  lrs: number[],
  smoothed: number[],
): { suggestion: number; minLossLr: number; steepestLr: number; valleyLr: number } {
  const skipStart = Math.min(5, Math.floor(lrs.length / 10));
  const end = Math.max(skipStart + 2, lrs.length - Math.max(1, Math.floor(lrs.length / 20)));
  let steepest = skipStart;
  let bestSlope = Infinity;
  for (let i = skipStart; i < end - 1; i++) {
    const slope = (smoothed[i + 1] - smoothed[i]) / Math.log(lrs[i + 1] / lrs[i]);
    if (slope < bestSlope) {
      bestSlope = slope;
      steepest = i;
    }
  }
  let minAt = 0;
  for (let i = 1; i < smoothed.length; i++) if (smoothed[i] < smoothed[minAt]) minAt = i;
  // A loss still at its lowest on the sweep's last rate found no edge of stability (a deconvolution network often
  // trains at any rate of the range): the minimum is then only where the sweep ended, and the steepest descent is
  // the bold end of what the curve shows; the valley is its cautious end, and the suggestion lies half-way.
  const edgeFound = minAt < lrs.length - 1;
  const valleyLr = valley(lrs, smoothed);
  return {
    suggestion: Math.sqrt(lrs[steepest] * (edgeFound ? lrs[minAt] : valleyLr)),
    minLossLr: lrs[minAt],
    steepestLr: lrs[steepest],
    valleyLr,
  };
}
