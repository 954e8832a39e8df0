// Every reader of bytes, fed random, truncated and bit-flipped files: each gives a clear error that names its
// source, or a valid result — never a crash, a typed-array RangeError, a hang or NaN weights.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { encode as encodePng } from 'fast-png';
import fc from 'fast-check';
import { zipSync } from 'fflate';
import { encode as encodeJpeg } from 'jpeg-js';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { data, Generator, io, nn, optim } from '../src/index.js';
import { FIXTURES } from './helpers.js';

const test = suite('reader fuzz');

/** .npy bytes of a float32 (2, 3) array. */
function npyBytes(): Uint8Array {
  let header = "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }";
  header += `${' '.repeat(63 - ((10 + header.length) % 64))}\n`;
  const out = new Uint8Array(10 + header.length + 24);
  out.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0]);
  new DataView(out.buffer).setUint16(8, header.length, true);
  out.set(new TextEncoder().encode(header), 10);
  new Float32Array(out.buffer, 10 + header.length, 6).set([1, 2, 3, 4, 5, 6]);
  return out;
}

function idxBytes(): Uint8Array {
  return Uint8Array.from([0, 0, 0x08, 3, 0, 0, 0, 2, 0, 0, 0, 2, 0, 0, 0, 2, 1, 2, 3, 4, 5, 6, 7, 8]);
}

function model(): nn.Sequential {
  return new nn.Sequential(new nn.Linear(3, 2), new nn.ReLU(), new nn.Linear(2, 2));
}

function checkpointBytes(): Uint8Array {
  const m = model();
  const opt = new optim.SGD(m.parameters(), { lr: 0.1, momentum: 0.9 });
  return io.saveCheckpoint({ model: m, optimizer: opt, generator: new Generator(3) });
}

const finite = (a: ArrayLike<number>) => Array.from(a).every(Number.isFinite);
const size = (shape: readonly number[]) => shape.reduce((x, y) => x * y, 1);

/** Each reader: a valid file, and what a result it returns must satisfy. `name` must appear in its errors. */
const readers: { name: string; valid: () => Uint8Array; read: (b: Uint8Array) => void }[] = [
  {
    name: 'a.npy',
    valid: npyBytes,
    read: (b) => {
      const a = data.parseNpy(b, 'a.npy');
      assert.is(a.data.length, size(a.shape));
    },
  },
  {
    name: 'a.npz',
    valid: () => zipSync({ 'x.npy': npyBytes() }),
    read: (b) => {
      for (const a of Object.values(data.parseNpz(b, 'a.npz'))) assert.is(a.data.length, size(a.shape));
    },
  },
  {
    name: 'w.safetensors',
    valid: () => io.save(model()),
    read: (b) => {
      for (const t of Object.values(io.decodeSafetensors(b, 'w.safetensors').tensors))
        assert.is(t.data.length, size(t.shape));
      const m = model();
      io.load(m, b, { source: 'w.safetensors' });
      assert.ok(
        Object.values(m.stateDict()).every((t) => finite(t.data)),
        'loaded weights are finite',
      );
    },
  },
  {
    name: 'w.pt',
    valid: () => new Uint8Array(readFileSync(join(FIXTURES, 'checkpoints', 'small_state_dict.pt'))),
    read: (b) => {
      for (const t of Object.values(io.decodeTorchSave(b, 'w.pt'))) assert.is(t.data.length, size(t.shape));
      const m = model();
      io.load(m, b, { source: 'w.pt' });
      assert.ok(
        Object.values(m.stateDict()).every((t) => finite(t.data)),
        'loaded weights are finite',
      );
    },
  },
  {
    name: 'run.ckpt',
    valid: checkpointBytes,
    read: (b) => {
      const m = model();
      const opt = new optim.SGD(m.parameters(), { lr: 0.1, momentum: 0.9 });
      io.loadCheckpoint({ model: m, optimizer: opt, generator: new Generator(1) }, b, 'run.ckpt');
      assert.ok(
        Object.values(m.stateDict()).every((t) => finite(t.data)),
        'loaded weights are finite',
      );
      assert.ok(Number.isFinite(opt.paramGroups[0].lr) && opt.paramGroups[0].lr >= 0);
    },
  },
  {
    name: 'images.idx',
    valid: idxBytes,
    read: (b) => {
      const a = data.parseIdx(b, 'images.idx');
      assert.is(a.data.length, size(a.shape));
    },
  },
  {
    name: 'data_batch_1.bin',
    valid: () => Uint8Array.from({ length: 2 * 3073 }, (_, i) => (i % 3073 === 0 ? 3 : i & 255)),
    read: (b) => {
      const ds = data.cifar10Dataset([{ bytes: b, name: 'data_batch_1.bin' }]);
      assert.ok(finite(ds.images));
    },
  },
  {
    name: 'a.png',
    valid: () =>
      encodePng({ width: 3, height: 2, data: Uint8Array.from({ length: 18 }, (_, i) => i * 9), channels: 3 }),
    read: (b) => {
      const im = data.decodeImage(b, 'a.png');
      assert.is(im.data.length, im.width * im.height * im.channels);
      assert.ok(Array.from(im.data).every((v) => v >= 0 && v <= 1));
    },
  },
  {
    name: 'a.jpg',
    valid: () => new Uint8Array(encodeJpeg({ width: 8, height: 8, data: new Uint8Array(256).fill(120) }, 90).data),
    read: (b) => {
      const im = data.decodeImage(b, 'a.jpg');
      assert.is(im.data.length, im.width * im.height * im.channels);
      assert.ok(Array.from(im.data).every((v) => v >= 0 && v <= 1));
    },
  },
];

