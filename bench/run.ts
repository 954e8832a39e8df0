// Benchmarks (npm run bench): netdeconv's wasm backend next to TensorFlow.js's wasm backend (1 thread, same
// process, runs alternating so both see the same machine noise), and next to netdeconv's reference backend.
// Speed is measured here, never in tests.
import './relaxed.js';
import { activeBackend, setBackend } from '../src/backend/index.js';
import { conv2dInfo } from '../src/backend/shape_info.js';
import { crossEntropy } from '../src/autograd/ops/losses.js';
import { eye, Generator, linalg, manualSeed, nn, noGrad, optim, randn, type Tensor, tensor } from '../src/index.js';
import { loadEmbeddedMnist } from '../src/node/data.js';
import { initTfjs, tfConv, tfMatmul, tfNewtonSchulz } from './tfjs.js';

const quick = process.argv.includes('--quick');

/** Median seconds of each of two callables, measured alternately after a warm-up. */
function race(a: () => void, b: (() => void) | null, reps: number): [number, number] {
  a();
  b?.();
  const ta: number[] = [];
  const tb: number[] = [];
  for (let i = 0; i < reps; i++) {
    let t0 = performance.now();
    a();
    ta.push(performance.now() - t0);
    if (b) {
      t0 = performance.now();
      b();
      tb.push(performance.now() - t0);
    }
  }
  const med = (v: number[]) => (v.length ? v.sort((x, y) => x - y)[Math.floor(v.length / 2)] / 1000 : NaN);
  return [med(ta), med(tb)];
}

const fmt = (v: number, digits = 1) => (Number.isFinite(v) ? v.toFixed(digits) : 'n/a');
const rows: string[] = [];
function row(label: string, unit: string, ours: number, peer: number, higherIsBetter = true): void {
  const ratio = higherIsBetter ? ours / peer : peer / ours;
  rows.push(`| ${label} | ${unit} | ${fmt(ours)} | ${fmt(peer)} | ${Number.isFinite(ratio) ? `${ratio.toFixed(2)}x` : 'n/a'} |`);
  console.log(rows[rows.length - 1]);
}

await initTfjs();
await setBackend('wasm');
const be = activeBackend() as ReturnType<typeof activeBackend> & { flavour?: string };
console.log(`netdeconv benchmarks — ${new Date().toISOString().slice(0, 10)}, Node ${process.version}, one thread, netdeconv wasm (${be.flavour}) vs @tensorflow/tfjs-backend-wasm 4.22\n`);
console.log('| case | unit | netdeconv | tfjs-wasm | netdeconv / tfjs |');
console.log('|---|---|---|---|---|');

for (const n of quick ? [256] : [128, 256, 512, 1024]) {
  const a = be.fromArray(Float32Array.from({ length: n * n }, (_, i) => Math.sin(i)));
  const b = be.fromArray(Float32Array.from({ length: n * n }, (_, i) => Math.cos(i)));
  const [ours, peer] = race(() => be.matmul(a, b, 1, n, n, n, false, false, 'float32'), tfMatmul(n), n >= 512 ? 5 : 15);
  row(`matmul ${n}`, 'GFLOP/s', (2 * n ** 3) / ours / 1e9, (2 * n ** 3) / peer / 1e9);
}

for (const [batch, hw, cin, cout] of quick ? [[64, 16, 64, 64]] : [[64, 32, 3, 32], [64, 16, 64, 64], [64, 8, 128, 128]]) {
  const info = conv2dInfo('bench', [batch, cin, hw, hw], [cout, cin, 3, 3], { padding: 1 });
  const flops = 2 * batch * hw * hw * cout * cin * 9;
  const x = be.fromArray(Float32Array.from({ length: batch * cin * hw * hw }, (_, i) => Math.sin(i)));
  const w = be.fromArray(Float32Array.from({ length: cout * cin * 9 }, (_, i) => Math.cos(i)));
  const dy = be.fromArray(Float32Array.from({ length: batch * cout * hw * hw }, (_, i) => Math.sin(2 * i)));
  const label = `conv ${batch}x${hw}x${hw}, ${cin}→${cout}, 3x3 pad 1`;
  for (const [kind, fn] of [
    ['forward', () => be.conv2d(x, w, info, 'float32')],
    ['backward wrt input', () => be.conv2dBackwardInput(dy, w, info, 'float32')],
    ['backward wrt filter', () => be.conv2dBackwardFilter(x, dy, info, 'float32')],
  ] as const) {
    const peer = tfConv(kind === 'forward' ? 'forward' : kind === 'backward wrt input' ? 'input' : 'filter', batch, hw, cin, cout);
    const [ours, theirs] = race(fn, peer, 3);
    row(`${label} ${kind}`, 'GFLOP/s', flops / ours / 1e9, flops / theirs / 1e9);
  }
}

