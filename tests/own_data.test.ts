// A user's own data: .npy/.npz arrays (any channel count, NCHW or NHWC, regression targets), folders of PNG/JPEG
// images, Fashion-MNIST, and the CLI that trains on them. Every file is written by the test itself.
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { encode as encodePng } from 'fast-png';
import { zipSync } from 'fflate';
import { encode as encodeJpeg } from 'jpeg-js';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { data, io, manualSeed, nn } from '../src/index.js';
import { bestRates } from '../src/train/compare.js';
import { fit } from '../src/train/trainer.js';
import { loadFashionMnist, loadImageFolder } from '../src/node/data.js';

const test = suite('own data');
const dir = mkdtempSync(join(tmpdir(), 'netdeconv-own-'));

/** .npy bytes (version 1.0) for `values` written with `write(view, byteOffset, value)` at `bytes` per value. */
function npy(descr: string, shape: number[], values: number[], bytes: number, fortran = false): Uint8Array {
  const shapeText = shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(', ')})`;
  let header = `{'descr': '${descr}', 'fortran_order': ${fortran ? 'True' : 'False'}, 'shape': ${shapeText}, }`;
  header += `${' '.repeat(63 - ((10 + header.length) % 64))}\n`;
  const out = new Uint8Array(10 + header.length + values.length * bytes);
  out.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0]);
  const view = new DataView(out.buffer);
  view.setUint16(8, header.length, true);
  out.set(new TextEncoder().encode(header), 10);
  const little = descr[0] !== '>';
  const at = 10 + header.length;
  values.forEach((v, i) => {
    const o = at + i * bytes;
    const code = descr.slice(1);
    if (code === 'f4') view.setFloat32(o, v, little);
    else if (code === 'f8') view.setFloat64(o, v, little);
    else if (code === 'u1') view.setUint8(o, v);
    else if (code === 'i8') view.setBigInt64(o, BigInt(v), little);
    else if (code === 'i4') view.setInt32(o, v, little);
    else throw new Error(`npy helper: ${code}`);
  });
  return out;
}

function throwsWith(fn: () => unknown, words: RegExp): void {
  assert.throws(fn, (e: Error) => words.test(e.message), `expected an error matching ${words}`);
}

test('.npy arrays of every common dtype and byte order parse to their values and shape', () => {
  const f4 = data.parseNpy(npy('<f4', [2, 3], [0, 1.5, -2, 3, 4, 5], 4));
  assert.equal(f4.shape, [2, 3]);
  assert.is(f4.dtype, 'float32');
  assert.ok(f4.data instanceof Float32Array);
  assert.equal([...f4.data], [0, 1.5, -2, 3, 4, 5]);
  assert.equal([...data.parseNpy(npy('>f8', [2], [0.1, -7], 8)).data], [0.1, -7]);
  assert.equal([...data.parseNpy(npy('|u1', [3], [0, 128, 255], 1)).data], [0, 128, 255]);
  const i8 = data.parseNpy(npy('<i8', [3], [3, -1, 2 ** 40], 8));
  assert.is(i8.dtype, 'int64');
  assert.equal([...i8.data], [3, -1, 2 ** 40]);
  assert.equal(data.parseNpy(npy('<f4', [], [42], 4)).shape, []);
  // Fortran order on disk: (2, 3) stored column by column comes back row by row.
  const f = data.parseNpy(npy('<f4', [2, 3], [0, 3, 1, 4, 2, 5], 4, true));
  assert.equal([...f.data], [0, 1, 2, 3, 4, 5]);
});

test('.npy errors name the file and the fault', () => {
  const good = npy('<f4', [2, 2], [1, 2, 3, 4], 4);
  throwsWith(
    () => data.parseNpy(good.subarray(0, good.length - 1), 'x.npy'),
    /x\.npy: shape \(2, 2\) of float32 needs 16 data bytes, the file has 15/,
  );
  throwsWith(() => data.parseNpy(new Uint8Array(20), 'y.npy'), /y\.npy: not a \.npy file/);
  const complex = npy('<f4', [1], [0], 4);
  complex.set(new TextEncoder().encode('<c8'), complex.indexOf(0x3c));
  throwsWith(() => data.parseNpy(complex, 'c.npy'), /c\.npy: dtype '<c8' is not supported/);
  throwsWith(
    () => data.parseNpy(npy('<i8', [1], [2 ** 53 + 2], 8), 'big.npy'),
    /big\.npy: int64 value .* does not fit a float64/,
  );
});

test('.npz archives (stored and deflated) read every array by name', () => {
  const x = npy('<f4', [2, 1, 2, 2], [1, 2, 3, 4, 5, 6, 7, 8], 4);
  const y = npy('<i8', [2], [0, 1], 8);
  for (const level of [0, 6] as const) {
    const arrays = data.parseNpz(zipSync({ 'x.npy': x, 'y.npy': y }, { level }), 'd.npz');
    assert.equal(Object.keys(arrays).sort(), ['x', 'y']);
    assert.equal([...arrays.y.data], [0, 1]);
    assert.equal(arrays.x.shape, [2, 1, 2, 2]);
  }
  throwsWith(() => data.parseNpz(new Uint8Array([1, 2, 3, 4]), 'bad.npz'), /bad\.npz: not a readable \.npz/);
});

test('arrayDataset reads NCHW, NHWC and (N, H, W) images, and checks the labels', () => {
  // Two 2×2 images with 3 channels, NHWC: pixel p of image n, channel c holds 100n + 10p + c.
  const nhwc = Array.from({ length: 2 * 4 * 3 }, (_, i) => {
    const n = Math.floor(i / 12);
    const p = Math.floor((i % 12) / 3);
    return 100 * n + 10 * p + (i % 3);
  });
  const ds = data.arrayDataset({ shape: [2, 2, 2, 3], data: nhwc }, { shape: [2], data: [1, 0] }, { layout: 'nhwc' });
  assert.equal([...ds.imageShape], [3, 2, 2]);
  // NCHW: image 1, channel 2, pixels 0…3.
  assert.equal([...ds.images.subarray(12 + 8, 12 + 12)], [102, 112, 122, 132]);
  assert.is(ds.numClasses, 2);
  const grey = data.arrayDataset(
    { shape: [1, 2, 2], data: [0, 51, 102, 255], dtype: 'uint8' },
    { shape: [1], data: [0] },
  );
  assert.equal([...grey.imageShape], [1, 2, 2]);
  assert.ok(Math.abs(grey.images[1] - 0.2) < 1e-7, 'uint8 pixels are scaled to [0, 1]');
  throwsWith(
    () =>
      data.arrayDataset(
        { shape: [2, 1, 1, 1], data: [0, 0] },
        { shape: [2], data: [0, 0.5] },
        { names: ['x.npy', 'y.npy'] },
      ),
    /y\.npy: label 0\.5 at index 1 is not a non-negative integer \(for real-valued targets use the regress task\)/,
  );
  throwsWith(
    () => data.arrayDataset({ shape: [2, 4], data: new Float32Array(8) }, { shape: [2], data: [0, 0] }),
    /images: images must have shape \(N, C, H, W\)/,
  );
  throwsWith(
    () => data.arrayRegressionDataset({ shape: [2, 1, 1, 1], data: [0, 0] }, { shape: [3], data: [0, 0, 0] }),
    /targets: targets must have shape \(2\) or \(2, k\) to match images, got \(3\)/,
  );
  throwsWith(
    () => data.arrayRegressionDataset({ shape: [1, 1, 1, 1], data: [0] }, { shape: [1], data: [Number.NaN] }),
    /target NaN at index 0 is not a finite number/,
  );
});

test('a RegressionDataset splits, normalises and batches its targets with its images', () => {
  const n = 10;
  const images = Float32Array.from({ length: n * 2 }, (_, i) => i);
  const targets = Float32Array.from({ length: n * 3 }, (_, i) => 1000 + i);
  const ds = new data.RegressionDataset(images, targets, [2, 1, 1], 3);
  const { train, test: held } = ds.split(4, 7);
  assert.is(train.length + held.length, n);
  assert.ok(train instanceof data.RegressionDataset);
  const norm = train.normalize([1, 2], [2, 4]);
  for (const { x, y } of norm.batches(4, { shuffle: true, seed: 3 })) {
    assert.equal(y.shape, [x.shape[0], 3]);
    for (let i = 0; i < x.shape[0]; i++) {
      const image = Math.round(x.data[2 * i] * 2 + 1) / 2; // undo the normalisation of channel 0
      assert.equal([...y.data.subarray(3 * i, 3 * i + 3)], [1000 + 3 * image, 1001 + 3 * image, 1002 + 3 * image]);
    }
  }
});

test('pad surrounds every image with zeros and keeps its targets', () => {
  const ds = new data.RegressionDataset(
    Float32Array.from([1, 2, 3, 4, 5, 6, 7, 8]),
    new Float32Array([9, 10]),
    [1, 2, 2],
    1,
  );
  const padded = ds.pad(1);
  assert.ok(padded instanceof data.RegressionDataset);
  assert.equal([...padded.imageShape], [1, 4, 4]);
  assert.equal([...padded.images.subarray(16, 32)], [0, 0, 0, 0, 0, 5, 6, 0, 0, 7, 8, 0, 0, 0, 0, 0]);
  assert.equal([...padded.targets], [9, 10]);
  throwsWith(() => ds.pad(-1), /pad: expected an integer ≥ 0, got -1/);
});

test('fit trains a regressor with MSE and reports its RMSE', () => {
  manualSeed(0);
  const n = 512;
  const images = Float32Array.from({ length: n * 5 * 4 * 4 }, () => Math.random() * 2 - 1);
  // Two targets per image: the mean of channel 0 and of channel 4.
  const targets = new Float32Array(n * 2);
  for (let i = 0; i < n; i++) {
    for (const [k, c] of [
      [0, 0],
      [1, 4],
    ]) {
      let s = 0;
      for (let p = 0; p < 16; p++) s += images[(i * 5 + c) * 16 + p];
      targets[2 * i + k] = s / 16;
    }
  }
  const ds = new data.RegressionDataset(images, targets, [5, 4, 4], 2);
  const { train, test: held } = ds.split(128, 0);
  const spread = Math.sqrt(targets.reduce((s, v) => s + v * v, 0) / targets.length);
  const model = new nn.Sequential(new nn.Flatten(), new nn.Linear(80, 2));
  const r = fit(model, train, held, {
    epochs: 20,
    batchSize: 32,
    lr: 0.05,
    optimizer: 'sgd',
    schedule: 'onecycle',
    momentum: 0.9,
    weightDecay: 0,
    seed: 0,
  });
  assert.ok(Number.isNaN(r.test.accuracy));
  assert.ok(Math.abs(r.test.rmse - Math.sqrt(r.test.loss)) < 1e-9);
  assert.ok(r.test.rmse < 0.1 * spread, `RMSE ${r.test.rmse} against a target RMS of ${spread}`);
});

test('PNG (grey, RGBA, 16-bit) and JPEG images decode to [0, 1] pixels', () => {
  const grey = data.decodeImage(encodePng({ width: 2, height: 1, data: new Uint8Array([0, 255]), channels: 1 }));
  assert.equal([grey.width, grey.height, grey.channels], [2, 1, 1]);
  assert.equal([...grey.data], [0, 1]);
  const rgba16 = data.decodeImage(
    encodePng({ width: 1, height: 1, data: new Uint16Array([65535, 0, 32768, 65535]), channels: 4, depth: 16 }),
  );
  assert.is(rgba16.channels, 4);
  assert.ok(Math.abs(rgba16.data[2] - 32768 / 65535) < 1e-7);
  const jpeg = encodeJpeg({ width: 8, height: 8, data: new Uint8Array(8 * 8 * 4).fill(200) }, 95).data;
  const j = data.decodeImage(new Uint8Array(jpeg));
  assert.equal([j.width, j.height, j.channels], [8, 8, 3]);
  assert.ok(Math.abs(j.data[0] - 200 / 255) < 0.02, `JPEG pixel ${j.data[0] * 255}`);
  throwsWith(() => data.decodeImage(new Uint8Array([1, 2, 3, 4]), 'a.gif'), /a\.gif: not a PNG or JPEG file/);
});

test('augmentation: seeded random crops of the zero-padded image and horizontal flips', () => {
  // One 1×3×3 image holding 1…9; pad 1 and flips give shifted, mirrored copies with zeros at the edges.
  const image = Float32Array.from({ length: 9 }, (_, i) => i + 1);
  const ds = new data.ImageDataset(image, new Int32Array([0]), [1, 3, 3], 1);
  const seen = new Set<string>();
  for (let seed = 0; seed < 200; seed++) {
    const [{ x }] = [...ds.batches(1, { seed, augment: { pad: 1, flip: true } })];
    const v = [...x.data];
    seen.add(v.join(','));
    // Every output is the image shifted by (dy, dx) ∈ [−1, 1]², maybe mirrored, zero outside.
    const match = [-1, 0, 1].some((dy) =>
      [-1, 0, 1].some((dx) =>
        [false, true].some((flip) =>
          v.every((got, i) => {
            const y = Math.floor(i / 3) + dy;
            const xx = (flip ? 2 - (i % 3) : i % 3) + dx;
            return got === (y >= 0 && y < 3 && xx >= 0 && xx < 3 ? image[y * 3 + xx] : 0);
          }),
        ),
      ),
    );
    assert.ok(match, `seed ${seed}: ${v} is not a padded crop or flip of the image`);
  }
  assert.is(seen.size, 18, 'all 9 shifts × 2 flips occur');
  const again = (seed: number) => [...[...ds.batches(1, { seed, augment: { pad: 1, flip: true } })][0].x.data];
  assert.equal(again(5), again(5), 'the same seed gives the same augmentation');
  const plain = [...[...ds.batches(1, { seed: 5 })][0].x.data];
  assert.equal(plain, [...image], 'no augment, no change');
  throwsWith(
    () => [...ds.batches(1, { augment: { pad: 1.5 } })],
    /batches: augment.pad must be an integer ≥ 0, got 1\.5/,
  );
});

test('fit resumes from its own checkpoint exactly where an unbroken run would be', () => {
  const images = Float32Array.from({ length: 96 * 1 * 8 * 8 }, (_, i) => Math.sin(i * 0.37));
  const labels = Int32Array.from({ length: 96 }, (_, i) => i % 3);
  const ds = new data.ImageDataset(images, labels, [1, 8, 8], 3);
  const cfg = {
    epochs: 3,
    batchSize: 16,
    lr: 0.05,
    optimizer: 'sgd' as const,
    schedule: 'onecycle' as const,
    momentum: 0.9,
    weightDecay: 1e-3,
    seed: 4,
    augment: { pad: 1, flip: true },
  };
  const make = () => {
    manualSeed(11);
    return nn.utils.convertToDeconv(nn.mnistCnn({ size: 8, numClasses: 3, width: [4, 4] }), { deconv: { block: 2 } });
  };
  const whole = make();
  fit(whole, ds, ds, cfg);
  const checkpoints: Uint8Array[] = [];
  const first = make();
  fit(first, ds, ds, cfg, { onCheckpoint: (bytes) => checkpoints.push(bytes) });
  assert.is(checkpoints.length, 3);
  const resumed = make();
  const r = fit(resumed, ds, ds, cfg, { resume: checkpoints[0] });
  assert.is(r.lossCurve.length, 2 * 6, 'the resumed run trains the two epochs left');
  const a = whole.stateDict();
  const b = resumed.stateDict();
  for (const k of Object.keys(a)) assert.equal([...b[k].data], [...a[k].data], `${k} matches the unbroken run`);
  throwsWith(
    () => fit(make(), ds, ds, { ...cfg, lr: 0.1 }, { resume: checkpoints[0] }),
    /fit: the resume checkpoint: it was trained with another config \(lr: 0\.05 there, 0\.1 here\)/,
  );
  throwsWith(
    () => fit(make(), ds, ds, cfg, { resume: checkpoints[2] }),
    /fit: the resume checkpoint: it has already done 3 of the 3 epochs/,
  );
});

/** Writes an image folder: `classes` sub-folders of `perClass` PNGs whose pixels encode their class. */
function imageFolder(root: string, classes: string[], perClass: number, size = 8, colourClass = -1): void {
  classes.forEach((c, label) => {
    mkdirSync(join(root, c), { recursive: true });
    for (let i = 0; i < perClass; i++) {
      const channels = label === colourClass ? 3 : 1;
      const px = Uint8Array.from({ length: size * size * channels }, (_, p) =>
        label === 0 ? (p % 7) * 10 : 255 - (p % 5) * 10 - i,
      );
      writeFileSync(join(root, c, `${i}.png`), encodePng({ width: size, height: size, data: px, channels }));
    }
  });
}

test('loadImageFolder: one class per sub-folder, grey or RGB, sizes checked', () => {
  const root = join(dir, 'folder');
  imageFolder(root, ['cat', 'ant'], 3);
  const ds = loadImageFolder(root);
  assert.equal(ds.classNames, ['ant', 'cat'], 'classes in sorted order');
  assert.equal([...ds.imageShape], [1, 8, 8]);
  assert.equal([...ds.labels], [0, 0, 0, 1, 1, 1]);
  const mixed = join(dir, 'mixed');
  imageFolder(mixed, ['a', 'b'], 2, 8, 1);
  const m = loadImageFolder(mixed);
  assert.equal([...m.imageShape], [3, 8, 8], 'a folder mixing grey and colour loads as RGB');
  assert.is(m.images[64], m.images[0], 'a grey image repeats its value in every channel');
  writeFileSync(
    join(root, 'ant', 'big.png'),
    encodePng({ width: 9, height: 8, data: new Uint8Array(72), channels: 1 }),
  );
  throwsWith(() => loadImageFolder(root), /big\.png: 9×8 pixels, but .*0\.png is 8×8; resize the images to one size/);
  writeFileSync(join(root, 'ant', 'big.png'), 'not an image');
  throwsWith(() => loadImageFolder(root), /big\.png: not a PNG or JPEG file/);
});

test('Fashion-MNIST loads 70,000 real 28×28 images, 7,000 per class', () => {
  const ds = loadFashionMnist();
  assert.is(ds.length, 70000);
  assert.equal([...ds.imageShape], [1, 28, 28]);
  const counts = new Array(10).fill(0);
  for (const l of ds.labels) counts[l]++;
  assert.equal(counts, new Array(10).fill(7000));
  const { mean } = ds.channelStats();
  assert.ok(mean[0] > 0.2 && mean[0] < 0.4, `mean pixel ${mean[0]} (Fashion-MNIST's is 0.286)`);
});

