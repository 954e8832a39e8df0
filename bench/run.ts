// Benchmarks (npm run bench): netdeconv's wasm backend next to TensorFlow.js's wasm backend (1 thread, same
// process, runs alternating so both see the same machine noise), and next to netdeconv's reference backend.
// Speed is measured here, never in tests.
import { setBackend, setNumThreads } from '../src/backend/index.js';
import { createWasmBackend, type WasmBackend } from '../src/backend/wasm/index.js';
import { availableCores, WORKER_SPIN_MS } from '../src/backend/wasm/thread_pool.js';
import { conv2dInfo } from '../src/backend/shape_info.js';
import { crossEntropy } from '../src/autograd/ops/losses.js';
import {
  eye,
  Generator,
  linalg,
  manualSeed,
  nn,
  noGrad,
  optim,
  randn,
  scoped,
  type Tensor,
  tensor,
} from '../src/index.js';
import { loadEmbeddedMnist } from '../src/node/data.js';
import { type BurstTimer, initTfjs, startThreadedPeer, tfCase, type PeerCase } from './tfjs.js';
import { type NativeCase, type NativeStepper, nativeTorch, startNativeStepper } from './native.js';
import { profileSteps } from './profile.js';
import { activeBackend } from '../src/backend/registry.js';

const quick = process.argv.includes('--quick');
/** `--training`: only the training-step table. */
const trainingOnly = process.argv.includes('--training');
/** `--profile`: after each training row, where its step's time goes (per kernel, 1 thread). */
const profiling = process.argv.includes('--profile');

/** A callable timed in this process: milliseconds for `burst` calls in a row. */
function local(f: (() => void) | null): BurstTimer | null {
  return f
    ? (burst) => {
        const t0 = performance.now();
        for (let b = 0; b < burst; b++) f();
        return performance.now() - t0;
      }
    : null;
}

/** Waits longer than netdeconv's workers poll after their last call, so that none competes with what runs next. */
const quiet = () => new Promise((resolve) => setTimeout(resolve, WORKER_SPIN_MS + 2));

/**
 * Median seconds per call of each case (NaN: not measured), measured round-robin after a warm-up. Each sample
 * times `burst` calls in a row, as a training loop makes them: a thread pool that went to sleep while the others
 * ran pays its wake-up once per sample, not once per call. Each sample starts after a quiet gap longer than
 * netdeconv's workers poll, so no column's threads still poll from the sample before: netdeconv's worker, polling
 * after its 2-thread sample, had competed for the cores with tfjs's threaded build in the short cases.
 * The warm-up is one call per case, or samples for `warmMs` milliseconds per case where the case's memory takes
 * that long to settle (see the public-API table).
 */
async function race(timers: (BurstTimer | null)[], reps: number, burst = 3, warmMs = 0): Promise<number[]> {
  for (const t of timers) {
    if (!t) continue;
    const start = performance.now();
    await t(1);
    while (performance.now() - start < warmMs) {
      await quiet();
      await t(burst);
    }
  }
  const times: number[][] = timers.map(() => []);
  for (let i = 0; i < reps; i++) {
    for (const [j, t] of timers.entries()) {
      if (!t) continue;
      await quiet();
      times[j].push((await t(burst)) / burst);
    }
  }
  return times.map((v) => (v.length ? median(v) / 1000 : NaN));
}

/** `kernel` run in a heap scope, so its output block is reused by the next run (as in a training step). */
function inScope(b: WasmBackend, kernel: () => unknown): () => void {
  return () => {
    b.openScope!();
    kernel();
    b.closeScope!(new Set());
  };
}

/** The middle value of v (the upper one of an even count). */
const median = (v: readonly number[]) => [...v].sort((p, q) => p - q)[Math.floor(v.length / 2)];
const fmt = (v: number, digits = 1) => (Number.isFinite(v) ? v.toFixed(digits) : 'n/a');
const ratio = (x: number) => (Number.isFinite(x) ? `${x.toFixed(2)}x` : 'n/a');

