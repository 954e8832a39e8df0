// The training loops side by side (npm run bench -- --loops, or tsx bench/loops.ts): the plain PyTorch-style loop a
// user writes, against fit(), on the same model, data and optimizer, alternating so both see the same machine noise.
// Prints images/s of each, their ratio, and the heap's spills and size after each plain-loop run.
import './relaxed.js';
import { getBackend, setBackend, setNumThreads } from '../src/backend/index.js';
import type { WasmBackend } from '../src/backend/wasm/index.js';
import { activeBackend } from '../src/backend/registry.js';
import { fit, manualSeed, nn, optim } from '../src/index.js';
import { loadEmbeddedMnist } from '../src/node/data.js';

const quick = process.argv.includes('--quick');
const { train, test } = loadEmbeddedMnist().split(2000, 0);
const small = test.subset(Array.from({ length: 64 }, (_, i) => i));
const cfg = {
  epochs: 1,
  batchSize: 64,
  lr: 0.05,
  optimizer: 'sgd',
  schedule: 'none',
  momentum: 0.9,
  weightDecay: 5e-4,
  seed: 0,
} as const;

function plain(cnn: nn.Module): number {
  const model = nn.utils.fuse(cnn);
  const opt = new optim.SGD(model.parameters(), { lr: cfg.lr, momentum: cfg.momentum, weightDecay: cfg.weightDecay });
  const t0 = performance.now();
  let n = 0;
  for (const { x, y } of train.batches(cfg.batchSize, { shuffle: true, seed: 0, dropLast: true })) {
    opt.zeroGrad();
    const loss = nn.functional.crossEntropy(model.forward(x), y);
    loss.backward();
    opt.step();
    n += x.shape[0];
  }
  return n / ((performance.now() - t0) / 1000);
}

function viaFit(model: nn.Module): number {
  return fit(model, train, small, cfg).imagesPerSecond;
}

const median = (v: number[]) => [...v].sort((a, b) => a - b)[v.length >> 1];
await setBackend('wasm');
const models: [string, () => nn.Module][] = [
  ['MNIST CNN BN', () => nn.mnistCnn()],
  ['MNIST CNN deconv', () => nn.mnistCnn({ deconv: true })],
  ['ResNet-18/4 BN', () => nn.resnet18({ widthMultiplier: 0.25, inChannels: 1 })],
];
console.log('| model | threads | plain loop img/s | fit() img/s | plain / fit | spills (plain) | heap MB |');
console.log('|---|---|---|---|---|---|---|');
for (const [label, make] of models) {
  for (const threads of [1, 2]) {
    await setNumThreads(threads);
    const p: number[] = [];
    const f: number[] = [];
    const rounds = quick ? 2 : 5;
    let spills = 0;
    for (let r = 0; r < rounds + 1; r++) {
      manualSeed(0);
      const s0 = (activeBackend() as WasmBackend).heapStats().spills;
      const pr = plain(make());
      spills = (activeBackend() as WasmBackend).heapStats().spills - s0;
      manualSeed(0);
      const fr = viaFit(make());
      if (r > 0) {
        p.push(pr);
        f.push(fr);
      }
    }
    const st = (activeBackend() as WasmBackend).heapStats();
    console.log(
      `| ${label} | ${threads} | ${median(p).toFixed(0)} | ${median(f).toFixed(0)} | ${(median(p.map((v, i) => v / f[i]))).toFixed(3)} | ${spills} | ${(st.topBytes / 2 ** 20).toFixed(0)} |`,
    );
  }
}
console.log(getBackend());
await setNumThreads(1);
