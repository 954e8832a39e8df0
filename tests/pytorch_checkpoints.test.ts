// Files written by PyTorch's own torch.save (tests/fixtures/pytorch/checkpoints): every dtype and view, a
// torchvision-named ResNet-18 that loads under its own names and computes PyTorch's outputs, fine-tuning it as a
// deconvolution network, and the files that must be refused.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { io, manualSeed, nn, optim, tensor } from '../src/index.js';
import { assertClose, FIXTURES, forEachBackend } from './helpers.js';

const DIR = join(FIXTURES, 'checkpoints');
const bytesOf = (f: string) => new Uint8Array(readFileSync(join(DIR, f)));
const jsonOf = (f: string) => JSON.parse(readFileSync(join(DIR, f), 'utf8'));
const F = nn.functional;

/** The thrown message of `fn`, which must throw. */
function errorOf(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    return (e as Error).message;
  }
  throw new Error('expected an error');
}

/** torchvision's resnet18 at widths 4–32, as the fixture holds it. */
const resnet = (numClasses = 10) => nn.resnet18({ stem: 'imagenet', widthMultiplier: 1 / 16, numClasses });

forEachBackend('PyTorch checkpoints', (test) => {
  test('every dtype, a 0-d and an empty tensor, and views of one storage (offset, transposed, strided) read exactly', () => {
    const got = io.decodeTorchSave(bytesOf('tensors.pt'), 'tensors.pt');
    const expected = jsonOf('tensors.json');
    assert.equal(Object.keys(got), Object.keys(expected));
    for (const [name, e] of Object.entries(expected) as [string, { shape: number[]; data: (number | boolean)[] }][]) {
      assert.equal(got[name].shape, e.shape, name);
      assert.equal(Array.from(got[name].data), e.data.map(Number), name);
    }
    assert.is(got.bfloat16.dtype, 'bfloat16');
    assert.is(got.int64.data[3], 2 ** 40);
    assert.ok(got.float64.data instanceof Float64Array, 'float64 values are kept in float64');
  });

  test('a state dict nested in a training checkpoint reads as the state dict', () => {
    const flat = io.decodeTorchSave(bytesOf('small_state_dict.pt'), 'a');
    const nested = io.decodeTorchSave(bytesOf('nested_checkpoint.pt'), 'b');
    assert.equal(Object.keys(nested), ['0.weight', '0.bias', '2.weight', '2.bias']);
    for (const k of Object.keys(flat)) assert.equal(Array.from(nested[k].data), Array.from(flat[k].data));
    const m = new nn.Sequential(new nn.Linear(3, 2), new nn.ReLU(), new nn.Linear(2, 2));
    io.load(m, bytesOf('small_state_dict.pt'), { source: 'small_state_dict.pt' });
    const e = jsonOf('small_state_dict.json');
    for (const [k, v] of Object.entries(m.stateDict()))
      assert.equal(Array.from(v.data), Array.from(Float32Array.from(e[k].data)), k);
  });

  test("torchvision's ResNet-18 names load as they are and the net computes PyTorch's eval outputs", () => {
    const m = resnet();
    const file = io.decodeTorchSave(bytesOf('resnet18_w4.pt'), 'resnet18_w4.pt');
    assert.equal(
      Object.keys(m.stateDict()),
      Object.keys(file),
      "netdeconv's resnet18 has torchvision's keys, in order",
    );
    io.load(m, bytesOf('resnet18_w4.pt'), { source: 'resnet18_w4.pt' });
    assert.is(m.stateDict()['layer2.0.downsample.1.num_batches_tracked'].data[0], 3);
    const fx = jsonOf('resnet18_w4.json');
    const y = m.eval().forward(tensor(Float32Array.from(fx.input.data), fx.input.shape));
    assertClose(y.toFloat32Array(), fx.expected_eval_output, fx.tolerance, 'eval output');
  });

  test('loadPretrained keeps a fresh classifier of another size; the deconvolution twin fine-tunes from the weights', () => {
    manualSeed(4);
    const m = resnet(3);
    const freshFc = Array.from((m.at(-1) as nn.Linear).weight.data);
    const kept = io.loadPretrained(m, bytesOf('resnet18_w4.pt'), { source: 'resnet18_w4.pt' });
    assert.equal(kept, ['fc.weight', 'fc.bias']);
    assert.equal(Array.from((m.at(-1) as nn.Linear).weight.data), freshFc, 'the 3-class head is untouched');
    const file = io.decodeTorchSave(bytesOf('resnet18_w4.pt'));
    assert.equal(
      Array.from(m.stateDict()['layer3.1.conv2.weight'].data),
      Array.from(file['layer3.1.conv2.weight'].data),
    );

    const twin = nn.utils.convertToDeconv(m, { deconv: { block: 4 }, blockFc: 0 });
    const deconv = twin.namedModules().find(([name]) => name === 'layer1.0.conv1')?.[1];
    assert.ok(deconv instanceof nn.FastDeconv2d, 'the converted block conv is a FastDeconv2d');
    assert.equal(Array.from(deconv.weight.data), Array.from(file['layer1.0.conv1.weight'].data));
    // Three classes told apart by which colour channel is bright: a few steps must lower the loss.
    const n = 24;
    const x = new Float32Array(n * 3 * 32 * 32);
    const labels = Int32Array.from({ length: n }, (_, i) => i % 3);
    for (let i = 0; i < n; i++)
      for (let p = 0; p < 32 * 32; p++) x[(i * 3 + labels[i]) * 1024 + p] = 1 + 0.1 * Math.sin(i * 7 + p);
    const opt = new optim.SGD(twin.parameters(), { lr: 0.05, momentum: 0.9 });
    const losses: number[] = [];
    for (let step = 0; step < 8; step++) {
      opt.zeroGrad();
      const loss = F.crossEntropy(twin.forward(tensor(x, [n, 3, 32, 32])), labels);
      loss.backward();
      opt.step();
      losses.push(loss.item());
    }
    assert.ok(losses.every(Number.isFinite), `finite losses ${losses}`);
    assert.ok(losses[7] < 0.5 * losses[0], `the loss falls: ${losses.map((l) => l.toFixed(3)).join(', ')}`);
  });

  test('a mismatch names the weights and loads nothing', () => {
    const m = nn.resnet18({ widthMultiplier: 1 / 16 }); // the CIFAR stem: conv1 is 3×3, not 7×7
    const before = Array.from(m.stateDict()['layer1.0.conv1.weight'].data);
    const msg = errorOf(() => io.loadPretrained(m, bytesOf('resnet18_w4.pt'), { source: 'resnet18_w4.pt' }));
    assert.match(
      msg,
      /resnet18_w4\.pt: .*size mismatch for conv1\.weight: checkpoint \(4, 3, 7, 7\) vs model \(4, 3, 3, 3\)/,
    );
    assert.equal(Array.from(m.stateDict()['layer1.0.conv1.weight'].data), before, 'nothing was loaded');
    const small = new nn.Sequential(new nn.Linear(3, 2), new nn.ReLU(), new nn.Linear(2, 4), new nn.Linear(4, 2));
    assert.match(
      errorOf(() => io.loadPretrained(small, bytesOf('small_state_dict.pt'), { source: 's.pt' })),
      /s\.pt: .*size mismatch for 2\.weight/,
    );
  });

  test('old-format files, pickled modules and damaged archives are refused with the reason', () => {
    assert.match(
      errorOf(() => io.decodeTorchSave(bytesOf('legacy_format.pt'), 'old.pt')),
      /old\.pt: this is PyTorch's legacy format .* save it again with torch\.save/,
    );
    assert.match(
      errorOf(() => io.decodeTorchSave(bytesOf('whole_module.pt'), 'm.pt')),
      /m\.pt: it pickles torch\.nn\.modules\.linear\.Linear, which a state dict of tensors never needs/,
    );
    const good = bytesOf('small_state_dict.pt');
    assert.match(
      errorOf(() => io.decodeTorchSave(good.slice(0, 900), 'cut.pt')),
      /cut\.pt: /,
    );
    assert.match(
      errorOf(() => io.decodeTorchSave(new Uint8Array(10), 'zeros.pt')),
      /zeros\.pt: not a torch\.save file/,
    );
  });
});

