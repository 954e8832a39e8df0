// Bad input, tried as a user would: each case gets an error that names the op, the value at fault and what was
// expected, never a silent coercion, a NaN layer or a process abort.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import {
  data,
  Generator,
  getNumThreads,
  io,
  linalg,
  nn,
  optim,
  randn,
  setNumThreads,
  tensor,
  zeros,
} from '../src/index.js';

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

/** Safetensors bytes from a header object and a data section, the header length as given (default: right). */
function safetensorsBytes(header: unknown, dataBytes: number, headerLength?: number): Uint8Array {
  let json = JSON.stringify(header);
  json += ' '.repeat((8 - ((8 + json.length) % 8)) % 8);
  const h = new TextEncoder().encode(json);
  const out = new Uint8Array(8 + h.length + dataBytes);
  new DataView(out.buffer).setBigUint64(0, BigInt(headerLength ?? h.length), true);
  out.set(h, 8);
  return out;
}

test('safetensors: a header that does not tile the data exactly is an error, not shifted weights', () => {
  const f32 = (shape: number[], from: number) => ({
    dtype: 'F32',
    shape,
    data_offsets: [from, from + 4 * shape.reduce((a, b) => a * b, 1)],
  });
  const good = { a: f32([2], 0), b: f32([3], 8) };
  assert.is(Object.keys(io.decodeSafetensors(safetensorsBytes(good, 20)).tensors).length, 2);
  const h = new TextEncoder().encode(JSON.stringify(good)).length;
  const padded = h + ((8 - ((8 + h) % 8)) % 8);
  if (padded > h) {
    // One byte short: the JSON still parses (the padding is spaces), the data would start a byte early.
    throwsWith(
      () => io.decodeSafetensors(safetensorsBytes(good, 20, padded - 1), 'short.safetensors'),
      /short\.safetensors: 1 bytes after the last tensor \(a wrong header length, or trailing data\)/,
    );
  }
  throwsWith(
    () => io.decodeSafetensors(safetensorsBytes(good, 24), 'long.safetensors'),
    /long\.safetensors: 4 bytes after the last tensor/,
  );
  throwsWith(
    () => io.decodeSafetensors(safetensorsBytes({ a: f32([2], 0), b: f32([3], 4) }, 16), 'overlap.safetensors'),
    /overlap\.safetensors: 'b' starts at byte 4 of the data section, expected 8/,
  );
  throwsWith(
    () => io.decodeSafetensors(safetensorsBytes({ a: f32([2], 0), b: f32([1], 12) }, 16), 'gap.safetensors'),
    /gap\.safetensors: 'b' starts at byte 12 of the data section, expected 8/,
  );
  throwsWith(
    () =>
      io.decodeSafetensors(
        safetensorsBytes({ a: { dtype: 'F32', shape: [2], data_offsets: [0.5, 8.5] } }, 8),
        'frac.safetensors',
      ),
    /frac\.safetensors: 'a' has data_offsets \[0\.5,8\.5\], expected two non-negative integers/,
  );
  throwsWith(
    () => io.decodeSafetensors(safetensorsBytes({ a: { dtype: 'F32', shape: [1.5], data_offsets: [0, 6] } }, 6)),
    /'a' has shape \[1\.5\], expected a list of non-negative integers/,
  );
  throwsWith(
    () => io.decodeSafetensors(safetensorsBytes({ a: f32([2], 0), b: f32([2], 4) }, 8)),
    /'b' ends at byte 12 of a 8-byte data section/,
  );
  throwsWith(
    () => io.decodeSafetensors(safetensorsBytes([1, 2], 0), 'array.safetensors'),
    /array\.safetensors: corrupt header \(not a JSON object\)/,
  );
  throwsWith(
    () =>
      io.decodeSafetensors(
        safetensorsBytes(JSON.parse('{"__proto__": {"dtype":"F32","shape":[],"data_offsets":[0,4]}}'), 4),
      ),
    /a tensor may not be named '__proto__'/,
  );
  throwsWith(
    () => io.decodeSafetensors(safetensorsBytes({ __metadata__: { n: 3 }, a: f32([1], 0) }, 4)),
    /__metadata__ must be an object of strings/,
  );
});

/** A model, its optimizer after one step (so it has momentum buffers) and a checkpoint of both. */
function trainedState() {
  const model = new nn.Linear(3, 2);
  const optimizer = new optim.SGD(model.parameters(), { lr: 0.1, momentum: 0.9 });
  const loss = nn.functional.mseLoss(model.forward(randn([4, 3])), zeros([4, 2]));
  loss.backward();
  optimizer.step();
  return { model, optimizer, bytes: io.saveCheckpoint({ model, optimizer, generator: new Generator(1) }) };
}

/** Rewrites a checkpoint's JSON training state with `edit`. */
function editState(bytes: Uint8Array, edit: (state: any) => void): Uint8Array {
  const { tensors, metadata } = io.decodeSafetensors(bytes);
  const state = JSON.parse(metadata.state);
  edit(state);
  const arrays = Object.fromEntries(
    Object.entries(tensors).map(([k, t]) => [k, { shape: t.shape, dtype: 'F32' as const, data: t.data }]),
  );
  return io.encodeSafetensors(arrays, { ...metadata, state: JSON.stringify(state) });
}