/** Runs the built CLI; returns stdout, or throws with stderr. */
function cli(args: string[]): string {
  return execFileSync(process.execPath, ['dist/cli.js', ...args], { encoding: 'utf8', stdio: 'pipe' });
}

test('the CLI regresses 5-channel .npy images, saves the weights and exports ONNX', () => {
  const n = 320;
  const x = Array.from({ length: n * 5 * 8 * 8 }, (_, i) => Math.sin(i * 12.9898) * 0.5);
  const y: number[] = [];
  for (let i = 0; i < n; i++) y.push(x[i * 320] + x[i * 320 + 300]);
  writeFileSync(join(dir, 'x.npy'), npy('<f4', [n, 5, 8, 8], x, 4));
  writeFileSync(join(dir, 'y.npy'), npy('<f8', [n], y, 8));
  const weights = join(dir, 'w.safetensors');
  const onnx = join(dir, 'm.onnx');
  const out = cli([
    'train',
    ...['--data', `npy:${join(dir, 'x.npy')},${join(dir, 'y.npy')}`, '--task', 'regress'],
    ...['--model', 'resnet18', '--width', '0.125', '--deconv', '--block', '4', '--epochs', '1', '--threads', '1'],
    ...['--save-weights', weights, '--export', onnx],
  ]);
  assert.match(out, /256 training images of x\.npy and y\.npy \(5×8×8\), 64 held out/);
  const rmse = Number(out.match(/\| test RMSE\s+\|\s+([0-9.]+) \|/)?.[1]);
  assert.ok(Number.isFinite(rmse), `an RMSE row in:\n${out}`);
  const saved = io.decodeSafetensors(new Uint8Array(readFileSync(weights)), 'w.safetensors');
  assert.ok(Object.keys(saved.tensors).length > 10, 'the weights file holds the model');
  assert.ok(readFileSync(onnx).length > 1000, 'an ONNX file is written');
  try {
    cli(['train', '--data', `npy:${join(dir, 'x.npy')},${join(dir, 'y.npy')}`, '--model', 'vgg11']);
    assert.unreachable();
  } catch (e) {
    assert.match((e as { stderr: string }).stderr, /y\.npy: label .* is not a non-negative integer/);
  }
});