await initTfjs();
await setBackend('wasm');
const cores = await availableCores();
// Two instances of the wasm backend, one thread and every core, measured in turn with the peer's two builds.
const be = await createWasmBackend(1);
const beN = await createWasmBackend(cores);
const peerN = trainingOnly ? null : await startThreadedPeer(cores);
/** A case on both peers: tfjs with 1 thread here, its threaded build in the child process. */
const peers = async (c: PeerCase) => [local(tfCase(c)), peerN?.threads ? await peerN.build(c) : null];
/** One table row; times in seconds: netdeconv 1 and N threads, tfjs 1 and N threads; `work` per run (FLOP or 1). */
function row(label: string, unit: string, times: number[], work: number, higherIsBetter = true): void {
  const [t1, tN, tPeer1, tPeerN] = times;
  const v = (t: number) => (higherIsBetter ? work / t / 1e9 : t * 1000);
  const cells = [v(t1), v(tN), v(tPeer1), v(tPeerN)].map((x) => fmt(x));
  console.log(
    `| ${label} | ${unit} | ${cells.join(' | ')} | ${ratio(tPeer1 / t1)} | ${ratio(tPeerN / tN)} | ${ratio(t1 / tN)} |`,
  );
}
const N = beN.threads();
console.log(
  `netdeconv benchmarks — ${new Date().toISOString().slice(0, 10)}, Node ${process.version}, ${cores} cores; netdeconv wasm (${be.flavour}) with 1 and ${N} threads vs @tensorflow/tfjs-backend-wasm 4.22 with 1 thread and its threaded build with ${peerN?.threads || 'no'} threads\n`,
);
if (!trainingOnly) {
  console.log(
    `| case | unit | netdeconv 1 thread | netdeconv ${N} threads | tfjs-wasm 1 thread | tfjs-wasm ${peerN?.threads} threads | netdeconv / tfjs, 1 thread | netdeconv / tfjs, ${N} threads | ${N} threads / 1 thread |`,
  );
  console.log('|---|---|---|---|---|---|---|---|---|');
}

for (const n of trainingOnly ? [] : quick ? [256] : [128, 256, 512, 1024]) {
  const a = Float32Array.from({ length: n * n }, (_, i) => Math.sin(i));
  const b = Float32Array.from({ length: n * n }, (_, i) => Math.cos(i));
  const mm = (x: typeof be) => {
    const [sa, sb] = [x.fromArray(a), x.fromArray(b)];
    return local(inScope(x, () => x.matmul(sa, sb, 1, n, n, n, false, false, 'float32')));
  };
  row(
    `matmul ${n}`,
    'GFLOP/s',
    await race([mm(be), mm(beN), ...(await peers({ op: 'matmul', n }))], n >= 512 ? 3 : 9),
    2 * n ** 3,
  );
}

for (const [batch, hw, cin, cout] of trainingOnly
  ? []
  : quick
    ? [[64, 16, 64, 64]]
    : [
        [64, 32, 3, 32],
        [64, 16, 64, 64],
        [64, 8, 128, 128],
      ]) {
  const info = conv2dInfo('bench', [batch, cin, hw, hw], [cout, cin, 3, 3], { padding: 1 });
  const flops = 2 * batch * hw * hw * cout * cin * 9;
  const x = Float32Array.from({ length: batch * cin * hw * hw }, (_, i) => Math.sin(i));
  const w = Float32Array.from({ length: cout * cin * 9 }, (_, i) => Math.cos(i));
  const dy = Float32Array.from({ length: batch * cout * hw * hw }, (_, i) => Math.sin(2 * i));
  const label = `conv ${batch}x${hw}x${hw}, ${cin}→${cout}, 3x3 pad 1`;
  const inputs = new Map([be, beN].map((b) => [b, { x: b.fromArray(x), w: b.fromArray(w), dy: b.fromArray(dy) }]));
  for (const [kind, peerKind, fn] of [
    [
      'forward',
      'forward',
      (b: typeof be) => inScope(b, () => b.conv2d(inputs.get(b)!.x, inputs.get(b)!.w, null, info, 'float32')),
    ],
    [
      'backward wrt input',
      'input',
      (b: typeof be) => inScope(b, () => b.conv2dBackwardInput(inputs.get(b)!.dy, inputs.get(b)!.w, info, 'float32')),
    ],
    [
      'backward wrt filter',
      'filter',
      (b: typeof be) => inScope(b, () => b.conv2dBackwardFilter(inputs.get(b)!.x, inputs.get(b)!.dy, info, 'float32')),
    ],
  ] as const) {
    const peer = await peers({ op: 'conv', kind: peerKind, batch, hw, cin, cout });
    row(`${label} ${kind}`, 'GFLOP/s', await race([local(fn(be)), local(fn(beN)), ...peer], 3), flops);
  }
}

