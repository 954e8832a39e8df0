// The training worker: loads the digits, builds the BatchNorm CNN and/or its deconvolution twin, and trains them
// step by step (interleaved, from the same seed), posting losses, accuracies and predictions to the page. It yields
// between steps so a 'stop' message is seen at once, and the page never blocks.
import {
  data,
  evaluate,
  getBackend,
  getNumThreads,
  manualSeed,
  nn,
  noGrad,
  optim,
  type Tensor,
} from '../../src/index.js';
import type { FromWorker, ToWorker, Variant } from './protocol.js';

const post = (m: FromWorker) => (self as unknown as Worker).postMessage(m);
let stopRequested = false;
let busy = false;

/** digits.bin: u32 count, count label bytes, then count·784 pixel bytes (0–255). */
async function loadDigits(): Promise<data.ImageDataset> {
  const buf = new Uint8Array(await (await fetch('digits.bin')).arrayBuffer());
  const count = new DataView(buf.buffer).getUint32(0, true);
  const labels = Int32Array.from(buf.subarray(4, 4 + count));
  const pixels = Float32Array.from(buf.subarray(4 + count, 4 + count + count * 784), (v) => v / 255);
  return new data.ImageDataset(pixels, labels, [1, 28, 28], 10);
}

const all = await loadDigits();
const split = all.split(Math.floor(all.length / 5), 0);
const { mean, std } = split.train.channelStats();
const train = split.train.normalize(mean, std);
const test = split.test.normalize(mean, std);
const gridBatch = test.subset(Int32Array.from({ length: 16 }, (_, i) => i));
const gridPixels = Uint8Array.from(split.test.images.subarray(0, 16 * 784), (v) => Math.round(v * 255));
post({ type: 'ready', backend: getBackend(), threads: getNumThreads(), train: train.length, test: test.length });

const tick = () => new Promise((resolve) => setTimeout(resolve, 0));

function predictions(variant: Variant, model: nn.Module): void {
  const { x, y } = gridBatch.batches(16).next().value!;
  const predicted = noGrad(() =>
    model
      .eval()
      .forward(x as Tensor)
      .argmax(1)
      .toArray(),
  );
  model.train();
  post({ type: 'predictions', variant, pixels: gridPixels, labels: [...y], predicted });
}

async function train_(variants: Variant[], lr: number, epochs: number, batchSize: number): Promise<void> {
  const runs = variants.map((variant) => {
    manualSeed(0); // both start from the same draws
    const model = nn.mnistCnn({ deconv: variant === 'deconv' });
    const opt = new optim.SGD(model.parameters(), { lr, momentum: 0.9, weightDecay: 5e-4 });
    const total = epochs * train.numBatches(batchSize, true);
    const sched = new optim.lrScheduler.OneCycleLR(opt, { maxLr: lr, totalSteps: total });
    return { variant, model, opt, sched, seen: 0, seconds: 0 };
  });
  let step = 0;
  for (let epoch = 0; epoch < epochs; epoch++) {
    // Batches as they come: each one's memory is freed with the step after the one that used it.
    for (const { x, y } of train.batches(batchSize, { shuffle: true, seed: epoch, dropLast: true })) {
      for (const r of runs) {
        const t0 = performance.now();
        r.opt.zeroGrad();
        const loss = nn.functional.crossEntropy(r.model.forward(x), y);
        loss.backward();
        r.opt.step();
        r.sched.step();
        r.seconds += (performance.now() - t0) / 1000;
        r.seen += y.length;
        post({ type: 'step', variant: r.variant, step, loss: loss.item(), imagesPerSecond: r.seen / r.seconds });
      }
      step++;
      if (step % 10 === 0) {
        for (const r of runs) {
          post({ type: 'eval', variant: r.variant, step, accuracy: evaluate(r.model, test).accuracy });
          predictions(r.variant, r.model);
        }
      }
      await tick();
      if (stopRequested) return post({ type: 'done', reason: 'stopped' });
    }
  }
  for (const r of runs) {
    post({ type: 'eval', variant: r.variant, step, accuracy: evaluate(r.model, test).accuracy });
    predictions(r.variant, r.model);
  }
  post({ type: 'done', reason: 'finished' });
}

function lrFind(variant: Variant): void {
  manualSeed(0);
  const model = nn.mnistCnn({ deconv: variant === 'deconv' });
  const opt = new optim.SGD(model.parameters(), { lr: 1e-3, momentum: 0.9 });
  const batches = [...train.batches(32, { shuffle: true, seed: 1, dropLast: true })];
  const r = optim.lrFinder(
    model,
    opt,
    (i) => {
      const { x, y } = batches[i % batches.length];
      return nn.functional.crossEntropy(model.forward(x), y);
    },
    { startLr: 1e-4, endLr: 10, numIter: 60, beta: 0.9 },
  );
  post({ type: 'lrfind', variant, lrs: r.lrs, smoothed: r.smoothed, suggestion: r.suggestion });
}

self.onmessage = async (e: MessageEvent<ToWorker>) => {
  const m = e.data;
  if (m.type === 'stop') {
    stopRequested = true;
    return;
  }
  if (busy) return;
  busy = true;
  stopRequested = false;
  try {
    if (m.type === 'start') await train_(m.variants, m.lr, m.epochs, m.batchSize);
    else if (m.type === 'lrfind') lrFind(m.variant);
  } catch (err) {
    post({ type: 'error', message: err instanceof Error ? err.message : String(err) });
  } finally {
    busy = false;
  }
};
