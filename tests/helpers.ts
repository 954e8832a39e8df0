// Shared test helpers: fixture loading, the fixtures' tolerance rule, running a suite on every backend, and a
// short reproducible training run.
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { suite, type Test } from 'uvu';
import { manualSeed, nn, optim, setBackend, type Tensor, tensor } from '../src/index.js';

export const BACKENDS = ['js', 'wasm'] as const;

/** The PyTorch reference fixtures, `tests/fixtures/pytorch` (made by its `generate.py`). */
export const FIXTURES = join(dirname(fileURLToPath(import.meta.url)), 'fixtures', 'pytorch');

export interface FixtureTensor {
  shape: number[];
  dtype: 'float32' | 'float64' | 'int64';
  data: number[];
}

export interface Tol {
  rtol: number;
  atol: number;
}

export interface Fixture {
  kind: string;
  name: string;
  config: Record<string, any>;
  inputs: Record<string, any>;
  expected: Record<string, any>;
  tolerance: { float32: Tol; float32_per_tensor: Record<string, Tol> };
}

/** Every fixture file of a folder ('ops' or 'deconv'), manifest and README excluded. */
export function loadFixtures(folder: 'ops' | 'deconv'): Fixture[] {
  const dir = join(FIXTURES, folder);
  return readdirSync(dir)
    .filter((f) => f.endsWith('.json') && f !== 'manifest.json')
    .sort()
    .map((f) => JSON.parse(readFileSync(join(dir, f), 'utf8')) as Fixture);
}

/** A float32 tensor from a fixture tensor. */
export function t(ft: FixtureTensor, requiresGrad = false): Tensor {
  return tensor(Float32Array.from(ft.data), ft.shape, { requiresGrad });
}

/**
 * The fixtures' rule: |a_i − e_i| ≤ atol·max|e| + rtol·|e_i|. Throws naming the tensor, the worst element and the
 * fraction of the allowance it used.
 */
export function assertClose(
  actual: ArrayLike<number>,
  expected: FixtureTensor | ArrayLike<number>,
  tol: Tol,
  name: string,
): void {
  const e =
    'data' in expected && !ArrayBuffer.isView(expected)
      ? (expected as FixtureTensor).data
      : (expected as ArrayLike<number>);
  if (actual.length !== e.length) throw new Error(`${name}: ${actual.length} values, expected ${e.length}`);
  let maxAbs = 0;
  for (let i = 0; i < e.length; i++) maxAbs = Math.max(maxAbs, Math.abs(e[i]));
  let worst = 0;
  let at = -1;
  for (let i = 0; i < e.length; i++) {
    const allowed = tol.atol * maxAbs + tol.rtol * Math.abs(e[i]);
    const err = Math.abs(actual[i] - e[i]);
    const frac = err === 0 ? 0 : allowed === 0 ? Infinity : err / allowed;
    if (!(frac <= worst) || Number.isNaN(actual[i])) {
      worst = Number.isNaN(actual[i]) ? Infinity : frac;
      at = i;
    }
  }
  if (worst > 1) {
    throw new Error(
      `${name}: element ${at} is ${actual[at]}, expected ${e[at]} (${worst.toFixed(2)}× the allowed error; atol ${tol.atol}·${maxAbs.toPrecision(3)} + rtol ${tol.rtol})`,
    );
  }
}

/** Asserts integer data equal exactly. */
export function assertExact(actual: ArrayLike<number>, expected: ArrayLike<number>, name: string): void {
  if (actual.length !== expected.length)
    throw new Error(`${name}: ${actual.length} values, expected ${expected.length}`);
  for (let i = 0; i < expected.length; i++) {
    if (actual[i] !== expected[i]) throw new Error(`${name}: element ${i} is ${actual[i]}, expected ${expected[i]}`);
  }
}

/** Creates one uvu suite per backend, each switching to its backend first; `define` registers the cases. */
export function forEachBackend(name: string, define: (test: Test, backend: string) => void): void {
  for (const backend of BACKENDS) {
    const s = suite(`${name} [${backend}]`);
    s.before(async () => {
      await setBackend(backend);
    });
    define(s, backend);
    s.run();
  }
}

/**
 * Losses and final weights of `steps` SGD steps (lr 0.05, momentum 0.9) of the deconvolution MNIST CNN from
 * `seed`, step i on `batch(i)`, on the active backend: for comparing runs that must agree bit for bit.
 */
export function sgdSteps(
  seed: number,
  steps: number,
  batch: (step: number) => { x: Tensor; y: Int32Array },
): { losses: number[]; weights: number[] } {
  manualSeed(seed);
  const model = nn.mnistCnn({ deconv: true });
  const opt = new optim.SGD(model.parameters(), { lr: 0.05, momentum: 0.9 });
  const losses: number[] = [];
  for (let step = 0; step < steps; step++) {
    const { x, y } = batch(step);
    opt.zeroGrad();
    const loss = nn.functional.crossEntropy(model.forward(x), y);
    loss.backward();
    opt.step();
    losses.push(loss.item());
  }
  return { losses, weights: model.parameters().flatMap((p) => Array.from(p.data)) };
}
