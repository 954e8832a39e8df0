// Properties of network deconvolution beyond the fixtures: Newton–Schulz, whitening, the fold, the running
// statistics and the freeze schedule, robustness, gradients, model surgery. On every backend.
import fc from 'fast-check';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import {
  Generator,
  getBackend,
  gradcheck,
  linalg,
  manualSeed,
  nn,
  noGrad,
  setBackend,
  type Tensor,
  tensor,
} from '../src/index.js';
import { forEachBackend } from './helpers.js';

const F = nn.functional;

/** A random SPD matrix MᵀM/d + shift·I (float64 for the algebra checks). */
function spd(d: number, seed: number, shift = 0.1): Tensor {
  const g = new Generator(seed);
  const m = tensor(
    Array.from({ length: d * d }, () => g.normal()),
    [d, d],
    { dtype: 'float64' },
  );
  return noGrad(() =>
    m.T.matmul(m)
      .div(d)
      .add(tensor(identity(d), [d, d], { dtype: 'float64' }).mul(shift)),
  );
}

function identity(d: number): number[] {
  return Array.from({ length: d * d }, (_, i) => (Math.floor(i / d) === i % d ? 1 : 0));
}

/** max |D·A·D − I|: how far D is from A^(−1/2). */
function residual(A: Tensor, D: Tensor): number {
  const r = noGrad(() => D.matmul(A).matmul(D)).toArray();
  const d = A.shape[0];
  return Math.max(...r.map((v, i) => Math.abs(v - (Math.floor(i / d) === i % d ? 1 : 0))));
}

/** Whether a symmetric matrix is positive definite (Cholesky succeeds). */
function positiveDefinite(a: number[], d: number): boolean {
  const L = new Float64Array(d * d);
  for (let i = 0; i < d; i++) {
    for (let j = 0; j <= i; j++) {
      let s = a[i * d + j];
      for (let k = 0; k < j; k++) s -= L[i * d + k] * L[j * d + k];
      if (i === j) {
        if (!(s > 0)) return false;
        L[i * d + i] = Math.sqrt(s);
      } else L[i * d + j] = s / L[j * d + j];
    }
  }
  return true;
}

function randomInput(shape: number[], seed: number, correlated = true): Tensor {
  const g = new Generator(seed);
  const base = Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => g.normal());
  // Neighbouring values share a component, so patches are correlated, as in natural images.
  const v = correlated ? base.map((x, i) => x + 0.8 * (base[i - 1] ?? 0)) : base;
  return tensor(v, shape);
}

function maxAbsDiff(a: Tensor, b: Tensor): number {
  const x = a.toArray();
  const y = b.toArray();
  assert.is(x.length, y.length);
  return Math.max(...x.map((v, i) => Math.abs(v - y[i])));
}

// The algebra of the iteration, in float64 on the reference backend (the fixtures cover float32 on every backend).
const algebra = suite('Newton–Schulz algebra (float64, js)');
algebra.before(async () => {
  await setBackend('js');
});
algebra('Newton–Schulz: symmetric positive definite, and converging to A^(−1/2) as iterations grow', () => {
  fc.assert(
    fc.property(fc.integer({ min: 1, max: 7 }), fc.integer({ min: 0, max: 1e6 }), (d, seed) => {
      const A = spd(d, seed);
      const res = [1, 3, 8, 20].map((n) => residual(A, linalg.isqrtNewtonSchulz(A, n)));
      for (let i = 1; i < res.length; i++) if (!(res[i] <= res[i - 1] + 1e-12)) return false;
      const D = linalg.isqrtNewtonSchulz(A, 20).toArray();
      const symmetric = D.every((v, i) => Math.abs(v - D[(i % d) * d + Math.floor(i / d)]) < 1e-9);
      return res[3] < 1e-6 && symmetric && positiveDefinite(D, d);
    }),
    { numRuns: 40 },
  );
});

