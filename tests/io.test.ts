// Checkpoints: safetensors layout, bit-exact round trips, resuming a training run, and clear errors.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as assert from 'uvu/assert';
import { defaultGenerator, io, manualSeed, nn, optim, tensor } from '../src/index.js';
import { loadModelFile, saveModelFile, writeFileAtomic } from '../src/node/files.js';
import { forEachBackend } from './helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'netdeconv-io-'));

function net(): nn.Sequential {
  return new nn.Sequential(
    new nn.FastDeconv2d(1, 4, 3, { padding: 1 }),
    new nn.ReLU(),
    new nn.Conv2d(4, 4, 3, { bias: false }),
    new nn.BatchNorm2d(4),
    new nn.GlobalAvgPool2d(),
    new nn.Delinear(4, 3, { block: 4 }),
  );
}

forEachBackend('io', (test, backend) => {
  test('safetensors layout: u64 little-endian header length, JSON header, 8-byte aligned data, PyTorch names and dtypes', () => {
    manualSeed(1);
    const m = net();
    const bytes = io.save(m);
    const n = Number(new DataView(bytes.buffer, bytes.byteOffset).getBigUint64(0, true));
    assert.is((8 + n) % 8, 0);
    const header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + n)));
    assert.equal(header['0.running_deconv'].shape, [9, 9]);
    assert.is(header['0.running_deconv'].dtype, 'F32');
    assert.is(header['3.num_batches_tracked'].dtype, 'I64');
    assert.equal(header['3.num_batches_tracked'].shape, []);
    assert.is(header.__metadata__.format, 'pt');
    const w = header['2.weight'];
    const view = new DataView(bytes.buffer, bytes.byteOffset + 8 + n + w.data_offsets[0]);
    assert.is(view.getFloat32(0, true), (m.at(2) as nn.Conv2d).weight.data[0]);
  });

  test('save/load round-trips bit-exactly, through a file written atomically', () => {
    manualSeed(2);
    const a = net();
    a.forward(
      tensor(
        Array.from({ length: 2 * 36 }, (_, i) => Math.sin(i)),
        [2, 1, 6, 6],
      ),
    ); // non-trivial buffers
    const path = join(dir, 'model.safetensors');
    saveModelFile(a, path);
    manualSeed(3);
    const b = net();
    loadModelFile(b, path);
    for (const [k, t] of Object.entries(a.stateDict()))
      assert.equal(Array.from(b.stateDict()[k].data), Array.from(t.data), k);
    assert.equal(
      readdirSync(dir).filter((f) => f.includes('.tmp')),
      [],
      'no temporary file left',
    );
  });

  test('corrupt, truncated and mismatched files give errors naming the file and the fault', () => {
    const bytes = io.save(net());
    assert.throws(
      () => io.load(net(), bytes.subarray(0, bytes.length - 10), { source: 'cut.safetensors' }),
      /cut\.safetensors: truncated: '.*' ends at byte \d+ of a \d+-byte data section/,
    );
    assert.throws(() => io.load(net(), bytes.subarray(0, 5), { source: 'tiny' }), /tiny: 5 bytes is too short/);
    const bad = bytes.slice();
    bad[9] = 0x7b; // '{' inside the JSON
    bad[10] = 0x7b;
    assert.throws(() => io.load(net(), bad, { source: 'bad.st' }), /bad\.st: corrupt header/);
    const other = new nn.Sequential(new nn.Linear(3, 2));
    assert.throws(() => io.load(other, bytes), /missing keys: 0\.weight, 0\.bias; ?|unexpected keys/);
    const wrongShape = io.save(new nn.Sequential(new nn.Linear(4, 2)));
    assert.throws(
      () => io.load(new nn.Sequential(new nn.Linear(3, 2)), wrongShape),
      /size mismatch for 0\.weight: checkpoint \(2, 4\) vs model \(2, 3\)/,
    );
  });

  test('a failed write leaves no file behind', () => {
    const target = join(dir, 'missing-folder', 'x.safetensors');
    assert.throws(() => writeFileAtomic(target, new Uint8Array(4)), /cannot write .*x\.safetensors/);
    assert.not.ok(existsSync(target));
  });

  test('a write removes the temporary file a killed writer left, not a running one', () => {
    const target = join(dir, `${backend}-run.ckpt`);
    // A process that has exited leaves a pid that no process holds; this process's parent is running.
    const dead = spawnSync(process.execPath, ['-e', '0']).pid;
    const stale = join(dir, `.${backend}-run.ckpt.${dead}.1700000000000.tmp`);
    const live = join(dir, `.${backend}-run.ckpt.${process.ppid}.1700000000000.tmp`);
    writeFileSync(stale, 'half a checkpoint');
    writeFileSync(live, 'being written');
    writeFileAtomic(target, new Uint8Array([1, 2, 3]));
    assert.not.ok(existsSync(stale), "the killed writer's file is gone");
    assert.ok(existsSync(live), "the running writer's file stays");
    assert.equal([...readFileSync(target)], [1, 2, 3]);
    rmSync(live);
  });

  test('a training checkpoint resumes to bit-identical results (model, optimizer, schedule, RNG)', () => {
    const data = Array.from({ length: 6 }, (_, s) =>
      tensor(
        Array.from({ length: 4 * 36 }, (_, i) => Math.sin(i * (s + 1))),
        [4, 1, 6, 6],
      ),
    );
    const labels = Int32Array.from([0, 1, 2, 1]);
    const setup = () => {
      manualSeed(7);
      const model = net();
      const opt = new optim.SGD(model.parameters(), { lr: 0.05, momentum: 0.9, weightDecay: 1e-3 });
      const sched = new optim.lrScheduler.OneCycleLR(opt, { maxLr: 0.1, totalSteps: 6 });
      return { model, opt, sched };
    };
    const step = (s: ReturnType<typeof setup>, t: number) => {
      s.opt.zeroGrad();
      const drop = nn.functional.dropout(s.model.forward(data[t]), 0.2, true); // uses the RNG
      nn.functional.crossEntropy(drop, labels).backward();
      s.opt.step();
      s.sched.step();
    };
    const straight = setup();
    for (let t = 0; t < 6; t++) step(straight, t);

    const first = setup();
    for (let t = 0; t < 3; t++) step(first, t);
    const ckpt = io.saveCheckpoint({
      model: first.model,
      optimizer: first.opt,
      scheduler: first.sched,
      extra: { step: 3 },
    });
    writeFileSync(join(dir, 'ckpt.safetensors'), ckpt);
    defaultGenerator.manualSeed(999); // disturb the RNG: the checkpoint must restore it
    const resumed = setup();
    const extra = io.loadCheckpoint({ model: resumed.model, optimizer: resumed.opt, scheduler: resumed.sched }, ckpt);
    assert.equal(extra, { step: 3 });
    for (let t = 3; t < 6; t++) step(resumed, t);
    for (const [k, v] of Object.entries(straight.model.stateDict()))
      assert.equal(Array.from(resumed.model.stateDict()[k].data), Array.from(v.data), k);
    assert.is(resumed.opt.paramGroups[0].lr, straight.opt.paramGroups[0].lr);
    assert.throws(
      () => io.loadCheckpoint({ model: net(), optimizer: resumed.opt }, io.save(net())),
      /not a netdeconv training checkpoint/,
    );
  });
});
