// Benchmarks (npm run bench): matmul GFLOP/s and MNIST-CNN training throughput on each backend, measured
// alternately in one process so the ratios share the machine's noise. The TensorFlow.js comparison columns come
// with the WASM SIMD backend issue.
import { activeBackend, setBackend } from '../src/backend/index.js';
import { crossEntropy } from '../src/autograd/ops/losses.js';
import { manualSeed, nn, optim } from '../src/index.js';
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

async function trainRow(): Promise<string> {
  const { train } = loadEmbeddedMnist().split(2000, 0);
  const batch = [...train.batches(64, { shuffle: true, seed: 0 })][0];
  const ips: number[] = [];
  for (const name of BACKENDS) {
    await setBackend(name);
    manualSeed(0);
    const model = nn.mnistCnn();
    const opt = new optim.SGD(model.parameters(), { lr: 0.01, momentum: 0.9 });
    const s = time(() => {
      opt.zeroGrad();
      crossEntropy(model.forward(batch.x), batch.y).backward();
      opt.step();
    }, 10);
    ips.push(64 / s);
  }
  return `| MNIST CNN train step, batch 64 (images/s) | ${ips.map((v) => v.toFixed(0)).join(' | ')} | ${(ips[1] / ips[0]).toFixed(2)}x |`;
}

console.log(`netdeconv benchmarks — ${new Date().toISOString().slice(0, 10)}, Node ${process.version}, single thread\n`);
console.log('| case | js | wasm | wasm / js |');
console.log('|---|---|---|---|');
for (const n of [128, 256, 512]) console.log(await matmulRow(n));
console.log(await trainRow());