/** Random bytes, a prefix of the valid file, or the valid file with 1–8 bits flipped. */
function corrupted(valid: Uint8Array): fc.Arbitrary<Uint8Array> {
  return fc.oneof(
    fc.uint8Array({ maxLength: 200 }),
    fc.integer({ min: 0, max: valid.length - 1 }).map((n) => valid.slice(0, n)),
    fc
      .array(fc.tuple(fc.nat(valid.length - 1), fc.integer({ min: 0, max: 7 })), { minLength: 1, maxLength: 8 })
      .map((flips) => {
        const b = valid.slice();
        for (const [at, bit] of flips) b[at] ^= 1 << bit;
        return b;
      }),
  );
}

for (const r of readers) {
  test(`${r.name}: random, truncated and bit-flipped bytes give a named error or a valid result`, () => {
    const valid = r.valid();
    r.read(valid); // the valid file reads
    fc.assert(
      fc.property(corrupted(valid), (bytes) => {
        try {
          r.read(bytes);
        } catch (e) {
          assert.ok(e instanceof Error, `threw a non-Error: ${e}`);
          // A RangeError or TypeError from inside a reader would be a crash in a user's eyes, not an answer.
          assert.is(e.constructor, Error, `${e.constructor.name}: ${e.message}`);
          assert.ok(e.message.includes(r.name), `the error names ${r.name}: ${e.message}`);
        }
      }),
      { numRuns: 300 },
    );
  });
}

test('a zip whose directory lists more entries than it can hold is refused before it is walked', () => {
  // A byte of the entry count flipped high (the fuzz found this one: fflate walked every listed entry, for minutes).
  const flip = (valid: Uint8Array, at: number, value: number) => {
    const b = valid.slice();
    b[at] = value;
    return b;
  };
  // torch.save writes zip64 records: the count is 8 bytes at 32 into the zip64 record, 98 bytes from the end.
  const valid = new Uint8Array(readFileSync(join(FIXTURES, 'checkpoints', 'small_state_dict.pt')));
  assert.throws(
    () => io.decodeTorchSave(flip(valid, valid.length - 98 + 35, 4), 'w.pt'),
    /w\.pt: not a readable torch\.save \(zip\) archive: its directory lists 67108870 entries, more than \d+ bytes of directory can hold/,
  );
  // fflate's own archives end with the plain record, 22 bytes from the end, its count at 10.
  const npz = zipSync({ 'x.npy': new Uint8Array(10) });
  assert.throws(
    () => data.parseNpz(flip(npz, npz.length - 22 + 11, 0x40), 'a.npz'),
    /a\.npz: not a readable \.npz \(zip\) archive: its directory lists 16385 entries/,
  );
});

test.run();
