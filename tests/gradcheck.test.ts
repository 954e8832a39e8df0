// Every differentiable op's gradient against central finite differences, in float64 on the reference backend.
import fc from 'fast-check';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { covariance, newtonSchulz, whitening } from '../src/autograd/ops/linalg.js';
import { batchNormTrain, fusedBatchNormReluTrain } from '../src/autograd/ops/normalization.js';
import { fusedReluMaxPool2d } from '../src/autograd/ops/pool.js';
import { concat, Generator, gradcheck, nn, pad, setBackend, stack, type Tensor, tensor, where } from '../src/index.js';

const F = nn.functional;
const test = suite('gradcheck (float64, js)');
test.before(async () => {
  await setBackend('js');
});

interface Domain {
  lo?: number;
  hi?: number;
  /** Keep |x| ≥ this, away from the kink at 0 of abs/relu. */
  awayFromZero?: number;
}

/** A float64 leaf tensor with values drawn from a seeded generator. */
function leaf(shape: number[], seed: number, d: Domain = {}): Tensor {
  const g = new Generator(seed);
  const lo = d.lo ?? -2;
  const hi = d.hi ?? 2;
  const v = Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => {
    let x = g.uniform(lo, hi);
    if (d.awayFromZero && Math.abs(x) < d.awayFromZero) x += Math.sign(x || 1) * d.awayFromZero;
    return x;
  });
  return tensor(v, shape, { dtype: 'float64', requiresGrad: true });
}

function expectGrad(name: string, fn: (...xs: Tensor[]) => Tensor, inputs: Tensor[]): void {
  const r = gradcheck(fn, inputs);
  assert.ok(
    r.ok,
    `${name}: analytic ${r.analytic[r.at[0]]?.[r.at[1]]} vs numeric ${r.numeric[r.at[0]]?.[r.at[1]]} at input ${r.at[0]}, element ${r.at[1]} (excess ${r.worst})`,
  );
}

type Case = [string, (...xs: Tensor[]) => Tensor, number[][], Domain?];

