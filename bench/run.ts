// Benchmarks (npm run bench): matmul GFLOP/s and MNIST-CNN training throughput on each backend, measured
// alternately in one process so the ratios share the machine's noise; the cost of deconvolution next to
// BatchNorm. The TensorFlow.js comparison columns come with the WASM SIMD backend issue.
import { activeBackend, setBackend } from '../src/backend/index.js';
import { crossEntropy } from '../src/autograd/ops/losses.js';
import { eye, Generator, linalg, manualSeed, nn, noGrad, optim, randn, type Tensor, tensor } from '../src/index.js';
import { loadEmbeddedMnist } from '../src/node/data.js';

const BACKENDS = ['js', 'wasm'];

/** Median seconds of `reps` runs of fn after one warm-up. */
function time(fn: () => void, reps: number): number {
  fn();
  const ts: number[] = [];
  for (let i = 0; i < reps; i++) {
    const t0 = performance.now();
    fn();
    ts.push((performance.now() - t0) / 1000);
  }
  return ts.sort((a, b) => a - b)[Math.floor(ts.length / 2)];
}

async function matmulRow(n: number): Promise<string> {
  const a = Float32Array.from({ length: n * n }, (_, i) => Math.sin(i));
  const b = Float32Array.from({ length: n * n }, (_, i) => Math.cos(i));
  const gflops: number[] = [];
  for (const name of BACKENDS) {
    await setBackend(name);
    const be = activeBackend();
    const sa = be.fromArray(a);
    const sb = be.fromArray(b);
    const s = time(() => be.matmul(sa, sb, 1, n, n, n, false, false, 'float32'), n >= 512 ? 3 : 7);
    gflops.push((2 * n ** 3) / s / 1e9);
  }
  return `| matmul ${n} | ${gflops.map((g) => g.toFixed(2)).join(' | ')} | ${(gflops[1] / gflops[0]).toFixed(2)}x |`;
}

async function trainRow(deconv: boolean): Promise<string> {
  const { train } = loadEmbeddedMnist().split(2000, 0);
  const batch = [...train.batches(64, { shuffle: true, seed: 0 })][0];
  const ips: number[] = [];
  for (const name of BACKENDS) {
    await setBackend(name);
    manualSeed(0);
    const model = nn.mnistCnn({ deconv });
    const opt = new optim.SGD(model.parameters(), { lr: 0.01, momentum: 0.9 });
    const s = time(() => {
      opt.zeroGrad();
      crossEntropy(model.forward(batch.x), batch.y).backward();
      opt.step();
    }, 10);
    ips.push(64 / s);
  }
  return `| MNIST CNN${deconv ? ' (deconvolution twin)' : ' (BatchNorm)'} train step, batch 64 (images/s) | ${ips.map((v) => v.toFixed(0)).join(' | ')} | ${(ips[1] / ips[0]).toFixed(2)}x |`;
}

/** Forward+backward of one layer on a batch, in ms. */
function layerMs(layer: nn.Module, x: Tensor): number {
  return 1000 * time(() => {
    const xx = x.detach().requiresGrad_();
    layer.forward(xx).sum().backward();
  }, 5);
}

async function deconvRows(): Promise<string[]> {
  const rows: string[] = [];
  for (const d of [144, 576]) {
    const ms: number[] = [];
    for (const name of BACKENDS) {
      await setBackend(name);
      const g = new Generator(1);
      const m = tensor(Array.from({ length: d * d }, () => g.normal()), [d, d]);
      const A = noGrad(() => m.T.matmul(m).div(d).add(eye(d).mul(0.1)));
      ms.push(1000 * time(() => noGrad(() => linalg.isqrtNewtonSchulz(A, 5)), 3));
    }
    rows.push(`| Newton–Schulz d=${d}, 5 iterations (ms) | ${ms.map((v) => v.toFixed(1)).join(' | ')} | ${(ms[0] / ms[1]).toFixed(2)}x |`);
  }
  const x = randn([32, 16, 16, 16]);
  for (const [label, make] of [
    ['Conv2d+BatchNorm2d 16→16, 3x3, (32,16,16,16) fwd+bwd (ms)', () => new nn.Sequential(new nn.Conv2d(16, 16, 3, { padding: 1, bias: false }), new nn.BatchNorm2d(16))],
    ['FastDeconv2d 16→16, 3x3, same input, fwd+bwd (ms)', () => new nn.FastDeconv2d(16, 16, 3, { padding: 1 })],
  ] as const) {
    const ms: number[] = [];
    for (const name of BACKENDS) {
      await setBackend(name);
      ms.push(layerMs(make(), x));
    }
    rows.push(`| ${label} | ${ms.map((v) => v.toFixed(1)).join(' | ')} | ${(ms[0] / ms[1]).toFixed(2)}x |`);
  }
  return rows;
}

console.log(`netdeconv benchmarks — ${new Date().toISOString().slice(0, 10)}, Node ${process.version}, single thread\n`);
console.log('| case | js | wasm | speed-up wasm vs js |');
console.log('|---|---|---|---|');
for (const n of [128, 256, 512]) console.log(await matmulRow(n));
console.log(await trainRow(false));
console.log(await trainRow(true));
for (const row of await deconvRows()) console.log(row);
