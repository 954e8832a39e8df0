// Learning-rate schedules with PyTorch's step convention: the constructor performs "step 0" and sets the rate
// used by the first optimizer step; call step() after each optimizer.step(). Rates come from closed forms.
import type { Optimizer, ParamGroup } from './optimizer.js';

/** Throws unless a schedule's decay factor is a finite number > 0. */
function checkGamma(name: string, gamma: number): number {
  if (!(Number.isFinite(gamma) && gamma > 0))
    throw new Error(`${name}: gamma must be a finite number > 0, got ${gamma}`);
  return gamma;
}

/** A learning-rate schedule with PyTorch's step convention: call `step()` after each `optimizer.step()`. */
export abstract class LRScheduler {
  /** Index of the current step (0 after construction). */
  lastEpoch = -1;
  /** Each group's rate when the scheduler was created (PyTorch's `initial_lr`). */
  readonly baseLrs: number[];

  constructor(protected readonly optimizer: Optimizer<object>) {
    this.baseLrs = optimizer.paramGroups.map((g) => g.lr);
  }

  /** The rate of group `i` at step `t`. */
  protected abstract lrAt(t: number, i: number, group: ParamGroup): number;

  /** Advances one step and writes the new rates (and momenta, where the schedule has them) into the groups. */
  step(): void {
    this.lastEpoch += 1;
    this.optimizer.paramGroups.forEach((g, i) => {
      g.lr = this.lrAt(this.lastEpoch, i, g);
    });
  }

  /** The rates currently set. */
  getLastLr(): number[] {
    return this.optimizer.paramGroups.map((g) => g.lr);
  }

  /** The step count and base rates, for checkpoints. */
  stateDict(): { lastEpoch: number; baseLrs: number[] } {
    return { lastEpoch: this.lastEpoch, baseLrs: [...this.baseLrs] };
  }

  /** Restores what `stateDict()` returned. */
  loadStateDict(s: { lastEpoch: number; baseLrs: number[] }): void {
    this.checkStateDict(s);
    this.lastEpoch = s.lastEpoch;
    this.baseLrs.splice(0, this.baseLrs.length, ...s.baseLrs);
  }

  /** Throws unless `s` is a state this scheduler can load: a step count ≥ −1 and a finite base rate per group. */
  checkStateDict(s: { lastEpoch: number; baseLrs: number[] }): void {
    const name = this.constructor.name;
    if (!(Number.isInteger(s?.lastEpoch) && s.lastEpoch >= -1))
      throw new Error(`${name}.loadStateDict: lastEpoch must be an integer ≥ −1, got ${s?.lastEpoch}`);
    const groups = this.optimizer.paramGroups.length;
    if (
      !Array.isArray(s.baseLrs) ||
      s.baseLrs.length !== groups ||
      !s.baseLrs.every((l) => Number.isFinite(l) && l >= 0)
    )
      throw new Error(
        `${name}.loadStateDict: baseLrs must be ${groups} finite rates ≥ 0, got ${JSON.stringify(s.baseLrs)}`,
      );
  }
}

/** lr = base · gamma^⌊t / stepSize⌋. */
export class StepLR extends LRScheduler {
  readonly stepSize: number;
  readonly gamma: number;

  constructor(optimizer: Optimizer<object>, opts: { stepSize: number; gamma?: number }) {
    super(optimizer);
    if (!(Number.isInteger(opts.stepSize) && opts.stepSize > 0))
      throw new Error(`StepLR: stepSize must be a positive integer, got ${opts.stepSize}`);
    this.stepSize = opts.stepSize;
    this.gamma = checkGamma('StepLR', opts.gamma ?? 0.1);
    this.step();
  }

  protected lrAt(t: number, i: number): number {
    return this.baseLrs[i] * this.gamma ** Math.floor(t / this.stepSize);
  }
}