const CASES: Case[] = [
  // unary
  ['neg', (a) => a.neg(), [[3, 4]]],
  ['exp', (a) => a.exp(), [[3, 4]]],
  ['log', (a) => a.log(), [[3, 4]], { lo: 0.2, hi: 3 }],
  ['sqrt', (a) => a.sqrt(), [[3, 4]], { lo: 0.2, hi: 3 }],
  ['abs', (a) => a.abs(), [[3, 4]], { awayFromZero: 0.05 }],
  ['relu', (a) => a.relu(), [[3, 4]], { awayFromZero: 0.05 }],
  ['sigmoid', (a) => a.sigmoid(), [[3, 4]]],
  ['tanh', (a) => a.tanh(), [[3, 4]]],
  ['clamp', (a) => a.clamp(-0.7, 0.9), [[4, 5]]],
  ['square', (a) => a.square(), [[2, 3]]],
  // binary with broadcasting, including 0-d operands
  [
    'add',
    (a, b) => a.add(b),
    [
      [2, 3, 4],
      [3, 1],
    ],
  ],
  [
    'sub',
    (a, b) => a.sub(b),
    [
      [1, 4],
      [5, 1],
    ],
  ],
  ['mul', (a, b) => a.mul(b), [[2, 3], []]],
  ['div', (a, b) => a.div(b), [[2, 3, 4], [4]], { lo: 0.5, hi: 2 }],
  ['pow', (a, b) => a.pow(b), [[2, 3], [3]], { lo: 0.3, hi: 2 }],
  [
    'maximum',
    (a, b) => a.maximum(b),
    [
      [2, 3, 4],
      [3, 1],
    ],
  ],
  [
    'minimum',
    (a, b) => a.minimum(b),
    [
      [4, 1],
      [1, 3],
    ],
  ],
  ['where', (a, b) => where(tensor([1, 0, 0, 1, 1, 0], [2, 3], { dtype: 'float64' }), a, b), [[2, 3], [3]]],
  ['add scalar number', (a) => a.add(3).mul(2).sub(1).div(4), [[3]]],
  // reductions
  ['sum all', (a) => a.sum(), [[2, 3, 4]]],
  ['sum dims keepdim', (a) => a.sum([0, 2], { keepdim: true }), [[2, 3, 4]]],
  ['mean dim', (a) => a.mean(-1), [[3, 5]]],
  ['max dim', (a) => a.max(1), [[3, 5]]],
  ['max all', (a) => a.max(), [[3, 5]]],
  ['var unbiased', (a) => a.var(1), [[3, 5]]],
  ['var biased keepdim', (a) => a.var([0, 2], { unbiased: false, keepdim: true }), [[2, 3, 4]]],
  // movement
  ['reshape', (a) => a.reshape(6, -1).mul(a.reshape(6, 2)), [[3, 4]]],
  ['permute', (a) => a.permute(2, 0, 1), [[2, 3, 4]]],
  ['transpose', (a) => a.transpose(0, 1), [[3, 4]]],
  ['expand', (a) => a.expand(2, 3, 4), [[3, 1]]],
  ['slice', (a) => a.slice(1, 1, 3), [[3, 4]]],
  ['index', (a) => a.index(1), [[3, 4]]],
  ['pad', (a) => pad(a, [1, 2, 0, 1], 0.5), [[2, 3]]],
  [
    'concat',
    (a, b) => concat([a, b], 1),
    [
      [2, 3],
      [2, 2],
    ],
  ],
  [
    'stack',
    (a, b) => stack([a, b], 0),
    [
      [2, 3],
      [2, 3],
    ],
  ],
  // matmul and linear
  [
    'matmul 2-D',
    (a, b) => a.matmul(b),
    [
      [3, 4],
      [4, 5],
    ],
  ],
  [
    'matmul batched broadcast',
    (a, b) => a.matmul(b),
    [
      [2, 1, 3, 4],
      [3, 4, 2],
    ],
  ],
  [
    'matmul 2-D @ 3-D',
    (a, b) => a.matmul(b),
    [
      [4, 3],
      [2, 3, 5],
    ],
  ],
  ['matmul vector', (a, b) => a.matmul(b), [[4], [4, 3]]],
  ['linear', (x, w, b) => F.linear(x, w, b), [[5, 4], [3, 4], [3]]],
  // convolution family
  ['conv2d plain', (x, w, b) => F.conv2d(x, w, b), [[2, 3, 5, 5], [4, 3, 3, 3], [4]]],
  [
    'conv2d stride/pad',
    (x, w) => F.conv2d(x, w, null, { stride: [2, 1], padding: [1, 2] }),
    [
      [1, 2, 6, 5],
      [3, 2, 2, 3],
    ],
  ],
  [
    'conv2d dilation',
    (x, w) => F.conv2d(x, w, null, { dilation: 2, padding: 2 }),
    [
      [1, 2, 6, 6],
      [2, 2, 3, 3],
    ],
  ],
  [
    'conv2d groups',
    (x, w) => F.conv2d(x, w, null, { groups: 2, padding: 1 }),
    [
      [2, 4, 4, 4],
      [6, 2, 3, 3],
    ],
  ],
  [
    'conv2d depthwise',
    (x, w) => F.conv2d(x, w, null, { groups: 3, stride: 2, padding: 1 }),
    [
      [1, 3, 5, 5],
      [3, 1, 3, 3],
    ],
  ],
  ['unfold', (x) => F.unfold(x, 3, { padding: 1, stride: 2, dilation: 1 }), [[2, 2, 5, 4]]],
  ['maxPool2d overlapping', (x) => F.maxPool2d(x, 3, { stride: 2, padding: 1 }), [[1, 2, 7, 6]]],
  [
    'fusedReluMaxPool2d, 2x2 and overlapping',
    (x) => fusedReluMaxPool2d(x, 2).add(fusedReluMaxPool2d(x, 3, { stride: 2, padding: 1 }).sum()),
    [[1, 2, 6, 6]],
  ],
  ['maxPool2dWithIndices 2x2', (x) => F.maxPool2dWithIndices(x, 2).values, [[2, 2, 6, 5]]],
  ['avgPool2d', (x) => F.avgPool2d(x, [3, 2], { stride: [2, 1], padding: [1, 0] }), [[1, 2, 6, 5]]],
  [
    'avgPool2d no pad count',
    (x) => F.avgPool2d(x, 3, { stride: 2, padding: 1, countIncludePad: false }),
    [[1, 2, 5, 6]],
  ],
  ['globalAvgPool2d', (x) => F.globalAvgPool2d(x), [[2, 3, 4, 5]]],
  // softmax and losses
  ['softmax', (x) => F.softmax(x, 1), [[3, 5]]],
  ['logSoftmax dim 0', (x) => F.logSoftmax(x, 0), [[4, 3]]],
  ['crossEntropy', (x) => F.crossEntropy(x, [2, 0, 4]), [[3, 5]]],
  [
    'mseLoss',
    (a, b) => F.mseLoss(a, b),
    [
      [2, 3, 4],
      [2, 3, 4],
    ],
  ],
];

