// Every wasm kernel against the reference backend over fast-check shapes: tails (sizes not divisible by 4, by the
// 4×8 register tile or by the 96×256 cache blocks), strides, padding, dilation and groups.
import fc from 'fast-check';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import type { Backend } from '../src/backend/backend.js';
import { activeBackend, setBackend } from '../src/backend/index.js';
import { conv2dInfo } from '../src/backend/shape_info.js';

const test = suite('kernels: wasm vs js');
let js: Backend;
let wasm: Backend;
test.before(async () => {
  js = await setBackend('js');
  wasm = await setBackend('wasm');
  await setBackend('js');
});

const value = fc.float({ min: Math.fround(-4), max: Math.fround(4), noNaN: true, noDefaultInfinity: true });
const floats = (n: number) => fc.array(value, { minLength: n, maxLength: n }).map((v) => Float32Array.from(v));

/** Element-wise closeness for float32 sums of `terms` products of magnitude ≤ 16. */
function closeTo(actual: ArrayLike<number>, expected: ArrayLike<number>, terms: number, what: string): void {
  assert.is(actual.length, expected.length, `${what}: length`);
  const tol = 2e-6 * Math.max(1, terms) * 16 + 1e-6;
  for (let i = 0; i < expected.length; i++) {
    if (!(Math.abs(actual[i] - expected[i]) <= tol)) assert.unreachable(`${what}: element ${i} is ${actual[i]}, reference ${expected[i]}`);
  }
}

/** Runs one kernel on both backends with the same float32 inputs. */
function both<T>(run: (b: Backend, inputs: unknown[]) => T, inputs: Float32Array[]): [T, T] {
  return [run(js, inputs.map((a) => js.fromArray(a))), run(wasm, inputs.map((a) => wasm.fromArray(a)))];
}

const view = (b: Backend, s: unknown, n: number) => b.view(s, n, 'float32');

test('matmul: every shape, transpose flag and batch', () => {
  const dims = fc.record({
    batch: fc.integer({ min: 1, max: 3 }), m: fc.integer({ min: 1, max: 21 }), k: fc.integer({ min: 1, max: 21 }),
    n: fc.integer({ min: 1, max: 27 }), transA: fc.boolean(), transB: fc.boolean(),
  });
  fc.assert(
    fc.property(dims.chain((d) => fc.tuple(fc.constant(d), floats(d.batch * d.m * d.k), floats(d.batch * d.k * d.n))), ([d, a, b]) => {
      const size = d.batch * d.m * d.n;
      const [r, w] = both((be, [sa, sb]) => view(be, be.matmul(sa, sb, d.batch, d.m, d.k, d.n, d.transA, d.transB, 'float32'), size), [a, b]);
      closeTo(w, r, d.k, `matmul ${JSON.stringify(d)}`);
    }),
    { numRuns: 150 },
  );
});

test('matmul: sizes past the cache blocks (m > 96, k > 256) and several memory pages', () => {
  for (const [m, k, n] of [[130, 300, 131], [97, 257, 9], [5, 520, 3]]) {
    for (const [tA, tB] of [[false, false], [true, true]]) {
      const a = Float32Array.from({ length: m * k }, (_, i) => Math.sin(i));
      const b = Float32Array.from({ length: k * n }, (_, i) => Math.cos(i));
      const [r, w] = both((be, [sa, sb]) => view(be, be.matmul(sa, sb, 1, m, k, n, tA, tB, 'float32'), m * n), [a, b]);
      closeTo(w, r, k, `matmul ${m}x${k}x${n} transA=${tA} transB=${tB}`);
    }
  }
});

const geometry = fc
  .record({
    batch: fc.integer({ min: 1, max: 2 }), groups: fc.integer({ min: 1, max: 3 }), cg: fc.integer({ min: 1, max: 3 }), og: fc.integer({ min: 1, max: 5 }),
    h: fc.integer({ min: 1, max: 9 }), w: fc.integer({ min: 1, max: 11 }), kh: fc.integer({ min: 1, max: 3 }), kw: fc.integer({ min: 1, max: 3 }),
    sh: fc.integer({ min: 1, max: 3 }), sw: fc.integer({ min: 1, max: 3 }), ph: fc.integer({ min: 0, max: 2 }), pw: fc.integer({ min: 0, max: 2 }),
    dh: fc.integer({ min: 1, max: 2 }), dw: fc.integer({ min: 1, max: 2 }),
  })
  .filter((g) => g.h + 2 * g.ph >= g.dh * (g.kh - 1) + 1 && g.w + 2 * g.pw >= g.dw * (g.kw - 1) + 1)
  .map((g) =>
    conv2dInfo('test', [g.batch, g.cg * g.groups, g.h, g.w], [g.og * g.groups, g.cg, g.kh, g.kw], {
      stride: [g.sh, g.sw], padding: [g.ph, g.pw], dilation: [g.dh, g.dw], groups: g.groups,
    }),
  );

test('conv2d forward, backward wrt input and wrt filter; im2col and col2im', () => {
  fc.assert(
    fc.property(geometry, fc.integer({ min: 0, max: 1 << 30 }), (info, seed) => {
      let s = seed;
      const rnd = (n: number) => Float32Array.from({ length: n }, () => ((s = (Math.imul(s, 1103515245) + 12345) >>> 0) / 2 ** 31) * 2 - 1);
      const xSize = info.batch * info.inChannels * info.inHeight * info.inWidth;
      const kk = (info.inChannels / info.groups) * info.kernelH * info.kernelW;
      const wSize = info.outChannels * kk;
      const L = info.outHeight * info.outWidth;
      const ySize = info.batch * info.outChannels * L;
      const x = rnd(xSize);
      const w = rnd(wSize);
      const dy = rnd(ySize);
      const tag = JSON.stringify(info);
      let [r, v] = both((b, [sx, sw]) => view(b, b.conv2d(sx, sw, info, 'float32'), ySize), [x, w]);
      closeTo(v, r, kk, `conv2d ${tag}`);
      [r, v] = both((b, [sdy, sw]) => view(b, b.conv2dBackwardInput(sdy, sw, info, 'float32'), xSize), [dy, w]);
      closeTo(v, r, info.outChannels * info.kernelH * info.kernelW, `conv2dBackwardInput ${tag}`);
      [r, v] = both((b, [sx, sdy]) => view(b, b.conv2dBackwardFilter(sx, sdy, info, 'float32'), wSize), [x, dy]);
      closeTo(v, r, info.batch * L, `conv2dBackwardFilter ${tag}`);
      const colSize = info.batch * info.inChannels * info.kernelH * info.kernelW * L;
      [r, v] = both((b, [sx]) => view(b, b.im2col(sx, info, 'float32'), colSize), [x]);
      closeTo(v, r, 1, `im2col ${tag}`);
      const cols = rnd(colSize);
      [r, v] = both((b, [sc]) => view(b, b.col2im(sc, info, 'float32'), xSize), [cols]);
      closeTo(v, r, info.kernelH * info.kernelW, `col2im ${tag}`);
    }),
    { numRuns: 200 },
  );
});

test('a buffer of the wrong size is a clear error, not a wasm trap', () => {
  assert.throws(() => wasm.matmul(new Float32Array(5), new Float32Array(6), 1, 2, 3, 2, false, false, 'float32'), /wasm matmul: a has 5 elements, the shapes need 6/);
});

test('the active backend is restored', () => {
  assert.is(activeBackend().name, 'js');
});

test.run();