test('the CLI trains a VGG on digits padded to 32×32', () => {
  const out = cli([
    'train',
    ...['--model', 'vgg11', '--width', '0.0625', '--pad', '2', '--limit', '256'],
    '--epochs',
    '1',
  ]);
  assert.match(out, /vgg11 \(\d+ parameters\) on 256 training images of embedded MNIST digits \(1×32×32\)/);
  assert.match(out, /\| test accuracy +\| +0\.\d+ \|/);
});

test('the CLI classifies a folder of PNG images with train/ and test/ sub-folders', () => {
  const root = join(dir, 'pngs');
  imageFolder(join(root, 'train'), ['dark', 'light'], 40);
  imageFolder(join(root, 'test'), ['dark', 'light'], 10);
  const out = cli(['train', '--data', `images:${root}`, '--epochs', '2', '--batch-size', '16', '--threads', '1']);
  assert.match(out, /80 training images of images in .*pngs \(dark, light\) \(1×8×8\), 20 held out/);
  const acc = Number(out.match(/\| test accuracy\s+\|\s+([0-9.]+) \|/)?.[1]);
  assert.is(acc, 1, `two trivially separable classes:\n${out}`);
  const ck = join(dir, 'run.ckpt');
  const saved = cli([
    'train',
    '--data',
    `images:${root}`,
    '--epochs',
    '2',
    '--augment',
    '--save',
    ck,
    '--threads',
    '1',
  ]);
  assert.match(saved, /wrote .*run\.ckpt \(1 epoch\(s\) done\)[\s\S]*wrote .*run\.ckpt \(2 epoch\(s\) done\)/);
  try {
    cli(['train', '--data', `images:${root}`, '--epochs', '2', '--augment', '--resume', ck]);
    assert.unreachable();
  } catch (e) {
    assert.match((e as { stderr: string }).stderr, /it has already done 2 of the 2 epochs/);
  }
  try {
    cli(['train', '--data', `images:${root}`, '--task', 'regress']);
    assert.unreachable();
  } catch (e) {
    assert.match((e as { stderr: string }).stderr, /--task regress needs npy:X\.npy,Y\.npy or npz:FILE targets/);
  }
});

