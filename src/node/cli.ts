// The netdeconv command line: `netdeconv train` trains a CNN on the embedded MNIST digits and prints a results
// table; `netdeconv lr-find` prints a learning-rate sweep.
import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { crossEntropy } from '../autograd/ops/losses.js';
import { getBackend, getNumThreads, setBackend, setNumThreads } from '../backend/index.js';
import type { ImageDataset } from '../data/dataset.js';
import { mnistCnn } from '../nn/models/mnist_cnn.js';
import type { Module } from '../nn/module.js';
import { compareBnDeconv, summarize } from '../train/compare.js';
import { compareReportHtml } from '../train/report.js';
import { lrFinder } from '../optim/lr_finder.js';
import { manualSeed } from '../random.js';
import {
  DEFAULT_TRAIN_CONFIG,
  fit,
  makeOptimizer,
  type OptimizerName,
  type ScheduleName,
  type TrainConfig,
} from '../train/trainer.js';
import { loadEmbeddedMnist } from './data.js';
import { ProgressBar } from './progress.js';
import { enableRelaxedSimd } from './relaxed_simd.js';

const HELP = `netdeconv — train CNNs on the CPU in JavaScript

usage:
  netdeconv compare [options]   train the BatchNorm CNN and its deconvolution twin from the same seeds on the
                                embedded MNIST digits; print a table and write an HTML report (npm start)
  netdeconv train   [options]   train one CNN on the embedded MNIST digits, then print a results table
  netdeconv lr-find [options]   sweep the learning rate and print the loss curve and a suggestion

options:
  --model NAME        mnist-cnn (default)
  --epochs N          training epochs (default ${DEFAULT_TRAIN_CONFIG.epochs})
  --batch-size N      mini-batch size (default ${DEFAULT_TRAIN_CONFIG.batchSize})
  --lr X              peak learning rate for onecycle, start rate otherwise (default ${DEFAULT_TRAIN_CONFIG.lr})
  --optimizer NAME    sgd | adam | adamw (default ${DEFAULT_TRAIN_CONFIG.optimizer})
  --schedule NAME     onecycle | cosine | step | none (default ${DEFAULT_TRAIN_CONFIG.schedule})
  --momentum X        SGD momentum (default ${DEFAULT_TRAIN_CONFIG.momentum})
  --weight-decay X    weight decay (default ${DEFAULT_TRAIN_CONFIG.weightDecay})
  --seed N            seeds initialisation, split and batch order (default 0)
  --backend NAME      wasm | js (default wasm; js is the readable reference)
  --threads N         wasm threads (default: every core)
  --test-size N       images held out for testing (default 2000 of 10000)
  --limit N           use only the first N training images (quick runs)
  --deconv            train: use the deconvolution twin (FastDeconv2d/Delinear instead of Conv2d+BN/Linear)
  --seeds N           compare: number of seeds (default 3; epochs default to 1)
  --json FILE         compare: write {"runs":[{model, seed, testAccuracy, seconds, lossCurve, …}]}
  --report FILE       compare: the HTML report (default netdeconv-report.html; 'none' to skip)
  -h, --help          this text
`;

const MODELS: Record<string, (deconv: boolean) => Module> = { 'mnist-cnn': (deconv) => mnistCnn({ deconv }) };

function num(name: string, v: string | undefined, fallback: number, integer = false): number {
  if (v === undefined) return fallback;
  const x = Number(v);
  if (!Number.isFinite(x) || (integer && !Number.isInteger(x)))
    throw new Error(`--${name}: expected ${integer ? 'an integer' : 'a number'}, got '${v}'`);
  return x;
}

function oneOf<T extends string>(name: string, v: string | undefined, allowed: readonly T[], fallback: T): T {
  if (v === undefined) return fallback;
  if (!allowed.includes(v as T)) throw new Error(`--${name}: '${v}' is not one of ${allowed.join(', ')}`);
  return v as T;
}

function table(rows: [string, string][]): string {
  const w = Math.max(...rows.map(([k]) => k.length));
  const v = Math.max(...rows.map(([, x]) => x.length));
  const line = `+${'-'.repeat(w + 2)}+${'-'.repeat(v + 2)}+`;
  return [line, ...rows.map(([k, x]) => `| ${k.padEnd(w)} | ${x.padStart(v)} |`), line].join('\n');
}

