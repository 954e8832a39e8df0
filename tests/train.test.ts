// End to end: a CNN learns the embedded digits on every backend, and the CLI prints its results table.
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import * as assert from 'uvu/assert';
import { activeBackend } from '../src/backend/index.js';
import type { WasmBackend } from '../src/backend/wasm/index.js';
import { evaluate, fit, manualSeed, nn, optim } from '../src/index.js';
import { loadEmbeddedMnist } from '../src/node/data.js';
import { forEachBackend } from './helpers.js';

const { train, test: held } = loadEmbeddedMnist().split(500, 0);
const { mean, std } = train.channelStats();
const small = train.subset(Int32Array.from({ length: 1536 }, (_, i) => i)).normalize(mean, std);
const testSet = held.normalize(mean, std);

forEachBackend('training', (test, backend) => {
  test('a small CNN learns MNIST digits well above chance in one short epoch', () => {
    manualSeed(0);
    const model = nn.mnistCnn();
    const before = evaluate(model, testSet);
    const r = fit(model, small, testSet, {
      epochs: 1,
      batchSize: 32,
      lr: 0.05,
      optimizer: 'sgd',
      schedule: 'onecycle',
      momentum: 0.9,
      weightDecay: 5e-4,
      seed: 0,
    });
    const first = r.lossCurve.slice(0, 5).reduce((a, b) => a + b) / 5;
    assert.ok(r.finalTrainLoss < first / 2, `${backend}: loss ${first} → ${r.finalTrainLoss}`);
    assert.ok(r.test.accuracy > 0.8, `${backend}: accuracy ${r.test.accuracy} (before training ${before.accuracy})`);
  });
});

forEachBackend('memory', (test, backend) => {
  /** 600 SGD steps of the deconvolution CNN; `yieldEvery` > 0 awaits a macrotask every that many steps. */
  async function run(yieldEvery: number): Promise<{ wasmBytes: number[]; jsBuffers: number[] }> {
    manualSeed(1);
    const model = nn.mnistCnn({ deconv: true });
    const opt = new optim.SGD(model.parameters(), { lr: 0.01, momentum: 0.9 });
    const batches = [...small.batches(8, { shuffle: true, seed: 1 })].slice(0, 8);
    const wasmBytes: number[] = [];
    const jsBuffers: number[] = [];
    for (let step = 0; step < 600; step++) {
      const { x, y } = batches[step % batches.length];
      opt.zeroGrad();
      nn.functional.crossEntropy(model.forward(x), y).backward();
      opt.step();
      if (yieldEvery && step % yieldEvery === 0) await new Promise((r) => setTimeout(r, 0));
      if (step % 50 === 49) {
        wasmBytes.push(activeBackend().wasmMemoryBytes());
        jsBuffers.push(process.memoryUsage().arrayBuffers);
      }
    }
    return { wasmBytes, jsBuffers };
  }

  for (const [kind, yieldEvery] of [
    ['a synchronous loop', 0],
    ['an async loop', 5],
  ] as const) {
    test(`memory stays flat over 600 training steps in ${kind}, with no dispose anywhere`, async () => {
      const { wasmBytes, jsBuffers } = await run(yieldEvery);
      // The wasm memory grows to the heap's working size within the first spill cycle and never again.
      const late = wasmBytes.slice(wasmBytes.length / 2);
      assert.ok(
        late.every((b) => b === late[0]),
        `${backend}: wasm memory ${wasmBytes.join(', ')}`,
      );
      // The heap's top stays within twice the spill budget in force (earlier tests' training steps may have raised
      // it from 128 MiB), and the memory grows by an eighth of itself at a time: 64 MiB at the default budget.
      const budget = (activeBackend() as Partial<WasmBackend>).heapStats?.().budgetBytes ?? 0;
      assert.ok(
        late[0] <= 2 * budget + Math.max(64 * 2 ** 20, budget / 4),
        `${backend}: wasm memory ${late[0]} within twice the budget of ${budget}`,
      );
      // JS array buffers (spilled storages, reference-backend tensors) are garbage-collected: bounded. A leak of
      // every step's tensors would add megabytes per step; the minimum of the last samples ignores a late GC.
      const settled = Math.min(...jsBuffers.slice(-3));
      assert.ok(
        settled < jsBuffers[0] * 3 + 64e6,
        `${backend}: array buffers ${jsBuffers.map((b) => (b / 1e6).toFixed(1)).join(', ')} MB`,
      );
    });
  }
});

forEachBackend('cli', (test, backend) => {
  test('netdeconv train prints a results table with the test accuracy', () => {
    assert.ok(existsSync('dist/cli.js'), 'dist/cli.js is built (npm run build)');
    const out = execFileSync(
      process.execPath,
      ['dist/cli.js', 'train', '--limit', '640', '--epochs', '1', '--test-size', '300', '--backend', backend],
      { encoding: 'utf8' },
    );
    const acc = Number(out.match(/\| test accuracy\s+\|\s+([0-9.]+) \|/)?.[1]);
    assert.ok(acc > 0.5, `accuracy ${acc} in:\n${out}`);
    assert.match(out, new RegExp(`\\| backend\\s+\\|\\s+${backend} \\|`));
  });

  test('bad CLI arguments give a clear error and exit code 1', () => {
    try {
      execFileSync(process.execPath, ['dist/cli.js', 'train', '--optimizer', 'lion'], {
        encoding: 'utf8',
        stdio: 'pipe',
      });
      assert.unreachable();
    } catch (e) {
      const err = e as { status: number; stderr: string };
      assert.is(err.status, 1);
      assert.match(err.stderr, /--optimizer: 'lion' is not one of sgd, adam, adamw/);
    }
  });
});