for (const d of trainingOnly ? [] : [144, 576]) {
  const g = new Generator(1);
  const m = tensor(
    Array.from({ length: d * d }, () => g.normal()),
    [d, d],
  );
  const A = noGrad(() => m.T.matmul(m).div(d).add(eye(d).mul(0.1)));
  const reps = d < 300 ? 20 : 3;
  const ns = async (threads: number) => {
    await setNumThreads(threads);
    // In a scope, as a training step frees its intermediates; the first run wakes the pool.
    const run = () => scoped(() => void noGrad(() => linalg.isqrtNewtonSchulz(A, 5).data));
    run();
    const t0 = performance.now();
    for (let r = 0; r < reps; r++) run();
    return (performance.now() - t0) / reps / 1000;
  };
  const t1 = await ns(1);
  const tN = await ns(cores);
  const [tPeer1, tPeerN] = await race(await peers({ op: 'newtonSchulz', d }), 3);
  row(`Newton–Schulz inverse sqrt d=${d}, 5 iterations`, 'ms', [t1, tN, tPeer1, tPeerN], 1, false);
}

peerN?.close(); // not needed below: its idle threads stay out of the training rows

// The public API as a user calls it: tensors made with tensor(), the op, the result copied out with
// toFloat32Array(), nothing disposed by hand (the garbage collector frees what a loop drops) — against tfjs as its
// users call it (op, dataSync, dispose). One thread each; the kernels are whatever the default import loads.
// Each case first runs as a loop would for API_WARM_MS, so that the samples see the loop's steady state: the results
// a loop drops are freed only once the collector has run, so its first dozens of calls write wasm memory never
// touched before (the first touch of a page costs the OS a fault) and copy out into fresh JS memory, until the
// heap's high-water mark and the collector's pace settle.
const API_WARM_MS = 1500;
if (!trainingOnly) {
  await setBackend('wasm');
  await setNumThreads(1);
  console.log(
    `\n| public API, default import (${(activeBackend() as WasmBackend).flavour}) | unit | netdeconv 1 thread | tfjs-wasm 1 thread | netdeconv / tfjs |`,
  );
  console.log('|---|---|---|---|---|');
  const filled = (shape: number[], f: (i: number) => number) =>
    tensor(
      Float32Array.from({ length: shape.reduce((p, q) => p * q) }, (_, i) => f(i)),
      shape,
    );
  const apiRow = async (label: string, ours: () => Tensor, peer: (() => void) | null, flop: number) => {
    const [t, tPeer] = await race([local(() => void ours().toFloat32Array()), local(peer)], 9, 3, API_WARM_MS);
    console.log(`| ${label} | GFLOP/s | ${fmt(flop / t / 1e9)} | ${fmt(flop / tPeer / 1e9)} | ${ratio(tPeer / t)} |`);
  };
  for (const n of quick ? [512] : [256, 512, 1024]) {
    const [a, b] = [filled([n, n], Math.sin), filled([n, n], Math.cos)];
    await apiRow(`matmul ${n}`, () => a.matmul(b), tfCase({ op: 'matmul', n }), 2 * n ** 3);
  }
  for (const [batch, hw, cin, cout] of quick
    ? [[64, 16, 64, 64]]
    : [
        [64, 32, 3, 32],
        [64, 16, 64, 64],
        [64, 8, 128, 128],
      ]) {
    const x = filled([batch, cin, hw, hw], Math.sin);
    const w = filled([cout, cin, 3, 3], Math.cos);
    await apiRow(
      `conv ${batch}x${hw}x${hw}, ${cin}→${cout}, 3x3 pad 1 forward`,
      () => nn.functional.conv2d(x, w, null, { padding: 1 }),
      tfCase({ op: 'conv', kind: 'forward', batch, hw, cin, cout }),
      2 * batch * hw * hw * cout * cin * 9,
    );
  }
}

