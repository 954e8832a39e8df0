// The wasm kernels against the reference backend over fast-check shapes, tails included (sizes not divisible by 4).
import fc from 'fast-check';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { activeBackend, setBackend } from '../src/backend/index.js';
import type { Backend } from '../src/backend/backend.js';

const test = suite('kernels: wasm vs js');
let js: Backend;
let wasm: Backend;
test.before(async () => {
  js = await setBackend('js');
  wasm = await setBackend('wasm');
  await setBackend('js');
});

const value = fc.float({ min: Math.fround(-4), max: Math.fround(4), noNaN: true, noDefaultInfinity: true });

function closeTo(actual: ArrayLike<number>, expected: ArrayLike<number>, k: number, what: string): void {
  assert.is(actual.length, expected.length, `${what}: length`);
  for (let i = 0; i < expected.length; i++) {
    // float32 GEMM with k terms of magnitude ≤ 16: allow a few ulps per term.
    const tol = 1e-5 * k * 16 + 1e-6;
    if (!(Math.abs(actual[i] - expected[i]) <= tol)) assert.unreachable(`${what}: element ${i} is ${actual[i]}, reference ${expected[i]}`);
  }
}

test('matmul: every shape, transpose flag and batch', () => {
  const dims = fc.record({
    batch: fc.integer({ min: 1, max: 3 }),
    m: fc.integer({ min: 1, max: 19 }),
    k: fc.integer({ min: 1, max: 19 }),
    n: fc.integer({ min: 1, max: 23 }),
    transA: fc.boolean(),
    transB: fc.boolean(),
  });
  const cases = dims.chain((d) =>
    fc.tuple(fc.constant(d), fc.array(value, { minLength: d.batch * d.m * d.k, maxLength: d.batch * d.m * d.k }), fc.array(value, { minLength: d.batch * d.k * d.n, maxLength: d.batch * d.k * d.n })),
  );
  fc.assert(
    fc.property(cases, ([d, av, bv]) => {
      const a = Float32Array.from(av);
      const b = Float32Array.from(bv);
      const ref = js.view(js.matmul(js.fromArray(a), js.fromArray(b), d.batch, d.m, d.k, d.n, d.transA, d.transB, 'float32'), d.batch * d.m * d.n, 'float32');
      const out = wasm.view(wasm.matmul(wasm.fromArray(a), wasm.fromArray(b), d.batch, d.m, d.k, d.n, d.transA, d.transB, 'float32'), d.batch * d.m * d.n, 'float32');
      closeTo(out, ref, d.k, `matmul ${JSON.stringify(d)}`);
    }),
    { numRuns: 150 },
  );
});

test('matmul: sizes past one wasm page grow memory and stay correct', () => {
  const m = 130;
  const k = 129;
  const n = 131;
  const a = Float32Array.from({ length: m * k }, (_, i) => Math.sin(i));
  const b = Float32Array.from({ length: k * n }, (_, i) => Math.cos(i));
  const ref = js.view(js.matmul(a, b, 1, m, k, n, false, false, 'float32'), m * n, 'float32');
  const out = wasm.view(wasm.matmul(wasm.fromArray(a), wasm.fromArray(b), 1, m, k, n, false, false, 'float32'), m * n, 'float32');
  closeTo(out, ref, k, 'matmul 130x129x131');
});

test('the active backend is restored', () => {
  assert.is(activeBackend().name, 'js');
});

test.run();