CASES.forEach(([name, fn, shapes, domain], k) => {
  test(name, () => {
    expectGrad(
      name,
      fn,
      shapes.map((s, i) => leaf(s, 100 * k + i, domain)),
    );
  });
});

test('BatchNorm2d train (through the batch statistics) and eval', () => {
  for (const training of [true, false]) {
    const bn = new nn.BatchNorm2d(3);
    const w = leaf([3], 7);
    const b = leaf([3], 8);
    const fn = (x: Tensor, w_: Tensor, b_: Tensor) => {
      bn.weight = w_;
      bn.bias = b_;
      bn.train(training);
      return bn.forward(x);
    };
    // BatchNorm stores float32 buffers; run it on float64 by giving it float64 ones.
    bn.running_mean = tensor([0.1, -0.2, 0.3], [3], { dtype: 'float64' });
    bn.running_var = tensor([1.5, 0.7, 1.1], [3], { dtype: 'float64' });
    bn.num_batches_tracked = tensor([0], [], { dtype: 'float64' });
    expectGrad(`BatchNorm2d training=${training}`, fn, [leaf([4, 3, 2, 3], 9), w, b]);
  }
});

test('batchNormTrain without affine parameters, on (N, C) and (N, C, L) inputs', () => {
  expectGrad('batchNorm (N, C)', (x) => batchNormTrain(x, null, null, 1e-5).out, [leaf([5, 3], 21)]);
  expectGrad('batchNorm (N, C, L), weight only', (x, w) => batchNormTrain(x, w, null, 1e-3).out, [
    leaf([2, 4, 5], 22),
    leaf([4], 23),
  ]);
});

test('fusedBatchNormReluTrain: affine, weight only, none; and BatchNormReLU2d in both modes', () => {
  expectGrad('batchNorm+ReLU (N, C, L)', (x, w, b) => fusedBatchNormReluTrain(x, w, b, 1e-5).out, [
    leaf([3, 4, 5], 41),
    leaf([4], 42),
    leaf([4], 43),
  ]);
  expectGrad('batchNorm+ReLU, weight only', (x, w) => fusedBatchNormReluTrain(x, w, null, 1e-3).out, [
    leaf([4, 3, 6], 44),
    leaf([3], 45),
  ]);
  expectGrad('batchNorm+ReLU (N, C)', (x) => fusedBatchNormReluTrain(x, null, null, 1e-5).out, [leaf([6, 3], 46)]);
  for (const training of [true, false]) {
    const bn = nn.BatchNormReLU2d.of(new nn.BatchNorm2d(3));
    bn.running_mean = tensor([0.1, -0.2, 0.3], [3], { dtype: 'float64' });
    bn.running_var = tensor([1.5, 0.7, 1.1], [3], { dtype: 'float64' });
    bn.num_batches_tracked = tensor([0], [], { dtype: 'float64' });
    const fn = (x: Tensor, w: Tensor, b: Tensor) => {
      bn.weight = w;
      bn.bias = b;
      bn.train(training);
      return bn.forward(x);
    };
    expectGrad(`BatchNormReLU2d training=${training}`, fn, [leaf([4, 3, 2, 3], 47), leaf([3], 48), leaf([3], 49)]);
  }
});