// Training throughput: tfjs-wasm has no conv filter-gradient kernel, so it cannot train these nets; the peers are
// netdeconv's own reference backend and, where the machine has it, native PyTorch (bench/native.ts) in child
// processes. netdeconv's two thread counts and PyTorch's take their samples in turn, round after round (same model,
// same batch). The ratio columns divide samples of the same round (taken moments apart), then take the median: on
// this VM a core's speed drifts by up to 2× over minutes, and a ratio of the columns' medians mixes samples taken in
// different states.
const torch = nativeTorch();
console.log(
  `\n| training step (forward, backward, SGD) | unit | wasm 1 thread | wasm ${cores} threads | js (reference) | PyTorch 1 thread | PyTorch ${cores} threads | wasm / PyTorch, 1 thread, paired by round | wasm / PyTorch, ${cores} threads, paired | wasm 1 thread / js | ${cores} threads / 1 thread, paired |`,
);
console.log('|---|---|---|---|---|---|---|---|---|---|---|');
/**
 * Lets the machine settle before a row: a full collection now, on this thread (`npm run bench` passes --expose-gc),
 * then a second idle, so that neither V8's background collector, busy with what the rows before left, nor the
 * threaded peer's exiting process is counted against the second thread (the first training row had run at 1.0–1.47×
 * on two threads in runs where the following rows ran at 1.4–1.9×).
 */
async function settle(): Promise<void> {
  (globalThis as { gc?: () => void }).gc?.();
  await new Promise((resolve) => setTimeout(resolve, 1000));
}

interface TrainCase {
  label: string;
  make: () => nn.Module;
  x: Tensor;
  y: Int32Array;
  /** The reference backend's column (too slow for the large rows). */
  withJs: boolean;
  /** The same row for PyTorch. */
  native: NativeCase;
  /** Seconds of warm-up and of measurement per column; steps per sample. */
  warmSeconds: number;
  measureSeconds: number;
  stepsPerSample: number;
}

/** A model and its optimizer, stepped as the README's loop steps them (nothing kept by hand). */
async function stepper(backend: string, make: () => nn.Module, x: Tensor, y: Int32Array) {
  await setBackend(backend);
  manualSeed(0);
  const model = nn.utils.fuse(make());
  const opt = new optim.SGD(model.parameters(), { lr: 0.01, momentum: 0.9 });
  return () => {
    opt.zeroGrad();
    crossEntropy(model.forward(x), y).backward();
    opt.step();
  };
}

/**
 * Measures a model's wasm and PyTorch columns; returns what measures its reference-backend column and prints the
 * row, which the caller runs once every model's wasm columns are measured: the reference backend's steps make
 * hundreds of MB of garbage, and V8's collector then runs on the second core for seconds, which would be counted
 * against the next model's second thread (2-thread samples of the deconvolution twin, right after BatchNorm's
 * reference column, ran at 0.7–1.0× the 1-thread ones for ~4 s).
 */
