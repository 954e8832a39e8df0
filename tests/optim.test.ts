// Optimizers, schedules and the LR finder beyond the fixtures: errors, state round trips, the sweep.
import * as assert from 'uvu/assert';
import { manualSeed, nn, optim, type Tensor, tensor } from '../src/index.js';
import { forEachBackend } from './helpers.js';

forEachBackend('optim', (test) => {
  test('SGD minimises a quadratic', () => {
    const p = tensor([3, -2], [2], { requiresGrad: true });
    const opt = new optim.SGD([p], { lr: 0.1, momentum: 0.9 });
    for (let i = 0; i < 200; i++) {
      opt.zeroGrad();
      p.mul(p).sum().backward();
      opt.step();
    }
    assert.ok(
      p.toArray().every((v) => Math.abs(v) < 1e-3),
      `p = ${p.toArray()}`,
    );
  });

  test('parameter groups take their own hyper-parameters', () => {
    const a = tensor([1], [1], { requiresGrad: true });
    const b = tensor([1], [1], { requiresGrad: true });
    const opt = new optim.SGD([{ params: [a] }, { params: [b], lr: 0.5 }], { lr: 0.1 });
    a.grad = tensor([1], [1]);
    b.grad = tensor([1], [1]);
    opt.step();
    assert.ok(Math.abs(a.item() - 0.9) < 1e-7 && Math.abs(b.item() - 0.5) < 1e-7);
  });

  test('optimizer state dict round-trips and resumes identically', () => {
    const run = (resumeAt: number | null) => {
      const p = tensor([1, 2, 3], [3], { requiresGrad: true });
      let opt = new optim.Adam([p], { lr: 0.1 });
      for (let i = 0; i < 6; i++) {
        if (i === resumeAt) {
          const saved = JSON.parse(JSON.stringify(opt.stateDict()));
          opt = new optim.Adam([p], { lr: 0.1 });
          opt.loadStateDict(saved);
        }
        opt.zeroGrad();
        p.mul(p)
          .mul(tensor([1, 2, 3], [3]))
          .sum()
          .backward();
        opt.step();
      }
      return p.toArray();
    };
    assert.equal(run(3), run(null));
  });

  test('invalid hyper-parameters are rejected', () => {
    const p = [tensor([1], [1], { requiresGrad: true })];
    assert.throws(() => new optim.SGD(p, { lr: -1 }), /SGD: the learning rate must be a finite number ≥ 0, got -1/);
    assert.throws(() => new optim.SGD(p, { nesterov: true }), /nesterov needs momentum > 0/);
    assert.throws(() => new optim.Adam(p, { betas: [1, 0.9] }), /betas must be in \[0, 1\)/);
    assert.throws(() => new optim.SGD([], {}), /empty parameter list/);
  });

  test('OneCycleLR refuses to step past totalSteps + 1, as PyTorch', () => {
    const opt = new optim.SGD([tensor([1], [1], { requiresGrad: true })], { lr: 0.1, momentum: 0.9 });
    const s = new optim.lrScheduler.OneCycleLR(opt, { maxLr: 1, totalSteps: 4 });
    for (let i = 0; i < 4; i++) s.step();
    assert.throws(() => s.step(), /stepped 5 times, more than totalSteps = 4/);
  });

  test('OneCycleLR threePhase: up to maxLr, back to the initial rate, then down to the minimum', () => {
    const opt = new optim.SGD([tensor([1], [1], { requiresGrad: true })], { lr: 0.1, momentum: 0.9 });
    const s = new optim.lrScheduler.OneCycleLR(opt, { maxLr: 1, totalSteps: 21, pctStart: 0.25, threePhase: true });
    const lrs = [opt.paramGroups[0].lr];
    const moms = [opt.paramGroups[0].momentum as number];
    for (let i = 0; i < 20; i++) {
      s.step();
      lrs.push(opt.paramGroups[0].lr);
      moms.push(opt.paramGroups[0].momentum as number);
    }
    const close = (a: number, b: number) => Math.abs(a - b) < 1e-12;
    // Phase ends: 0.25·21 − 1 = 4.25, 2·0.25·21 − 2 = 8.5, 20.
    assert.ok(close(lrs[0], 1 / 25) && close(lrs[20], 1 / 25 / 1e4), `${lrs[0]} … ${lrs[20]}`);
    assert.ok(lrs[4] > 0.99 && lrs[5] < lrs[4] && lrs[8] < 0.08 && lrs[9] < 1 / 25, `${lrs.slice(3, 10)}`);
    assert.ok(
      lrs.slice(9).every((v, i, a) => i === 0 || v < a[i - 1]),
      'the last phase only decreases',
    );
    assert.ok(close(moms[0], 0.95) && moms[4] < 0.851 && close(moms[20], 0.95));
  });

  test('ExponentialLR multiplies by gamma every step', () => {
    const opt = new optim.SGD([tensor([1], [1], { requiresGrad: true })], { lr: 2 });
    const s = new optim.lrScheduler.ExponentialLR(opt, { gamma: 0.5 });
    s.step();
    s.step();
    assert.is(opt.paramGroups[0].lr, 0.5);
  });

  test('Adam amsgrad keeps the running maximum of the second moment', () => {
    const run = (amsgrad: boolean) => {
      const p = tensor([0], [1], { requiresGrad: true });
      const opt = new optim.Adam([p], { lr: 0.1, amsgrad });
      for (const g of [10, 0.1, 0.1]) {
        p.grad = tensor([g], [1]);
        opt.step();
      }
      return { p: p.item(), st: opt.state.get(p)! };
    };
    const a = run(true);
    const b = run(false);
    const vmax = (a.st.max_exp_avg_sq as any).item();
    assert.ok(vmax >= (a.st.exp_avg_sq as any).item());
    assert.ok(Math.abs(vmax - 100 * 0.001) < 1e-6, `max_exp_avg_sq ${vmax}`); // (1−β2)·10² after step 1, the maximum
    assert.ok(Math.abs(a.p) < Math.abs(b.p), 'the larger denominator takes smaller steps');
    assert.not.ok('max_exp_avg_sq' in b.st);
  });

  test('MultiStepLR decays at each milestone', () => {
    const opt = new optim.SGD([tensor([1], [1], { requiresGrad: true })], { lr: 1 });
    const s = new optim.lrScheduler.MultiStepLR(opt, { milestones: [2, 4], gamma: 0.5 });
    const lrs = [opt.paramGroups[0].lr];
    for (let i = 0; i < 5; i++) {
      s.step();
      lrs.push(opt.paramGroups[0].lr);
    }
    assert.equal(lrs, [1, 1, 0.5, 0.5, 0.25, 0.25]);
  });

  test('lrFinder sweeps exponentially, suggests a sensible rate and restores the model', () => {
    manualSeed(3);
    // A linear regression where any rate in roughly [1e-3, 1] learns and larger ones diverge.
    const model = new nn.Linear(4, 1);
    const before = model.weight.toArray();
    const opt = new optim.SGD(model.parameters(), { lr: 0.01 });
    const x = tensor(
      Array.from({ length: 64 * 4 }, (_, i) => Math.sin(i * 1.7)),
      [64, 4],
    );
    const y = x.matmul(tensor([1, -2, 3, 0.5], [4, 1])).detach();
    const r = optim.lrFinder(model, opt, () => nn.functional.mseLoss(model.forward(x) as Tensor, y), {
      startLr: 1e-5,
      endLr: 100,
      numIter: 60,
      beta: 0.9,
    });
    assert.ok(r.lrs.length >= 10 && r.lrs.length === r.smoothed.length);
    for (let i = 1; i < r.lrs.length; i++) assert.ok(r.lrs[i] > r.lrs[i - 1]);
    assert.ok(r.diverged, 'a rate of 100 diverges');
    assert.ok(r.suggestion > 1e-4 && r.suggestion < 2, `suggestion ${r.suggestion}`);
    assert.ok(Math.min(...r.smoothed) < r.smoothed[0] / 2, 'the loss fell during the sweep');
    assert.equal(model.weight.toArray(), before, 'weights restored');
    assert.is(opt.paramGroups[0].lr, 0.01, 'learning rate restored');
  });

  /** The rate of step i of sweepCurve's sweep (1e-4 to 1 in 60 steps). */
  const lrAt = (i: number) => 1e-4 * 1e4 ** (i / 59);
  /** lrFinder over 60 steps whose loss at step i is curve[i] (beta 0: unsmoothed, so each rule's step is known). */
  const sweepCurve = (curve: number[]) => {
    const w = new nn.Linear(1, 1);
    const opt = new optim.SGD(w.parameters(), { lr: 0.1 });
    return optim.lrFinder(w, opt, (i) => w.weight.sum().mul(0).add(curve[i]), {
      startLr: 1e-4,
      endLr: 1,
      numIter: 60,
      beta: 0,
    });
  };

  test('lrFinder rules on a known curve: steepest, minimum, valley and their geometric mean', () => {
    // The loss is a function of the step alone: flat to step 15, then falling, by 0.03 + 0.1·(1 − |j − 29|/15) from
    // step j to j + 1 (fastest, and uniquely so, from 29 to 30), to a minimum at step 45, then rising. Plain sums
    // (no Math.cos, whose last bit differs between runtimes) keep the steepest step exact. beta 0 leaves the curve
    // unsmoothed, so each rule's step is known.
    const curve: number[] = [];
    for (let i = 0; i < 60; i++) {
      if (i <= 15) curve.push(3);
      else if (i <= 45) curve.push(curve[i - 1] - (0.03 + 0.1 * Math.max(0, 1 - Math.abs(i - 1 - 29) / 15)));
      else curve.push(curve[45] + (i - 45) * 0.01);
    }
    const r = sweepCurve(curve);
    assert.ok(Math.abs(r.steepestLr / lrAt(29) - 1) < 1e-9, `steepest ${r.steepestLr} vs ${lrAt(29)}`);
    assert.ok(Math.abs(r.minLossLr / lrAt(45) - 1) < 1e-9, `minimum ${r.minLossLr}`);
    assert.ok(Math.abs(r.suggestion / Math.sqrt(lrAt(29) * lrAt(45)) - 1) < 1e-9, `suggestion ${r.suggestion}`);
    // The longest falling run is steps 15…45 (from the last flat step, 14): a third of 31 is 10, half of that 5.
    assert.ok(Math.abs(r.valleyLr / lrAt(14 + 10 + 5) - 1) < 1e-9, `valley ${r.valleyLr} vs ${lrAt(29)}`);
  });

  test("lrFinder: a loss still falling at the sweep's last rate found no edge of stability; it suggests √(valley · steepest)", () => {
    // As the curve above without the rise: falling from step 16 to the last step, fastest from 29 to 30.
    const curve: number[] = [];
    for (let i = 0; i < 60; i++)
      curve.push(i <= 15 ? 3 : curve[i - 1] - (0.03 + 0.1 * Math.max(0, 1 - Math.abs(i - 1 - 29) / 15)));
    const r = sweepCurve(curve);
    assert.not.ok(r.diverged);
    assert.ok(Math.abs(r.minLossLr / lrAt(59) - 1) < 1e-9, `minimum ${r.minLossLr}`);
    assert.ok(Math.abs(r.steepestLr / lrAt(29) - 1) < 1e-9, `steepest ${r.steepestLr} vs ${lrAt(29)}`);
    // The longest falling run is steps 15…59 (from the last flat step, 14): a third of 45 is 15, half of that 7.
    assert.ok(Math.abs(r.valleyLr / lrAt(14 + 15 + 7) - 1) < 1e-9, `valley ${r.valleyLr} vs ${lrAt(36)}`);
    const expected = Math.sqrt(lrAt(29) * lrAt(36));
    assert.ok(Math.abs(r.suggestion / expected - 1) < 1e-9, `suggestion ${r.suggestion} vs ${expected}`);
  });
});