/** lr = base · gamma^t. */
export class ExponentialLR extends LRScheduler {
  constructor(
    optimizer: Optimizer<object>,
    readonly opts: { gamma: number },
  ) {
    super(optimizer);
    checkGamma('ExponentialLR', opts.gamma);
    this.step();
  }

  protected lrAt(t: number, i: number): number {
    return this.baseLrs[i] * this.opts.gamma ** t;
  }
}

/** lr = base · gamma^(number of milestones ≤ t). */
export class MultiStepLR extends LRScheduler {
  readonly milestones: number[];
  readonly gamma: number;

  constructor(optimizer: Optimizer<object>, opts: { milestones: number[]; gamma?: number }) {
    super(optimizer);
    this.milestones = [...opts.milestones].sort((a, b) => a - b);
    this.gamma = checkGamma('MultiStepLR', opts.gamma ?? 0.1);
    this.step();
  }

  protected lrAt(t: number, i: number): number {
    return this.baseLrs[i] * this.gamma ** this.milestones.filter((m) => m <= t).length;
  }
}

/** lr = etaMin + (base − etaMin)·(1 + cos(π t / tMax))/2; past tMax the cosine continues (PyTorch). */
export class CosineAnnealingLR extends LRScheduler {
  readonly tMax: number;
  readonly etaMin: number;

  constructor(optimizer: Optimizer<object>, opts: { tMax: number; etaMin?: number }) {
    super(optimizer);
    if (!(opts.tMax > 0)) throw new Error(`CosineAnnealingLR: tMax must be positive, got ${opts.tMax}`);
    this.tMax = opts.tMax;
    this.etaMin = opts.etaMin ?? 0;
    this.step();
  }

  protected lrAt(t: number, i: number): number {
    return this.etaMin + ((this.baseLrs[i] - this.etaMin) * (1 + Math.cos((Math.PI * t) / this.tMax))) / 2;
  }
}

/** Options of `OneCycleLR` (PyTorch's defaults when omitted). */
export interface OneCycleOptions {
  maxLr: number | number[];
  totalSteps: number;
  pctStart?: number;
  annealStrategy?: 'cos' | 'linear';
  cycleMomentum?: boolean;
  baseMomentum?: number;
  maxMomentum?: number;
  divFactor?: number;
  finalDivFactor?: number;
  /** Three phases (up, back down to the initial rate, then to the minimum) instead of two. */
  threePhase?: boolean;
}

/** One phase of the cycle: from `start` to `end` of the rate and of the momentum, ending at step `endStep`. */
interface Phase {
  endStep: number;
  lr: [number, number];
  momentum: [number, number];
}

/**
 * The one-cycle policy (torch.optim.lr_scheduler.OneCycleLR, two phases): the rate rises from maxLr/divFactor to
 * maxLr over pctStart of the steps, then anneals to maxLr/(divFactor·finalDivFactor); momentum (SGD) or beta1
 * (Adam) moves the opposite way. The phase boundary pctStart·totalSteps − 1 stays fractional. With threePhase the
 * rate first returns to the initial rate, then anneals to the minimum.
 */
export class OneCycleLR extends LRScheduler {
  readonly totalSteps: number;
  private readonly maxLrs: number[];
  private readonly initialLrs: number[];
  private readonly minLrs: number[];
  private readonly phases: Phase[];
  private readonly anneal: (a: number, b: number, pct: number) => number;
  private readonly opts: Required<Omit<OneCycleOptions, 'maxLr' | 'totalSteps'>>;