/** Runs the built CLI; returns stdout, or throws with stderr. */
function cli(args: string[]): string {
  return execFileSync(process.execPath, ['dist/cli.js', ...args], { encoding: 'utf8', stdio: 'pipe' });
}

/** .npy bytes of a float32 or int64 C-order array. */
function npy(descr: '<f4' | '<i8', shape: number[], values: ArrayLike<number>): Uint8Array {
  let header = `{'descr': '${descr}', 'fortran_order': False, 'shape': (${shape.join(', ')},), }`;
  header += `${' '.repeat(63 - ((10 + header.length) % 64))}\n`;
  const width = descr === '<f4' ? 4 : 8;
  const out = new Uint8Array(10 + header.length + values.length * width);
  out.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0]);
  const dv = new DataView(out.buffer);
  dv.setUint16(8, header.length, true);
  out.set(new TextEncoder().encode(header), 10);
  for (let i = 0; i < values.length; i++) {
    const at = 10 + header.length + i * width;
    if (descr === '<f4') dv.setFloat32(at, values[i], true);
    else dv.setBigInt64(at, BigInt(values[i]), true);
  }
  return out;
}

const cliSuite = suite('PyTorch checkpoints: CLI');

cliSuite('the CLI fine-tunes a PyTorch ResNet-18 as its deconvolution twin, and names a wrong stem', () => {
  const dir = mkdtempSync(join(tmpdir(), 'netdeconv-pt-'));
  const n = 80;
  const labels = Array.from({ length: n }, (_, i) => i % 2);
  const x = new Float32Array(n * 3 * 32 * 32).map((_, j) => {
    const i = Math.floor(j / 3072);
    return ((Math.floor(j / 1024) % 3 === 0) === (labels[i] === 1) ? 1 : 0) + 0.05 * Math.sin(j);
  });
  writeFileSync(join(dir, 'x.npy'), npy('<f4', [n, 3, 32, 32], x));
  writeFileSync(join(dir, 'y.npy'), npy('<i8', [n], labels));
  const data = ['--data', `npy:${join(dir, 'x.npy')},${join(dir, 'y.npy')}`];
  const model = ['--model', 'resnet18', '--width', '0.0625', '--pretrained', join(DIR, 'resnet18_w4.pt')];
  const out = cli([
    'train',
    ...data,
    ...model,
    '--stem',
    'imagenet',
    '--deconv',
    '--block',
    '4',
    '--epochs',
    '1',
    '--threads',
    '1',
  ]);
  assert.match(out, /resnet18 \(deconvolution\) \(\d+ parameters\) on 64 training images/);
  assert.match(out, /\| test accuracy +\| +[01]\.\d+ \|/);
  try {
    cli(['train', ...data, ...model, '--epochs', '1']);
    assert.unreachable();
  } catch (e) {
    assert.match((e as { stderr: string }).stderr, /resnet18_w4\.pt: .*size mismatch for conv1\.weight/);
  }
});

cliSuite.run();
