// Data: IDX and CIFAR-10 readers on files the test generates, their errors, the embedded MNIST, splits, batches.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { data } from '../src/index.js';
import { loadCifar10, loadEmbeddedMnist, loadIdxDataset } from '../src/node/data.js';

const test = suite('data');
const dir = mkdtempSync(join(tmpdir(), 'netdeconv-data-'));

function idx(type: number, shape: number[], values: number[]): Uint8Array {
  const header = new Uint8Array(4 + 4 * shape.length);
  header[2] = type;
  header[3] = shape.length;
  const dv = new DataView(header.buffer);
  shape.forEach((d, i) => dv.setUint32(4 + 4 * i, d, false));
  const out = new Uint8Array(header.length + values.length);
  out.set(header);
  out.set(values, header.length);
  return out;
}

test('IDX images and labels load, scaled to [0, 1]', () => {
  const imgs = Array.from({ length: 3 * 2 * 2 }, (_, i) => i * 20);
  writeFileSync(join(dir, 'img.idx'), idx(0x08, [3, 2, 2], imgs));
  writeFileSync(join(dir, 'lab.idx'), idx(0x08, [3], [7, 0, 9]));
  const ds = loadIdxDataset(join(dir, 'img.idx'), join(dir, 'lab.idx'));
  assert.is(ds.length, 3);
  assert.equal([...ds.imageShape], [1, 2, 2]);
  assert.equal([...ds.labels], [7, 0, 9]);
  assert.ok(Math.abs(ds.images[5] - 100 / 255) < 1e-7);
});

test('IDX int32 big-endian values parse', () => {
  const bytes = idx(0x0c, [2], [0, 0, 1, 2, 0xff, 0xff, 0xff, 0xfe]);
  assert.equal([...data.parseIdx(bytes).data], [258, -2]);
});

test('malformed IDX files name the file and the fault', () => {
  writeFileSync(join(dir, 'short.idx'), idx(0x08, [3, 2, 2], [1, 2, 3]));
  writeFileSync(join(dir, 'lab.idx'), idx(0x08, [3], [1, 2, 3]));
  assert.throws(
    () => loadIdxDataset(join(dir, 'short.idx'), join(dir, 'lab.idx')),
    /short\.idx: truncated: shape \(3, 2, 2\) of uint8 needs 28 bytes, file has 19/,
  );
  assert.throws(
    () => data.parseIdx(new Uint8Array([0x1f, 0x8b, 8, 0]), 'x.gz'),
    /x\.gz: not an IDX file.*gzip-compressed/,
  );
  assert.throws(
    () => data.parseIdx(new Uint8Array([0, 0, 0x42, 1, 0, 0, 0, 0]), 'odd'),
    /odd: unknown IDX element type 0x42/,
  );
  writeFileSync(join(dir, 'l2.idx'), idx(0x08, [2], [1, 2]));
  writeFileSync(join(dir, 'i3.idx'), idx(0x08, [3, 1, 1], [1, 2, 3]));
  assert.throws(
    () => loadIdxDataset(join(dir, 'i3.idx'), join(dir, 'l2.idx')),
    /i3\.idx has 3 images but l2\.idx has 2 labels/,
  );
  assert.throws(() => loadIdxDataset(join(dir, 'missing.idx'), join(dir, 'l2.idx')), /cannot read .*missing\.idx/);
});

test('CIFAR-10 binary batches load channel-major, and bad files are named', () => {
  const rec = new Uint8Array(2 * 3073);
  rec[0] = 3;
  rec[1] = 255; // R of pixel 0
  rec[1 + 1024] = 51; // G of pixel 0
  rec[3073] = 9;
  writeFileSync(join(dir, 'data_batch_1.bin'), rec);
  const ds = loadCifar10([join(dir, 'data_batch_1.bin')]);
  assert.equal([...ds.labels], [3, 9]);
  assert.equal([...ds.imageShape], [3, 32, 32]);
  assert.is(ds.images[0], 1);
  assert.ok(Math.abs(ds.images[1024] - 0.2) < 1e-7);
  writeFileSync(join(dir, 'cut.bin'), rec.subarray(0, 3073 + 100));
  assert.throws(
    () => loadCifar10([join(dir, 'cut.bin')]),
    /cut\.bin: 3173 bytes is not a whole number of CIFAR-10 records.*truncated after 100 bytes/,
  );
  const bad = rec.slice();
  bad[3073] = 42;
  writeFileSync(join(dir, 'c100.bin'), bad);
  assert.throws(() => loadCifar10([join(dir, 'c100.bin')]), /c100\.bin: record 1 has label 42/);
});

