// Bad input, tried as a user would: each case gets an error that names the op, the value at fault and what was
// expected, never a silent coercion, a NaN layer or a process abort.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { data, getNumThreads, nn, optim, randn, setNumThreads, tensor, zeros } from '../src/index.js';

const test = suite('bad input');

function throwsWith(fn: () => unknown, words: RegExp): void {
  assert.throws(fn, (e: Error) => words.test(e.message), `expected an error matching ${words}`);
}

test('tensor factories reject shapes that are not lists of non-negative integers', () => {
  throwsWith(() => zeros([2.5, 2]), /zeros: shape \(2\.5, 2\) must be a list of non-negative integers/);
  throwsWith(() => randn([Number.NaN]), /randn: shape \(NaN\) must be a list of non-negative integers/);
  throwsWith(() => zeros([-1, 3]), /zeros: shape \(-1, 3\) must be a list of non-negative integers/);
  throwsWith(() => tensor([1, 2], [-2]), /tensor: shape \(-2\) must be a list of non-negative integers/);
});

test('a tensor too large to allocate is an error that names the op and the size', () => {
  throwsWith(
    () => randn([200000, 200000]),
    /randn: cannot allocate shape \(200000, 200000\) \(40000000000 float32 values, 149\.01 GiB\)/,
  );
  throwsWith(() => zeros([1e6, 1e6]), /zeros: cannot allocate shape/);
});

test('setNumThreads is bounded by twice the cores the runtime reports, and says so', async () => {
  const warnings: string[] = [];
  const warn = console.warn;
  console.warn = (m: string) => warnings.push(m);
  try {
    const n = await setNumThreads(1000);
    assert.ok(n < 1000 && n === getNumThreads(), `setNumThreads(1000) gave ${n}`);
    assert.ok(
      warnings.some((w) => /setNumThreads\(1000\): this runtime reports \d+ cores; using \d+ threads/.test(w)) ||
        n === 1, // no SharedArrayBuffer: one thread, said by the no-threads warning
      warnings.join('\n'),
    );
  } finally {
    console.warn = warn;
    await setNumThreads(1);
  }
  const rejected = await setNumThreads(0).then(
    () => '',
    (e: Error) => e.message,
  );
  assert.match(rejected, /setNumThreads: expected a positive integer, got 0/);
});

test('layer constructors reject sizes and rates that would compute NaN or fail later', () => {
  throwsWith(() => new nn.Conv2d(3, 4, 0), /Conv2d: kernel size must be integers ≥ 1, got \(0, 0\)/);
  throwsWith(() => new nn.Conv2d(3, 0, 3), /Conv2d: out channels must be an integer ≥ 1, got 0/);
  throwsWith(() => new nn.Conv2d(-3, 4, 3), /Conv2d: in channels must be an integer ≥ 1, got -3/);
  throwsWith(() => new nn.Conv2d(3, 4, 3, { padding: -1 }), /Conv2d: padding must be integers ≥ 0, got \(-1, -1\)/);
  throwsWith(() => new nn.Conv2d(3, 4, 3, { stride: 0 }), /Conv2d: stride must be integers ≥ 1/);
  throwsWith(() => new nn.Linear(4, 0), /Linear: out features must be an integer ≥ 1, got 0/);
  throwsWith(() => new nn.Linear(2.5, 3), /Linear: in features must be an integer ≥ 1, got 2\.5/);
  throwsWith(() => new nn.BatchNorm2d(0), /BatchNorm2d: num features must be an integer ≥ 1, got 0/);
  throwsWith(() => new nn.BatchNorm2d(3, { eps: -1 }), /BatchNorm2d: eps must be a finite number > 0, got -1/);
  throwsWith(() => new nn.BatchNorm2d(3, { momentum: 2 }), /BatchNorm2d: momentum must be in \[0, 1\] or null, got 2/);
});

test('optimizers and schedules reject rates that are not finite and positive', () => {
  const p = zeros([3], { requiresGrad: true });
  throwsWith(
    () => new optim.SGD([p], { lr: Number.POSITIVE_INFINITY }),
    /SGD: the learning rate must be a finite number ≥ 0, got Infinity/,
  );
  throwsWith(
    () => new optim.Adam([p], { lr: Number.NaN }),
    /Adam: the learning rate must be a finite number ≥ 0, got NaN/,
  );
  const opt = new optim.SGD([p], { lr: 0.1, momentum: 0.9 });
  const S = optim.lrScheduler;
  throwsWith(
    () => new S.OneCycleLR(opt, { maxLr: -1, totalSteps: 10 }),
    /OneCycleLR: maxLr must be a finite number > 0, got -1/,
  );
  throwsWith(() => new S.StepLR(opt, { stepSize: 2, gamma: -1 }), /StepLR: gamma must be a finite number > 0, got -1/);
  throwsWith(
    () => new S.MultiStepLR(opt, { milestones: [2], gamma: Number.NaN }),
    /MultiStepLR: gamma must be a finite number > 0, got NaN/,
  );
  throwsWith(() => new S.ExponentialLR(opt, { gamma: 0 }), /ExponentialLR: gamma must be a finite number > 0, got 0/);
  assert.is(opt.paramGroups[0].lr, 0.1, 'a rejected schedule leaves the optimizer as it was');
});

/** An IDX file of big-endian float32 values. */
function idxFloat32(shape: number[], values: number[]): Uint8Array {
  const out = new Uint8Array(4 + 4 * shape.length + 4 * values.length);
  const dv = new DataView(out.buffer);
  out[2] = 0x0d;
  out[3] = shape.length;
  shape.forEach((d, i) => dv.setUint32(4 + 4 * i, d, false));
  values.forEach((v, i) => dv.setFloat32(4 + 4 * shape.length + 4 * i, v, false));
  return out;
}

test('readers and datasets do not coerce: fractional labels, out-of-range indices, a zero std', () => {
  const images = new Uint8Array([0, 0, 8, 3, 0, 0, 0, 3, 0, 0, 0, 1, 0, 0, 0, 1, 10, 20, 30]);
  for (const bad of [0.5, 1.75, Number.NaN]) {
    throwsWith(
      () => data.idxDataset(images, idxFloat32([3], [0, bad, 1]), ['img.idx', 'lab.idx']),
      new RegExp(`lab\\.idx: label ${bad} at index 1 is not a non-negative integer`),
    );
  }
  const ds = new data.ImageDataset(new Float32Array(3 * 4), Int32Array.from([0, 1, 0]), [1, 2, 2], 2);
  throwsWith(() => ds.subset([1, 99999]), /subset: index 99999 at position 1 is outside the 3 images/);
  throwsWith(() => ds.subset([0.5]), /subset: index 0\.5 at position 0 is outside the 3 images/);
  throwsWith(() => ds.normalize([0], [0]), /normalize: channel 0 needs a finite mean and a std > 0, got mean 0, std 0/);
  const logits = zeros([2, 3]);
  throwsWith(
    () => nn.functional.crossEntropy(logits, ['1', '2'] as unknown as number[]),
    /crossEntropy: label "1" at index 0 is a string, expected an integer class index/,
  );
});

test.run();
