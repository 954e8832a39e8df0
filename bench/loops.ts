// The training loops side by side (npm run bench -- --loops, or tsx bench/loops.ts): the plain PyTorch-style loop a
// user writes, against fit(), on the same model, data and optimizer, alternating so both see the same machine noise.
// Prints images/s of each, their ratio, and the heap's spills and size after each plain-loop run; then the same for
// evaluation: the plain loop under noGrad() against evaluate(). Between runs the garbage collector frees what the run
// before left (its model, its last two steps): run with --expose-gc (node --expose-gc --import tsx bench/loops.ts),
// or those leftovers make the next run spill.
import { setBackend, setNumThreads } from '../src/backend/index.js';
import type { WasmBackend } from '../src/backend/wasm/index.js';
import { activeBackend } from '../src/backend/registry.js';
import { evaluate, fit, manualSeed, nn, noGrad, optim } from '../src/index.js';
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

function plain(cnn: nn.Module, data: typeof train): number {
  const model = nn.utils.fuse(cnn);
  const opt = new optim.SGD(model.parameters(), { lr: cfg.lr, momentum: cfg.momentum, weightDecay: cfg.weightDecay });
  const t0 = performance.now();
  let n = 0;
  for (const { x, y } of data.batches(cfg.batchSize, { shuffle: true, seed: 0, dropLast: true })) {
    opt.zeroGrad();
    const loss = nn.functional.crossEntropy(model.forward(x), y);
    loss.backward();
    opt.step();
    n += x.shape[0];
  }
  return n / ((performance.now() - t0) / 1000);
}

function viaFit(model: nn.Module, data: typeof train): number {
  return fit(model, data, small, cfg).imagesPerSecond;
}

/** The evaluation loop a user writes (eval mode, noGrad, forward, predictions read out): images/s and accuracy. */
function plainEval(model: nn.Module, data: typeof test): [number, number] {
  model.eval();
  const t0 = performance.now();
  let correct = 0;
  noGrad(() => {
    for (const { x, y } of data.batches(256)) {
      const predicted = model.forward(x).argmax(1).data;
      for (let i = 0; i < y.length; i++) if (predicted[i] === y[i]) correct++;
    }
  });
  return [data.length / ((performance.now() - t0) / 1000), correct / data.length];
}

/** evaluate() on the same data (batches of 256, its loss as well): images/s and accuracy. */
function viaEvaluate(model: nn.Module, data: typeof test): [number, number] {
  const t0 = performance.now();
  const { accuracy } = evaluate(model, data);
  return [data.length / ((performance.now() - t0) / 1000), accuracy];
}

/** `--memory`: 10,000 plain-loop steps of the BatchNorm CNN, the heap and the process every 1,000. */
async function memorySeries(): Promise<void> {
  await setBackend('wasm');
  manualSeed(0);
  const model = nn.utils.fuse(nn.mnistCnn());
  const opt = new optim.SGD(model.parameters(), { lr: 0.05, momentum: 0.9, weightDecay: 5e-4 });
  const wasm = activeBackend() as WasmBackend;
  console.log('| steps | wasm memory MB | heap in use MB | spills | freed by steps | RSS MB |');
  console.log('|---|---|---|---|---|---|');
  let step = 0;
  while (step < 10_000) {
    for (const { x, y } of train.batches(64, { shuffle: true, seed: step, dropLast: true })) {
      opt.zeroGrad();
      nn.functional.crossEntropy(model.forward(x), y).backward();
      opt.step();
      if (++step % 1000 === 0) {
        const h = wasm.heapStats();
        const mb = (b: number) => (b / 2 ** 20).toFixed(1);
        console.log(
          `| ${step} | ${mb(wasm.wasmMemoryBytes())} | ${mb(h.usedBytes)} | ${h.spills} | ${h.freedByStep} | ${mb(process.memoryUsage().rss)} |`,
        );
      }
      if (step === 10_000) break;
    }
  }
}