test('embedded MNIST: 10,000 real digits, every class present, pixels in [0, 1]', () => {
  const ds = loadEmbeddedMnist();
  assert.is(ds.length, 10000);
  const counts = new Array(10).fill(0);
  for (const l of ds.labels) counts[l]++;
  assert.ok(
    counts.every((c) => c > 800),
    `counts ${counts}`,
  );
  let lo = Infinity;
  let hi = -Infinity;
  for (const v of ds.images) {
    lo = Math.min(lo, v);
    hi = Math.max(hi, v);
  }
  assert.ok(lo === 0 && hi > 0.99 && hi <= 1);
});

test('split is seeded, disjoint and complete; normalisation uses the given statistics', () => {
  const ds = new data.ImageDataset(
    Float32Array.from({ length: 20 }, (_, i) => i),
    Int32Array.from({ length: 20 }, (_, i) => i % 4),
    [1, 1, 1],
    4,
  );
  const a = ds.split(5, 7);
  const b = ds.split(5, 7);
  assert.equal([...a.test.images], [...b.test.images]);
  const all = [...a.train.images, ...a.test.images].sort((x, y) => x - y);
  assert.equal(
    all,
    Array.from({ length: 20 }, (_, i) => i),
  );
  assert.not.equal([...ds.split(5, 8).test.images], [...a.test.images]);
  const n = ds.normalize([10], [2]);
  assert.is(n.images[0], -5);
  const { mean, std } = ds.channelStats();
  assert.ok(Math.abs(mean[0] - 9.5) < 1e-9 && Math.abs(std[0] - Math.sqrt(33.25)) < 1e-9);
});

test('batches: shapes, seeded shuffling, dropLast, every image once per epoch', () => {
  const ds = new data.ImageDataset(
    Float32Array.from({ length: 10 * 4 }, (_, i) => Math.floor(i / 4)),
    Int32Array.from({ length: 10 }, (_, i) => i % 3),
    [1, 2, 2],
    3,
  );
  const batches = [...ds.batches(4, { shuffle: true, seed: 1 })];
  assert.equal(
    batches.map((b) => b.x.shape[0]),
    [4, 4, 2],
  );
  assert.equal([...batches[0].x.shape], [4, 1, 2, 2]);
  const seen = batches.flatMap((b) => b.x.toArray().filter((_, i) => i % 4 === 0)).sort((a, b) => a - b);
  assert.equal(
    seen,
    Array.from({ length: 10 }, (_, i) => i),
  );
  assert.is([...ds.batches(4, { dropLast: true })].length, 2);
  const again = [...ds.batches(4, { shuffle: true, seed: 1 })];
  assert.equal(again[0].x.toArray(), batches[0].x.toArray());
  assert.throws(() => [...ds.batches(0)], /batchSize must be a positive integer/);
});

test("the built 'netdeconv/node' entry makes tensors of the built library: one registry, one Tensor class", () => {
  assert.ok(existsSync('dist/node.js'), 'dist/ is built (npm run build)');
  // As a user imports them (README's API tour): the backend chosen through one entry serves the other's tensors.
  const script = `
    const lib = await import('./dist/index.js');
    const { loadEmbeddedMnist } = await import('./dist/node.js');
    await lib.setBackend('js');
    const [batch] = loadEmbeddedMnist().split(100, 0).train.batches(8);
    console.log(batch.x instanceof lib.Tensor, lib.getBackend(), batch.x.shape.join('x'), batch.x.mean().item().toFixed(4));
  `;
  const args = 'Deno' in globalThis ? ['eval', script] : ['--input-type=module', '-e', script];
  const out = execFileSync(process.execPath, args, { encoding: 'utf8', timeout: 30_000 });
  assert.match(out, /^true js 8x1x28x28 0\.\d{4}\n$/);
});

test.run();