async function main(argv: string[]): Promise<void> {
  const { positionals, values } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      model: { type: 'string' },
      epochs: { type: 'string' },
      'batch-size': { type: 'string' },
      lr: { type: 'string' },
      optimizer: { type: 'string' },
      schedule: { type: 'string' },
      momentum: { type: 'string' },
      'weight-decay': { type: 'string' },
      seed: { type: 'string' },
      backend: { type: 'string' },
      threads: { type: 'string' },
      'test-size': { type: 'string' },
      limit: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
      deconv: { type: 'boolean' },
      seeds: { type: 'string' },
      json: { type: 'string' },
      report: { type: 'string' },
    },
  });
  const command = positionals[0] ?? 'train';
  if (values.help || command === 'help') {
    process.stdout.write(HELP);
    return;
  }
  if (!['train', 'lr-find', 'compare'].includes(command))
    throw new Error(`unknown command '${command}' (compare, train, lr-find; see --help)`);
  const d = DEFAULT_TRAIN_CONFIG;
  const cfg: TrainConfig = {
    epochs: num('epochs', values.epochs, command === 'compare' ? 1 : d.epochs, true),
    batchSize: num('batch-size', values['batch-size'], d.batchSize, true),
    lr: num('lr', values.lr, d.lr),
    optimizer: oneOf<OptimizerName>('optimizer', values.optimizer, ['sgd', 'adam', 'adamw'], d.optimizer),
    schedule: oneOf<ScheduleName>('schedule', values.schedule, ['onecycle', 'cosine', 'step', 'none'], d.schedule),
    momentum: num('momentum', values.momentum, d.momentum),
    weightDecay: num('weight-decay', values['weight-decay'], d.weightDecay),
    seed: num('seed', values.seed, d.seed, true),
  };
  const modelName = oneOf('model', values.model, Object.keys(MODELS), 'mnist-cnn');
  await setBackend(values.backend ?? 'wasm');
  if (values.threads !== undefined) await setNumThreads(num('threads', values.threads, 1, true));
  manualSeed(cfg.seed);

  const { train: rawTrain, test: rawTest } = loadEmbeddedMnist().split(
    num('test-size', values['test-size'], 2000, true),
    cfg.seed,
  );
  const limit = num('limit', values.limit, rawTrain.length, true);
  const trainSet =
    limit < rawTrain.length ? rawTrain.subset(Int32Array.from({ length: limit }, (_, i) => i)) : rawTrain;
  const { mean, std } = trainSet.channelStats();
  const train = trainSet.normalize(mean, std);
  const test = rawTest.normalize(mean, std);
  if (command === 'compare') return compare(modelName, train, test, cfg, values);
  const model = MODELS[modelName](values.deconv ?? false);
  const nParams = model.parameters().reduce((s, p) => s + p.size, 0);
  console.log(
    `netdeconv ${command}: ${modelName}${values.deconv ? ' (deconvolution)' : ''} (${nParams} parameters) on ${train.length} embedded MNIST digits, ${test.length} held out; backend ${getBackend()}`,
  );

  if (command === 'lr-find') return lrFind(model, train, cfg);

  const steps = train.numBatches(cfg.batchSize, true);
  let bar = new ProgressBar(steps, 'epoch 1 ');
  const result = fit(model, train, test, cfg, {
    onStep: (s) => {
      bar.update(s.step + 1, s.epochSeconds, {
        loss: s.loss.toFixed(4),
        'img/s': (s.imagesSeen / s.seconds).toFixed(0),
      });
    },
    onEpoch: (epoch, r) => {
      bar.done();
      console.log(`  epoch ${epoch + 1}: test loss ${r.loss.toFixed(4)}, test accuracy ${r.accuracy.toFixed(4)}`);
      bar = new ProgressBar(steps, `epoch ${epoch + 2} `);
    },
  });
  console.log(
    table([
      ['model', modelName],
      ['backend', getBackend()],
      ['threads', String(getBackend() === 'wasm' ? getNumThreads() : 1)],
      ['optimizer / schedule', `${cfg.optimizer} / ${cfg.schedule}`],
      ['epochs x batch', `${cfg.epochs} x ${cfg.batchSize}`],
      ['final train loss', result.finalTrainLoss.toFixed(4)],
      ['test loss', result.test.loss.toFixed(4)],
      ['test accuracy', result.test.accuracy.toFixed(4)],
      ['seconds', result.seconds.toFixed(1)],
      ['images/s', result.imagesPerSecond.toFixed(0)],
    ]),
  );
}