/** A full collection, then a yield: the finalizers free the blocks of what the last run left. */
async function settle(): Promise<void> {
  (globalThis as { gc?: () => void }).gc?.();
  await new Promise((resolve) => setTimeout(resolve, 50));
}

const median = (v: number[]) => [...v].sort((a, b) => a - b)[v.length >> 1];
if (process.argv.includes('--memory')) {
  await memorySeries();
  process.exit(0);
}
await setBackend('wasm');
// The ResNet trains on 1,024 of the digits, so that a round takes seconds rather than a minute.
const few = train.subset(Array.from({ length: 1024 }, (_, i) => i));
const models: [string, () => nn.Module, typeof train][] = [
  ['MNIST CNN BN', () => nn.mnistCnn(), train],
  ['MNIST CNN deconv', () => nn.mnistCnn({ deconv: true }), train],
  ['ResNet-18/4 BN', () => nn.resnet18({ widthMultiplier: 0.25, inChannels: 1 }), few],
];
/** A row's two loops: each returns images/s, and builds (or reuses) its model as the row needs. */
interface Pair {
  plain: () => number;
  library: () => number;
}

/**
 * One table: for each model and thread count, the plain loop and the library's in turn, each after a collection,
 * over rounds (the first a warm-up); the medians, the median of the rounds' ratios, the plain loop's spills and the
 * heap's extent. `columns` names the two loops and their ratio; `pair` makes a round's loops.
 */
async function table(
  columns: [string, string, string],
  pair: (label: string, make: () => nn.Module, data: typeof train) => Pair,
): Promise<void> {
  const [plainName, libraryName, ratioName] = columns;
  console.log(
    `| model | threads | ${plainName} img/s | ${libraryName} img/s | ${ratioName} | spills (plain) | heap MB |`,
  );
  console.log('|---|---|---|---|---|---|---|');
  for (const [label, make, data] of models) {
    for (const threads of [1, 2]) {
      await setNumThreads(threads);
      const p: number[] = [];
      const l: number[] = [];
      let spills = 0;
      for (let r = 0; r < (quick ? 2 : 5) + 1; r++) {
        const { plain, library } = pair(label, make, data);
        await settle();
        const s0 = (activeBackend() as WasmBackend).heapStats().spills;
        const pr = plain();
        spills = (activeBackend() as WasmBackend).heapStats().spills - s0;
        await settle();
        const lr = library();
        if (r > 0) {
          p.push(pr);
          l.push(lr);
        }
      }
      const st = (activeBackend() as WasmBackend).heapStats();
      console.log(
        `| ${label} | ${threads} | ${median(p).toFixed(0)} | ${median(l).toFixed(0)} | ${median(p.map((v, i) => v / l[i])).toFixed(3)} | ${spills} | ${(st.topBytes / 2 ** 20).toFixed(0)} |`,
      );
    }
  }
}

// Training: each loop trains a model of its own, made from the same seed.
await table(['plain loop', 'fit()', 'plain / fit'], (_, make, data) => ({
  plain: () => {
    manualSeed(0);
    return plain(make(), data);
  },
  library: () => {
    manualSeed(0);
    return viaFit(make(), data);
  },
}));
// Evaluation: both loops evaluate one model, and must find the same accuracy.
console.log();
await table(['plain noGrad() loop', 'evaluate()', 'plain / evaluate'], (label, make) => {
  manualSeed(0);
  const model = nn.utils.fuse(make());
  let plainAccuracy = Number.NaN;
  return {
    plain: () => {
      const [rate, accuracy] = plainEval(model, test);
      plainAccuracy = accuracy;
      return rate;
    },
    library: () => {
      const [rate, accuracy] = viaEvaluate(model, test);
      if (accuracy !== plainAccuracy)
        throw new Error(`${label}: the plain loop's accuracy ${plainAccuracy} differs from evaluate()'s ${accuracy}`);
      return rate;
    },
  };
});
await setNumThreads(1);