for (const d of [144, 576]) {
  const g = new Generator(1);
  const m = tensor(Array.from({ length: d * d }, () => g.normal()), [d, d]);
  const A = noGrad(() => m.T.matmul(m).div(d).add(eye(d).mul(0.1)));
  const [ours, peer] = race(() => noGrad(() => linalg.isqrtNewtonSchulz(A, 5).data), tfNewtonSchulz(d), 5);
  row(`Newton–Schulz inverse sqrt d=${d}, 5 iterations`, 'ms', ours * 1000, peer * 1000, false);
}

// Training throughput: tfjs-wasm has no conv filter-gradient kernel, so it cannot train these nets; the peer
// column is netdeconv's own reference backend, measured alternately in the same way.
console.log('\n| training step (forward, backward, SGD) | unit | wasm | js (reference) | wasm / js |');
console.log('|---|---|---|---|---|');
async function stepTime(backend: string, make: () => nn.Module, x: Tensor, y: Int32Array): Promise<() => void> {
  await setBackend(backend);
  manualSeed(0);
  const model = make();
  const opt = new optim.SGD(model.parameters(), { lr: 0.01, momentum: 0.9 });
  return () => {
    opt.zeroGrad();
    crossEntropy(model.forward(x), y).backward();
    opt.step();
  };
}
/** `withJs: false` skips the reference column where one step would take minutes (deconvolution ResNet: d = 576). */
async function trainRow(label: string, make: () => nn.Module, x: Tensor, y: Int32Array, withJs = true): Promise<void> {
  const w = await stepTime('wasm', make, x, y);
  const j = withJs ? await stepTime('js', make, x, y) : null;
  // Each closure runs on the backend it was built for: switch around every call.
  const onWasm = () => { setBackendSync('wasm'); w(); };
  const onJs = j && (() => { setBackendSync('js'); j(); });
  const [tw, tj] = race(onWasm, onJs, quick ? 2 : 4);
  const n = x.shape[0];
  rows.push(`| ${label} | images/s | ${fmt(n / tw, 0)} | ${fmt(n / tj, 0)} | ${Number.isFinite(tj) ? `${(tj / tw).toFixed(2)}x` : 'n/a'} |`);
  console.log(rows[rows.length - 1]);
}
const ready = new Map<string, Awaited<ReturnType<typeof setBackend>>>();
for (const name of ['js', 'wasm']) ready.set(name, await setBackend(name));
function setBackendSync(name: string): void {
  void setBackend(name); // already initialised: takes effect at once
}

const { train } = loadEmbeddedMnist().split(2000, 0);
const mnist = [...train.batches(64, { shuffle: true, seed: 0 })][0];
await trainRow('MNIST CNN (BatchNorm), batch 64', () => nn.mnistCnn(), mnist.x, mnist.y);
await trainRow('MNIST CNN (deconvolution twin), batch 64', () => nn.mnistCnn({ deconv: true }), mnist.x, mnist.y);
const cifarX = randn([32, 3, 32, 32]);
const cifarY = Int32Array.from({ length: 32 }, (_, i) => i % 10);
const small = { widthMultiplier: 0.25 };
await trainRow('ResNet-18/4 (CIFAR 32x32x3, BatchNorm), batch 32', () => nn.resnet18(small), cifarX, cifarY);
await trainRow('ResNet-18/4 (CIFAR 32x32x3, deconvolution), batch 32', () => nn.utils.convertToDeconv(nn.resnet18(small), { blockFc: 16 }), cifarX, cifarY, false);