algebra('Newton–Schulz: NS(cA) = NS(A)/√c, batched matrices use one norm each', () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 1, max: 6 }),
      fc.double({ min: 0.01, max: 100, noNaN: true }),
      fc.integer({ min: 0, max: 1e6 }),
      (d, c, seed) => {
        const A = spd(d, seed);
        const lhs = linalg.isqrtNewtonSchulz(A.mul(c), 5).toArray();
        const rhs = linalg.isqrtNewtonSchulz(A, 5).div(Math.sqrt(c)).toArray();
        return lhs.every((v, i) => Math.abs(v - rhs[i]) <= 1e-9 * (1 + Math.abs(rhs[i])));
      },
    ),
    { numRuns: 40 },
  );
  const A = spd(3, 1);
  const B = spd(3, 2).mul(50);
  const both = linalg.isqrtNewtonSchulz(
    nn.functional.pad(A.unsqueeze(0), [0, 0, 0, 0, 0, 1]).add(nn.functional.pad(B.unsqueeze(0), [0, 0, 0, 0, 1, 0])),
    7,
  );
  assert.ok(maxAbsDiff(both.index(0), linalg.isqrtNewtonSchulz(A, 7)) < 1e-12);
  assert.ok(maxAbsDiff(both.index(1), linalg.isqrtNewtonSchulz(B, 7)) < 1e-12);
});

algebra.run();