test('bestRates: highest mean accuracy, lowest mean RMSE, a diverged rate never wins', () => {
  const run = (model: 'bn' | 'deconv', lr: number, acc: number, rmse = Number.NaN) => ({
    model,
    seed: 0,
    lr,
    testAccuracy: acc,
    testRmse: rmse,
    testLoss: 0,
    finalLoss: 0,
    seconds: 1,
    imagesPerSecond: 1,
    lossCurve: [1],
    epochAccuracy: [acc],
  });
  const classify = [run('bn', 0.1, 0.9), run('bn', 0.1, 0.8), run('bn', 1, 0.86), run('deconv', 0.1, Number.NaN)];
  classify.push(run('deconv', 1, 0.5));
  const best = bestRates(classify);
  assert.equal(
    best.map((b) => [b.model, b.lr]),
    [
      ['bn', 1],
      ['deconv', 1],
    ],
  );
  const regress = [run('bn', 0.1, Number.NaN, 2), run('bn', 1, Number.NaN, 1), run('deconv', 0.1, Number.NaN, 0.5)];
  assert.equal(
    bestRates(regress).map((b) => [b.model, b.lr]),
    [
      ['bn', 1],
      ['deconv', 0.1],
    ],
  );
});

test('compare --lr-sweep trains every variant at every rate and reports each at its best', () => {
  const root = join(dir, 'sweep');
  imageFolder(root, ['dark', 'light'], 40);
  const report = join(dir, 'sweep.html');
  const out = cli([
    'compare',
    ...['--data', `images:${root}`, '--seeds', '2', '--lr-sweep', '0.01,0.1', '--batch-size', '16'],
    ...['--threads', '1', '--report', report],
  ]);
  assert.match(out, /2 seed\(s\) at each of 2 rates/);
  assert.is((out.match(/^ {2}(bn|deconv) +lr /gm) ?? []).length, 8, `8 runs in:\n${out}`);
  assert.match(out, /\| peak lr \| BatchNorm accuracy \| deconvolution accuracy \|/);
  assert.match(out, /\| bn +\| +0\.(01|1) \|/);
  const html = readFileSync(report, 'utf8');
  assert.match(html, /Learning-rate sweep/);
  assert.is((html.match(/<tr><td>(bn|deconv)<\/td><td>0\.(01|1)<\/td>/g) ?? []).length, 8, 'every run in the report');
});

test.run();