async function trainRow(c: TrainCase): Promise<() => Promise<void>> {
  await settle();
  // Rounds until this much time has passed: the first seconds of a model include V8 compiling its JS on the second
  // core, which would be measured as poor thread scaling.
  const [warmMs, measureMs] = quick ? [300, 600] : [1000 * c.warmSeconds, 1000 * c.measureSeconds];
  const wasmStep = await stepper('wasm', c.make, c.x, c.y);
  // Seconds per step over `steps` steps in a row.
  const timed = (f: () => void, steps: number) => {
    const t0 = performance.now();
    for (let s = 0; s < steps; s++) f();
    return (performance.now() - t0) / steps / 1000;
  };
  /** Samples of each column, taken round-robin for `measureMs` after `warmMs` (at least 3 rounds). */
  const rounds = async (columns: (() => Promise<number>)[]) => {
    const times: number[][] = columns.map(() => []);
    const start = performance.now();
    let measuring = false;
    for (let r = 0; ; r++) {
      const elapsed = performance.now() - start;
      if (!measuring && r >= 1 && elapsed >= warmMs) [measuring, r] = [true, 0];
      if (measuring && r >= 3 && elapsed >= warmMs + measureMs) break;
      for (const [j, column] of columns.entries()) {
        const t = await column();
        if (measuring) times[j].push(t);
      }
    }
    return times;
  };
  // The two thread counts alternate. Each sample starts with an untimed step: the other column's sample left the pool
  // asleep and the caches cold, which a training loop, running its steps back to back, never meets (waking the pool
  // costs a few tenths of a millisecond on this VM: a 256³ product on 2 threads took 0.55 ms with the worker
  // polling, 0.74 ms right after 30 ms of other work).
  const wasmThreads = (n: number) => async () => {
    await setBackend('wasm');
    await setNumThreads(n);
    wasmStep();
    return timed(wasmStep, c.stepsPerSample);
  };
  // PyTorch's samples are taken in the same rounds, each after a quiet gap and an untimed step, and compared with
  // netdeconv's of the same round.
  const natives = torch.version ? await Promise.all([1, cores].map((t) => startNativeStepper(c.native, t))) : [];
  const native = (s: NativeStepper) => async () => {
    await quiet();
    await s.time(1);
    return s.time(c.stepsPerSample);
  };
  const times = await rounds([wasmThreads(1), wasmThreads(cores), ...natives.map(native)]);
  for (const s of natives) s.close();
  let profile = '';
  if (profiling) {
    await setNumThreads(1);
    profile = profileSteps(activeBackend(), wasmStep, quick ? 1 : c.stepsPerSample);
  }
  const n = c.x.shape[0];
  /** The median over rounds of column a's time over column b's: samples taken moments apart, in one machine state. */
  const paired = (a: number, b: number) =>
    times[a] && times[b] ? median(times[a].map((t, r) => t / times[b][r])) : Number.NaN;
  const [vsNative1, vsNativeN, threadGain] = [paired(2, 0), paired(3, 1), paired(0, 1)];
  const [t1, tN, n1, nN] = [0, 1, 2, 3].map((j) => (times[j] ? median(times[j]) : Number.NaN));
  return async () => {
    await settle();
    const jsStep = c.withJs ? await stepper('js', c.make, c.x, c.y) : null;
    const tJs = jsStep ? median((await rounds([async () => timed(jsStep, 1)]))[0]) : Number.NaN;
    console.log(
      `| ${c.label} | images/s | ${[t1, tN, tJs, n1, nN].map((t) => fmt(n / t, n / t < 100 ? 1 : 0)).join(' | ')} | ${ratio(vsNative1)} | ${ratio(vsNativeN)} | ${ratio(tJs / t1)} | ${ratio(threadGain)} |`,
    );
    if (profile) console.log(`\nWhere ${c.label}'s step goes (wasm, 1 thread):\n\n${profile}\n`);
  };
}