forEachBackend('deconv', (test) => {
  test('whitened patch covariance ≈ I once Newton–Schulz has converged', () => {
    const m = new nn.FastDeconv2d(3, 4, 3, { padding: 1, samplingStride: 1, nIter: 40, momentum: 1 });
    const x = randomInput([4, 3, 8, 8], 3);
    m.forward(x);
    const d = 27;
    const X = F.unfold(x, 3, { padding: 1 }).permute(0, 2, 1).reshape(-1, d);
    const Z = X.sub(m.running_mean).matmul(m.running_deconv);
    const cov = Z.T.matmul(Z).div(X.shape[0]).toArray();
    const worst = Math.max(...cov.map((v, i) => Math.abs(v - (Math.floor(i / d) === i % d ? 1 : 0))));
    assert.ok(worst < 2e-3, `max |cov − I| = ${worst}`);
  });

  test('fold equivalence: whiten the patches, then convolve = convolve with the folded weights', () => {
    const cfgs = fc.record({
      c: fc.constantFrom(2, 4, 6),
      k: fc.constantFrom(1, 2, 3),
      stride: fc.integer({ min: 1, max: 2 }),
      padding: fc.integer({ min: 0, max: 2 }),
      dilation: fc.integer({ min: 1, max: 2 }),
      groups: fc.constantFrom(1, 2),
      block: fc.constantFrom(1, 2, 64),
      seed: fc.integer({ min: 0, max: 1e6 }),
    });
    fc.assert(
      fc.property(cfgs, (o) => {
        const cout = 4;
        const m = new nn.FastDeconv2d(o.c, cout, o.k, {
          stride: o.stride,
          padding: o.padding,
          dilation: o.dilation,
          groups: o.groups,
          block: o.block,
          momentum: 1,
          samplingStride: 1,
        });
        const x = randomInput([2, o.c, 7, 6], o.seed);
        m.forward(x); // momentum 1: the running buffers are this batch's statistics
        m.eval();
        const y = m.forward(x);
        // Whiten every patch explicitly and multiply by the unfolded weight.
        const k2 = o.k * o.k;
        const P = F.unfold(x, o.k, { stride: o.stride, padding: o.padding, dilation: o.dilation })
          .permute(0, 2, 1)
          .reshape(-1, o.c * k2);
        const d = m.numFeatures;
        let Wp: Tensor;
        if (o.groups === 1) {
          const G = o.c / m.block;
          const blocks = P.reshape(-1, d, G).permute(0, 2, 1); // (rows, G, d)
          const white = blocks
            .sub(m.running_mean)
            .matmul(m.running_deconv)
            .permute(0, 2, 1)
            .reshape(-1, o.c * k2);
          Wp = white.matmul(m.weight.reshape(cout, -1).T);
        } else {
          const rows = P.shape[0];
          const white = P.sub(m.running_mean).reshape(rows, o.groups, d).permute(1, 0, 2).matmul(m.running_deconv); // (g, rows, d)
          const W = m.weight.reshape(o.groups, cout / o.groups, d);
          Wp = white.matmul(W.transpose(1, 2)).permute(1, 0, 2).reshape(rows, cout);
        }
        const ref = Wp.add(m.bias!).reshape(2, -1, cout).permute(0, 2, 1).reshape(y.shape);
        return maxAbsDiff(y, ref) < 1e-3 * (1 + Math.max(...ref.toArray().map(Math.abs)));
      }),
      { numRuns: 40 },
    );
  });

  test('eval output equals train output when the running buffers equal the batch statistics', () => {
    for (const [layer, x] of [
      [new nn.FastDeconv2d(4, 6, 3, { padding: 1, momentum: 1, groups: 2 }), randomInput([3, 4, 9, 9], 5)],
      [new nn.FastDeconv2d(8, 6, 1, { momentum: 1, block: 4 }), randomInput([3, 8, 5, 5], 6)],
      [new nn.Delinear(12, 5, { momentum: 1, block: 4 }), randomInput([10, 12], 7)],
    ] as const) {
      const yTrain = layer.train().forward(x);
      const yEval = layer.eval().forward(x);
      assert.ok(maxAbsDiff(yTrain, yEval) < 1e-4, `${layer.constructor.name}: ${maxAbsDiff(yTrain, yEval)}`);
    }
  });

  test('running buffers are an exponential moving average of the batch statistics', () => {
    const x = randomInput([2, 2, 6, 6], 8);
    const probe = new nn.FastDeconv2d(2, 3, 3, { padding: 1, momentum: 1 });
    probe.forward(x);
    const m = new nn.FastDeconv2d(2, 3, 3, { padding: 1, momentum: 0.25 });
    const startMean = m.running_mean.toArray();
    const startDeconv = m.running_deconv.toArray();
    m.forward(x);
    const expectMean = startMean.map((v, i) => 0.75 * v + 0.25 * probe.running_mean.data[i]);
    const expectDeconv = startDeconv.map((v, i) => 0.75 * v + 0.25 * probe.running_deconv.data[i]);
    assert.ok(maxAbsDiff(m.running_mean, tensor(expectMean, m.running_mean.shape)) < 1e-6);
    assert.ok(maxAbsDiff(m.running_deconv, tensor(expectDeconv, m.running_deconv.shape)) < 1e-6);
  });

  test('freeze schedule: statistics on steps 1…freezeIter+1, then frozen until the counter wraps at 10·freezeIter', () => {
    const m = new nn.FastDeconv2d(2, 2, 1, { freeze: true, freezeIter: 3 });
    const updated: boolean[] = [];
    for (let step = 0; step < 36; step++) {
      const before = m.running_deconv.toArray();
      m.forward(randomInput([2, 2, 3, 3], 100 + step));
      updated.push(m.running_deconv.toArray().some((v, i) => v !== before[i]));
    }
    const expected = Array.from({ length: 36 }, (_, i) => i % 30 <= 3);
    assert.equal(updated, expected);
    m.eval();
    const c = m.counter;
    m.forward(randomInput([2, 2, 3, 3], 1));
    assert.is(m.counter, c, 'eval does not advance the schedule');
  });

  test('finite outputs and gradients for constant inputs and for fewer samples than features', () => {
    const cases: [nn.Module, Tensor][] = [
      [new nn.FastDeconv2d(8, 4, 3, { padding: 1 }), tensor(new Array(1 * 8 * 2 * 2).fill(0.7), [1, 8, 2, 2])],
      [new nn.FastDeconv2d(8, 4, 3, { padding: 0, samplingStride: 1 }), randomInput([1, 8, 3, 3], 9)], // 1 row, d = 72
      [new nn.Delinear(16, 3), tensor(new Array(2 * 16).fill(-2), [2, 16])],
      [new nn.ChannelDeconv(4), tensor(new Array(3 * 8).fill(1), [3, 8])],
    ];
    for (const [layer, x0] of cases) {
      const x = x0.detach().requiresGrad_();
      const y = layer.forward(x);
      assert.ok(y.toArray().every(Number.isFinite), `${layer.constructor.name}: output finite`);
      y.sum().backward();
      assert.ok(x.grad!.toArray().every(Number.isFinite), `${layer.constructor.name}: gradient finite`);
    }
  });

  test('invalid options and misuse are clear errors', () => {
    assert.throws(() => new nn.FastDeconv2d(4, 4, 3, { block: 0 }), /block must be a positive integer, got 0/);
    assert.throws(
      () => new nn.FastDeconv2d(4, 4, 3, { freeze: true, freezeIter: 0 }),
      /freezeIter must be a positive integer with freeze, got 0/,
    );
    assert.throws(
      () => new nn.FastDeconv2d(3, 4, 3, { groups: 2 }),
      /in channels 3 and out channels 4 must be divisible by groups 2/,
    );
    assert.throws(() => new nn.FastDeconv2d(3, 4, 0), /kernelSize must be a positive integer, got 0/);
    assert.throws(() => new nn.FastDeconv2d(3, 4, 3, { eps: 0 }), /eps must be positive/);
    assert.throws(() => new nn.Delinear(8, 2, { block: -1 }), /block must be a positive integer, got -1/);
    assert.throws(() => new nn.FastDeconv2d(3, 4, 5).forward(randomInput([1, 3, 3, 3], 1)), /does not fit input 3x3/);
    assert.throws(
      () => new nn.FastDeconv2d(3, 4, 3).forward(randomInput([1, 2, 5, 5], 1)),
      /expected input \(N, 3, H, W\), got \(1, 2, 5, 5\)/,
    );
    assert.throws(
      () => new nn.ChannelDeconv(4).eval().forward(randomInput([2, 8], 1)),
      /eval before any training batch/,
    );
    assert.throws(
      () => new nn.ChannelDeconv(16).forward(randomInput([2, 8], 1)),
      /block 16 is larger than the 8 input channels/,
    );
  });

  test('foldDeconv gives plain Conv2d/Linear layers with the same eval outputs', () => {
    manualSeed(4);
    const model = nn.mnistCnn({ deconv: true });
    const x = randomInput([4, 1, 28, 28], 11);
    for (let i = 0; i < 3; i++) model.forward(randomInput([8, 1, 28, 28], 20 + i)); // non-trivial running buffers
    const folded = nn.utils.foldDeconv(model);
    assert.ok(folded.namedModules().every(([, m]) => !(m instanceof nn.FastDeconv2d) && !(m instanceof nn.Delinear)));
    assert.ok(model.training, 'the input model is not changed');
    assert.ok(maxAbsDiff(model.eval().forward(x), folded.forward(x)) < 1e-3);
  });

  test('convertToDeconv replaces Conv2d+BatchNorm2d pairs and the classifier, keeping the weights', () => {
    manualSeed(5);
    const bn = nn.resnet18({ widthMultiplier: 0.125, inChannels: 2, numClasses: 3 });
    const twin = nn.utils.convertToDeconv(bn, { blockFc: 16 });
    const kinds = (m: nn.Module, T: new (...a: any[]) => nn.Module) =>
      m.namedModules().filter(([, x]) => x instanceof T).length;
    assert.is(kinds(twin, nn.BatchNorm2d), 0);
    assert.is(kinds(twin, nn.Conv2d), 0);
    assert.is(kinds(twin, nn.FastDeconv2d), kinds(bn, nn.Conv2d));
    assert.is(kinds(twin, nn.Delinear), 1);
    assert.is(kinds(bn, nn.FastDeconv2d), 0, 'the original is untouched');
    const conv0 = bn.at(0) as nn.Conv2d;
    assert.equal((twin.at(0) as nn.FastDeconv2d).weight.toArray(), conv0.weight.toArray());
    const y = twin.forward(randomInput([2, 2, 16, 16], 3));
    assert.equal([...y.shape], [2, 3]);
  });
});