test('covariance and the Newton–Schulz inverse square root, single and batched', () => {
  expectGrad('covariance (n, d)', (x) => covariance(x, 1e-3), [leaf([6, 4], 31)]);
  expectGrad('covariance (b, n, d)', (x) => covariance(x, 0.1), [leaf([2, 5, 3], 32)]);
  // On a covariance, as deconvolution uses it, and straight on a general (non-symmetric) matrix.
  for (const nIter of [0, 1, 2, 5]) {
    expectGrad(`newtonSchulz (d, d) of a covariance, ${nIter} steps`, (x) => newtonSchulz(covariance(x, 0.1), nIter), [
      leaf([7, 4], 33),
    ]);
    expectGrad(
      `newtonSchulz (b, d, d) of a covariance, ${nIter} steps`,
      (x) => newtonSchulz(covariance(x, 0.1), nIter),
      [leaf([2, 6, 3], 34)],
    );
  }
  for (const nIter of [0, 1, 2, 5]) {
    expectGrad(`whitening (n, d), ${nIter} steps`, (x) => whitening(x, 0.1, nIter), [leaf([7, 4], 36)]);
    expectGrad(`whitening (b, n, d), ${nIter} steps`, (x) => whitening(x, 0.1, nIter), [leaf([2, 6, 3], 37)]);
  }
  expectGrad('newtonSchulz of a general matrix, 3 steps', (a) => newtonSchulz(a, 3), [
    leaf([4, 4], 35, { lo: 0.5, hi: 2 }),
  ]);
});

test('property: broadcasting binary ops over random shapes', () => {
  const dim = fc.integer({ min: 1, max: 4 });
  const shapes = fc
    .array(dim, { minLength: 0, maxLength: 3 })
    .chain((out) =>
      fc.tuple(
        fc.constant(out),
        fc.array(fc.boolean(), { minLength: out.length, maxLength: out.length }),
        fc.integer({ min: 0, max: out.length }),
        fc.constantFrom('add', 'sub', 'mul', 'div', 'maximum'),
      ),
    );
  fc.assert(
    fc.property(shapes, fc.integer({ min: 0, max: 1 << 20 }), ([out, ones, drop, op], seed) => {
      // b: `out` with some dims squashed to 1 and some leading dims dropped.
      const bShape = out.map((d, i) => (ones[i] ? 1 : d)).slice(drop);
      const a = leaf(out, seed, { lo: 0.5, hi: 2 });
      const b = leaf(bShape, seed + 1, { lo: 0.5, hi: 2 });
      const r = gradcheck((x, y) => x[op as 'add'](y), [a, b]);
      return r.ok;
    }),
    { numRuns: 60 },
  );
});

test('property: reductions over random dims', () => {
  fc.assert(
    fc.property(
      fc.array(fc.integer({ min: 1, max: 4 }), { minLength: 1, maxLength: 3 }),
      fc.integer({ min: 0, max: 1 << 20 }),
      fc.boolean(),
      fc.constantFrom('sum', 'mean', 'var'),
      (shape, seed, keepdim, op) => {
        const dims = shape.map((_, i) => i).filter((i) => (seed >> i) & 1);
        if (op === 'var' && dims.reduce((n, d) => n * shape[d], 1) < 2) return true;
        const x = leaf(shape, seed);
        return gradcheck((t) => (op === 'var' ? t.var(dims, { keepdim }) : t[op as 'sum'](dims, { keepdim })), [x]).ok;
      },
    ),
    { numRuns: 40 },
  );
});

test('gradcheck itself catches a wrong gradient', () => {
  // x·detach(x) computes x² but backpropagates only through one factor: analytic x, numeric 2x.
  const r = gradcheck((t) => t.mul(t.detach()), [leaf([3], 1, { lo: 0.5, hi: 2 })]);
  assert.not.ok(r.ok);
});

test.run();