function compare(
  modelName: string,
  train: ImageDataset,
  test: ImageDataset,
  cfg: TrainConfig,
  values: { seeds?: string; json?: string; report?: string },
): void {
  const nSeeds = num('seeds', values.seeds, 3, true);
  if (nSeeds < 1) throw new Error(`--seeds: need at least 1, got ${nSeeds}`);
  const seeds = Array.from({ length: nSeeds }, (_, i) => cfg.seed + i);
  console.log(
    `netdeconv compare: ${modelName} with BatchNorm vs its deconvolution twin, ${seeds.length} seed(s), ${cfg.epochs} epoch(s) each, on ${train.length} embedded MNIST digits (${test.length} held out); backend ${getBackend()}${getBackend() === 'wasm' ? `, ${getNumThreads()} thread(s)` : ''}`,
  );
  const steps = cfg.epochs * train.numBatches(cfg.batchSize, true);
  let bar = new ProgressBar(steps);
  const runs = compareBnDeconv({
    makeModel: (v) => MODELS[modelName](v === 'deconv'),
    train,
    test,
    cfg,
    seeds,
    onStart: (v, seed) => {
      bar = new ProgressBar(steps, `${v.padEnd(6)} seed ${seed} `);
    },
    onStep: (_v, _seed, s) =>
      bar.update(s.epoch * s.stepsPerEpoch + s.step + 1, s.seconds, {
        loss: s.loss.toFixed(4),
        'img/s': (s.imagesSeen / s.seconds).toFixed(0),
      }),
    onRun: (r) => {
      bar.done();
      console.log(
        `  ${r.model.padEnd(6)} seed ${r.seed}: test accuracy ${r.testAccuracy.toFixed(4)}, final loss ${r.finalLoss.toFixed(4)}, ${r.seconds.toFixed(1)} s`,
      );
    },
  });
  const summary = summarize(runs);
  const header = ['model', 'test accuracy (mean ± std)', 'final train loss', 'images/s'];
  const body = summary.map((s) => [
    s.model,
    `${s.accuracyMean.toFixed(4)} ± ${s.accuracyStd.toFixed(4)}`,
    s.finalLoss.toFixed(4),
    s.imagesPerSecond.toFixed(0),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((r) => r[i].length)));
  const line = `+${widths.map((w) => '-'.repeat(w + 2)).join('+')}+`;
  const row = (cells: string[]) =>
    `| ${cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join(' | ')} |`;
  console.log([line, row(header), line, ...body.map(row), line].join('\n'));
  const [bn, de] = summary;
  if (bn && de)
    console.log(
      `deconvolution step cost: ${(bn.imagesPerSecond / de.imagesPerSecond).toFixed(2)}x the BatchNorm model's time per image`,
    );
  if (values.json) {
    writeFileSync(values.json, JSON.stringify({ runs }, null, 1));
    console.log(`wrote ${values.json}`);
  }
  const reportFile = values.report ?? 'netdeconv-report.html';
  if (reportFile !== 'none') {
    const meta = {
      data: `embedded MNIST, ${train.length} train / ${test.length} test`,
      model: modelName,
      backend: getBackend(),
      recipe: `${cfg.optimizer}, ${cfg.schedule}, lr ${cfg.lr}, momentum ${cfg.momentum}, weight decay ${cfg.weightDecay}, batch ${cfg.batchSize}, ${cfg.epochs} epoch(s)`,
      seeds: seeds.join(', '),
      date: new Date().toISOString(),
    };
    writeFileSync(reportFile, compareReportHtml(runs, summary, meta));
    console.log(`wrote ${reportFile}`);
  }
}

function lrFind(model: Module, train: ImageDataset, cfg: TrainConfig): void {
  const opt = makeOptimizer(model, cfg);
  const batches = [...train.batches(cfg.batchSize, { shuffle: true, seed: cfg.seed, dropLast: true })];
  const r = lrFinder(
    model,
    opt,
    (i) => {
      const { x, y } = batches[i % batches.length];
      return crossEntropy(model.forward(x), y);
    },
    { startLr: 1e-5, endLr: 10, numIter: 80 },
  );
  const lo = Math.min(...r.smoothed);
  const hi = Math.max(...r.smoothed.slice(0, Math.max(1, r.smoothed.length - 1)));
  console.log('        lr   smoothed loss');
  r.lrs.forEach((lr, i) => {
    if (i % 4 !== 0 && i !== r.lrs.length - 1) return;
    const bar = '#'.repeat(Math.min(40, Math.max(0, Math.round(((r.smoothed[i] - lo) / (hi - lo || 1)) * 40))));
    console.log(`${lr.toExponential(2).padStart(10)}   ${r.smoothed[i].toFixed(4)}  ${bar}`);
  });
  console.log(
    `suggested lr (steepest descent): ${r.suggestion.toExponential(2)}; minimum-loss lr: ${r.minLossLr.toExponential(2)}${r.diverged ? '; the loss diverged and the sweep stopped early' : ''}`,
  );
}

enableRelaxedSimd(); // before the first setBackend compiles the kernels
main(process.argv.slice(2)).catch((e: unknown) => {
  console.error(`netdeconv: ${e instanceof Error ? e.message : String(e)}`);
  process.exit(1);
});