forEachBackend('deconv gradients', (test) => {
  test('FastDeconv2d, Delinear and ChannelDeconv in training: finite differences in float64', async () => {
    // Gradient checks run on the float64 reference path; the backend only changes which kernels run the rest.
    const was = getBackend();
    await setBackend('js');
    const f64 = (t: Tensor) => tensor(t.toArray(), t.shape, { dtype: 'float64', requiresGrad: true });
    for (const [m, shape] of [
      [new nn.FastDeconv2d(4, 3, 3, { padding: 1, stride: 2, samplingStride: 1, block: 2 }), [2, 4, 5, 5]],
      [new nn.FastDeconv2d(4, 4, 3, { padding: 1, groups: 2, samplingStride: 2 }), [2, 4, 4, 4]],
      [new nn.FastDeconv2d(4, 2, 1, { samplingStride: 2, bias: false }), [2, 4, 3, 3]],
      [new nn.Delinear(6, 3, { block: 3 }), [5, 6]],
    ] as [nn.FastDeconv2d | nn.Delinear, number[]][]) {
      const w = f64(m.weight);
      const b = m.bias ? f64(m.bias) : null;
      const x = f64(randomInput(shape, 12));
      const fn = (xx: Tensor, ww: Tensor, bb?: Tensor) => {
        m.weight = ww;
        if (bb) m.bias = bb;
        return m.forward(xx);
      };
      const r = gradcheck(fn, b ? [x, w, b] : [x, w], { atol: 1e-5, rtol: 1e-3 });
      assert.ok(r.ok, `${m.toString()}: excess ${r.worst} at input ${r.at}`);
    }
    const cd = new nn.ChannelDeconv(2, { samplingStride: 1 });
    const r = gradcheck((xx) => cd.forward(xx), [f64(randomInput([3, 5, 2, 2], 13))]);
    assert.ok(r.ok, `ChannelDeconv: excess ${r.worst}`);
    await setBackend(was);
  });
});