  constructor(optimizer: Optimizer<object>, opts: OneCycleOptions) {
    super(optimizer);
    if (!(Number.isInteger(opts.totalSteps) && opts.totalSteps > 0))
      throw new Error(`OneCycleLR: totalSteps must be a positive integer, got ${opts.totalSteps}`);
    this.opts = {
      pctStart: opts.pctStart ?? 0.3,
      annealStrategy: opts.annealStrategy ?? 'cos',
      cycleMomentum: opts.cycleMomentum ?? true,
      baseMomentum: opts.baseMomentum ?? 0.85,
      maxMomentum: opts.maxMomentum ?? 0.95,
      divFactor: opts.divFactor ?? 25,
      finalDivFactor: opts.finalDivFactor ?? 1e4,
      threePhase: opts.threePhase ?? false,
    };
    const o = this.opts;
    if (!(o.pctStart > 0 && o.pctStart < 1))
      throw new Error(`OneCycleLR: pctStart must be in (0, 1), got ${o.pctStart}`);
    this.totalSteps = opts.totalSteps;
    const groups = optimizer.paramGroups;
    this.maxLrs = Array.isArray(opts.maxLr) ? opts.maxLr : groups.map(() => opts.maxLr as number);
    if (this.maxLrs.length !== groups.length)
      throw new Error(`OneCycleLR: ${this.maxLrs.length} maxLr values for ${groups.length} groups`);
    for (const m of this.maxLrs)
      if (!(Number.isFinite(m) && m > 0)) throw new Error(`OneCycleLR: maxLr must be a finite number > 0, got ${m}`);
    for (const [what, v] of [
      ['divFactor', o.divFactor],
      ['finalDivFactor', o.finalDivFactor],
    ] as const)
      if (!(Number.isFinite(v) && v > 0)) throw new Error(`OneCycleLR: ${what} must be a finite number > 0, got ${v}`);
    this.initialLrs = this.maxLrs.map((m) => m / o.divFactor);
    this.minLrs = this.initialLrs.map((l) => l / o.finalDivFactor);
    // Rates are indices into [initial, max, min] per group; the boundaries stay fractional, as in PyTorch.
    const up = o.pctStart * this.totalSteps - 1;
    const [lo, hi] = [o.baseMomentum, o.maxMomentum];
    this.phases = o.threePhase
      ? [
          { endStep: up, lr: [0, 1], momentum: [hi, lo] },
          { endStep: 2 * o.pctStart * this.totalSteps - 2, lr: [1, 0], momentum: [lo, hi] },
          { endStep: this.totalSteps - 1, lr: [0, 2], momentum: [hi, hi] },
        ]
      : [
          { endStep: up, lr: [0, 1], momentum: [hi, lo] },
          { endStep: this.totalSteps - 1, lr: [1, 2], momentum: [lo, hi] },
        ];
    this.anneal =
      o.annealStrategy === 'cos'
        ? (a, b, pct) => b + ((a - b) / 2) * (1 + Math.cos(Math.PI * pct))
        : (a, b, pct) => (b - a) * pct + a;
    if (o.cycleMomentum) {
      for (const g of groups) {
        if (!('momentum' in g) && !('betas' in g))
          throw new Error('OneCycleLR: cycleMomentum needs an optimizer with momentum or betas');
      }
    }
    groups.forEach((g, i) => {
      g.lr = this.initialLrs[i];
    });
    this.baseLrs.splice(0, this.baseLrs.length, ...this.initialLrs);
    this.step();
  }

  protected lrAt(t: number, i: number, group: ParamGroup): number {
    if (t > this.totalSteps) {
      throw new Error(`OneCycleLR: stepped ${t} times, more than totalSteps = ${this.totalSteps}`);
    }
    const rates = [this.initialLrs[i], this.maxLrs[i], this.minLrs[i]];
    let start = 0;
    let k = 0;
    while (t > this.phases[k].endStep && k < this.phases.length - 1) start = this.phases[k++].endStep;
    const phase = this.phases[k];
    const pct = (t - start) / (phase.endStep - start);
    if (this.opts.cycleMomentum) {
      const mom = this.anneal(phase.momentum[0], phase.momentum[1], pct);
      if ('betas' in group) group.betas = [mom, (group.betas as [number, number])[1]];
      else group.momentum = mom;
    }
    return this.anneal(rates[phase.lr[0]], rates[phase.lr[1]], pct);
  }
}