const { train } = loadEmbeddedMnist().split(2000, 0);
const mnist = [...train.batches(64, { shuffle: true, seed: 0 })][0];
const cifarX = (batch: number) => randn([batch, 3, 32, 32]);
const cifarY = (batch: number) => Int32Array.from({ length: batch }, (_, i) => i % 10);
/** PyTorch's twin of a row: convertToDeconv's defaults unless the row says otherwise. */
const nativeCase = (c: Partial<NativeCase> & Pick<NativeCase, 'model' | 'batch' | 'inShape'>): NativeCase => ({
  width: 1,
  deconv: false,
  block: 64,
  nIter: 5,
  samplingStride: 3,
  blockFc: 512,
  ...c,
});
const small = { widthMultiplier: 0.25 };
const short = { warmSeconds: 2, measureSeconds: 5, stepsPerSample: 3 };
const cases: TrainCase[] = [
  {
    label: 'MNIST CNN (BatchNorm), batch 64',
    make: () => nn.mnistCnn(),
    ...mnist,
    withJs: true,
    native: nativeCase({ model: 'mnist-cnn', batch: 64, inShape: [1, 28, 28] }),
    ...short,
  },
  {
    label: 'MNIST CNN (deconvolution twin), batch 64',
    make: () => nn.mnistCnn({ deconv: true }),
    ...mnist,
    withJs: true,
    native: nativeCase({ model: 'mnist-cnn', deconv: true, batch: 64, inShape: [1, 28, 28] }),
    ...short,
  },
  {
    label: 'ResNet-18/4 (CIFAR 32x32x3, BatchNorm), batch 32',
    make: () => nn.resnet18(small),
    x: cifarX(32),
    y: cifarY(32),
    withJs: true,
    native: nativeCase({ model: 'resnet18', width: 0.25, batch: 32, inShape: [3, 32, 32] }),
    ...short,
  },
  {
    label: 'ResNet-18/4 (CIFAR 32x32x3, deconvolution, block 16), batch 32',
    make: () => nn.utils.convertToDeconv(nn.resnet18(small), { blockFc: 16, deconv: { block: 16 } }),
    x: cifarX(32),
    y: cifarY(32),
    withJs: false,
    native: nativeCase({
      model: 'resnet18',
      width: 0.25,
      deconv: true,
      block: 16,
      blockFc: 16,
      batch: 32,
      inShape: [3, 32, 32],
    }),
    ...short,
  },
];
// The paper's CIFAR scale: full-width ResNet-18, batch 128, block 64, 5 iterations, sampling stride 3. Seconds per
// step, so one step per sample and few samples.
const paper = { warmSeconds: 1, measureSeconds: 20, stepsPerSample: 1 };
const paperCases: TrainCase[] = quick
  ? []
  : [
      {
        label: 'ResNet-18 (CIFAR 32x32x3, BatchNorm), batch 128',
        make: () => nn.resnet18(),
        x: cifarX(128),
        y: cifarY(128),
        withJs: false,
        native: nativeCase({ model: 'resnet18', batch: 128, inShape: [3, 32, 32] }),
        ...paper,
      },
      {
        label: 'ResNet-18 (CIFAR 32x32x3, deconvolution, block 64), batch 128',
        make: () => nn.utils.convertToDeconv(nn.resnet18(), { deconv: { block: 64, nIter: 5, samplingStride: 3 } }),
        x: cifarX(128),
        y: cifarY(128),
        withJs: false,
        native: nativeCase({ model: 'resnet18', deconv: true, batch: 128, inShape: [3, 32, 32] }),
        ...paper,
      },
    ];
cases.push(...paperCases);
const rows = [];
for (const c of cases) rows.push(await trainRow(c));
for (const finish of rows) await finish();
rows.length = 0; // the finished rows' models can go before the paper-scale pair below
if (!torch.version) console.log(`\nNo PyTorch column: ${torch.why}.`);

/**
 * The cost of deconvolution at the paper's scale as one number: the deconvolution step's time over the BatchNorm
 * step's, the two models stepped in turn on one thread (each round in the other order), the median of the rounds'
 * ratios. The table's two rows are measured minutes apart, in which this VM's speed can change by half.
 */
async function deconvolutionCost([bn, deconv]: TrainCase[], rounds: number): Promise<void> {
  await settle();
  await setNumThreads(1);
  const steps = [await stepper('wasm', bn.make, bn.x, bn.y), await stepper('wasm', deconv.make, deconv.x, deconv.y)];
  for (const step of steps) step();
  const ratios: number[] = [];
  for (let r = 0; r < rounds; r++) {
    const ms = [0, 0];
    for (const j of r % 2 ? [1, 0] : [0, 1]) {
      const t0 = performance.now();
      steps[j]();
      ms[j] = performance.now() - t0;
    }
    ratios.push(ms[1] / ms[0]);
  }
  const sorted = [...ratios].sort((a, b) => a - b);
  console.log(
    `\nDeconvolution step / BatchNorm step at the paper's scale (full-width ResNet-18, batch 128, block 64, 5 iterations, sampling stride 3), wasm, 1 thread, stepped in turn: ${ratio(median(ratios))} (rounds ${ratio(sorted[0])}–${ratio(sorted[sorted.length - 1])})`,
  );
}
if (paperCases.length) await deconvolutionCost(paperCases, 5);
await setNumThreads(1); // release the workers