forEachBackend('models', (test) => {
  test('VGG, ResNet-18 and xresnet18 take any input channels and give a regression head', () => {
    manualSeed(6);
    for (const model of [
      nn.vgg('vgg11', { inChannels: 5, numClasses: 2, widthMultiplier: 0.0625 }),
      nn.resnet18({ inChannels: 1, numClasses: 4, widthMultiplier: 0.0625 }),
      nn.xresnet18({ inChannels: 4, numClasses: 3, widthMultiplier: 0.125, deconvStem: true }),
    ]) {
      const c = (
        model.namedModules().find(([, m]) => m instanceof nn.Conv2d || m instanceof nn.FastDeconv2d)![1] as nn.Conv2d
      ).inChannels;
      const x = randomInput([2, c, 32, 32], 7);
      const y = model.forward(x);
      const target = randomInput([...y.shape], 8);
      const loss = F.mseLoss(y, target);
      loss.backward();
      assert.ok(Number.isFinite(Math.sqrt(loss.item())), 'RMSE is finite');
      assert.ok(
        model.parameters().every((p) => p.grad !== null),
        'every parameter gets a gradient',
      );
    }
  });

  test('xresnet18 with a deconvolution stem keeps BatchNorm in the residual blocks', () => {
    const m = nn.xresnet18({ deconvStem: true, widthMultiplier: 0.125 });
    const names = m
      .namedModules()
      .filter(([, x]) => x instanceof nn.FastDeconv2d)
      .map(([n]) => n);
    assert.equal(names, ['0', '2', '4']);
    assert.ok(m.namedModules().some(([, x]) => x instanceof nn.BatchNorm2d));
    assert.match(Object.keys(m.stateDict()).join(' '), /7\.0\.bn1\.running_var/);
  });
});