test('loadCheckpoint checks every part before it applies any', () => {
  const saved = trainedState();
  const fresh = trainedState();
  const before = fresh.model.stateDict().weight.data.slice();
  const lr = fresh.optimizer.paramGroups[0].lr;
  const target = { model: fresh.model, optimizer: fresh.optimizer, generator: new Generator(2) };
  const genBefore = target.generator.getState();
  const { tensors, metadata } = io.decodeSafetensors(saved.bytes);
  const momentum = Object.keys(tensors).find((k) => k.startsWith('optimizer.'));
  assert.ok(momentum, 'the checkpoint holds a momentum buffer');
  const arrays = Object.fromEntries(
    Object.entries(tensors).map(([k, t]) => {
      const data = k === momentum ? t.data.subarray(1) : t.data;
      return [k, { shape: k === momentum ? [data.length] : t.shape, dtype: 'F32' as const, data }];
    }),
  );
  const cases: [string, Uint8Array, RegExp][] = [
    [
      'short.ckpt',
      io.encodeSafetensors(arrays, metadata),
      /short\.ckpt: SGD\.loadStateDict: state 'momentum_buffer' of parameter 0 has 5 values, expected 6/,
    ],
    [
      'gen.ckpt',
      editState(saved.bytes, (s) => (s.generator = ['x', 'y'])),
      /gen\.ckpt: Generator\.setState: expected four 32-bit words/,
    ],
    [
      'lr.ckpt',
      editState(saved.bytes, (s) => (s.paramGroups[0].lr = -5)),
      /lr\.ckpt: SGD\.loadStateDict: parameter group 0 has lr -5, expected a finite number ≥ 0/,
    ],
    [
      'groups.ckpt',
      editState(saved.bytes, (s) => s.paramGroups.push(s.paramGroups[0])),
      /groups\.ckpt: SGD\.loadStateDict: 2 parameter groups in the state, the optimizer has 1/,
    ],
  ];
  for (const [name, bytes, words] of cases) {
    throwsWith(() => io.loadCheckpoint(target, bytes, name), words);
    assert.equal(fresh.model.stateDict().weight.data, before, `${name}: the model is untouched`);
    assert.is(fresh.optimizer.paramGroups[0].lr, lr, `${name}: the optimizer is untouched`);
    assert.equal(target.generator.getState(), genBefore, `${name}: the generator is untouched`);
  }
  const garbage = io.encodeSafetensors({}, { format: 'netdeconv-checkpoint', state: '{"paramGroups": [' });
  throwsWith(() => io.loadCheckpoint(target, garbage, 'bad.ckpt'), /bad\.ckpt: the training state is not valid JSON/);
  io.loadCheckpoint(target, saved.bytes, 'good.ckpt');
  assert.equal(fresh.model.stateDict().weight.data, saved.model.stateDict().weight.data, 'a good checkpoint loads');
});

test('linalg.whitening and isqrtNewtonSchulz reject shapes and counts they cannot use', () => {
  assert.throws(
    () => linalg.whitening(zeros([5]), 1e-5, 5),
    /whitening: expected centred rows \(n, d\) or a batch \(b, n, d\), got \(5\)/,
  );
  assert.throws(() => linalg.whitening(randn([6, 3]), -1, 5), /whitening: eps must be ≥ 0, got -1/);
  assert.throws(
    () => linalg.whitening(randn([6, 3]), 1e-5, 1.5),
    /whitening: nIter must be a non-negative integer, got 1.5/,
  );
  assert.throws(() => linalg.isqrtNewtonSchulz(randn([3, 4]), 5), /isqrtNewtonSchulz: expected a square matrix/);
});

test('a deconvolution layer fed NaN names itself and the likely cause', () => {
  const x = randn([2, 3, 5, 5]);
  x.data[7] = Number.NaN;
  throwsWith(
    () => new nn.FastDeconv2d(3, 4, 3, { padding: 1 }).forward(x),
    /FastDeconv2d\(3, 4, kernel_size=3, stride=1, padding=1.*\): cannot whiten its input, whose covariance is not finite \(NaN or ∞ in the input: the training diverged or the data holds them\) — newtonSchulz: matrix 0 has Frobenius norm NaN/,
  );
  const flat = randn([4, 6]);
  flat.data[0] = Number.POSITIVE_INFINITY;
  throwsWith(() => new nn.Delinear(6, 2).forward(flat), /^Delinear\(.*\): cannot whiten its input/);
  // ChannelDeconv estimates its covariance from every 9th pixel (samplingStride 3): the first one is sampled.
  const y = randn([2, 3, 5, 5]);
  y.data[0] = Number.NaN;
  throwsWith(() => new nn.ChannelDeconv(3).forward(y), /^ChannelDeconv\(.*\): cannot whiten its input/);
});

test.run();
