// Every wasm kernel against the reference backend over fast-check shapes: tails (sizes not divisible by 4, by the
// 4×8 register tile or by the 96×256 cache blocks), strides, padding, dilation and groups.
import fc from 'fast-check';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import type { Backend } from '../src/backend/backend.js';
import { activeBackend, getNumThreads, setBackend, setNumThreads } from '../src/backend/index.js';
import { conv2dInfo, NewtonSchulzLayout, pool2dInfo } from '../src/backend/shape_info.js';
import { Heap } from '../src/backend/wasm/heap.js';
import type { WasmBackend } from '../src/backend/wasm/index.js';

const test = suite('kernels: wasm vs js');
let js: Backend;
let wasm: Backend;
test.before(async () => {
  js = await setBackend('js');
  wasm = await setBackend('wasm');
  // Every kernel call below also checks that it wrote nothing past its outputs and scratch.
  (wasm as WasmBackend).setWriteChecks(true);
  await setBackend('js');
});
test.after(() => (wasm as WasmBackend).setWriteChecks(false));

const value = fc.float({ min: Math.fround(-4), max: Math.fround(4), noNaN: true, noDefaultInfinity: true });
const floats = (n: number) => fc.array(value, { minLength: n, maxLength: n }).map((v) => Float32Array.from(v));

/** Element-wise closeness for float32 sums of `terms` products of magnitude ≤ 16. */
function closeTo(actual: ArrayLike<number>, expected: ArrayLike<number>, terms: number, what: string): void {
  assert.is(actual.length, expected.length, `${what}: length`);
  const tol = 2e-6 * Math.max(1, terms) * 16 + 1e-6;
  for (let i = 0; i < expected.length; i++) {
    if (!(Math.abs(actual[i] - expected[i]) <= tol))
      assert.unreachable(`${what}: element ${i} is ${actual[i]}, reference ${expected[i]}`);
  }
}

/**
 * Arrays of `n` floats from one linear congruential stream started at `seed` (each call continues it): the stream's
 * 32-bit state over 2³¹, times `scale`, plus `offset`. Cheaper than fast-check arrays for inputs of thousands.
 */
function seededFloats(seed: number, scale: number, offset: number): (n: number) => Float32Array {
  let s = seed;
  return (n) =>
    Float32Array.from({ length: n }, () => ((s = (Math.imul(s, 1103515245) + 12345) >>> 0) / 2 ** 31) * scale + offset);
}

/** Runs one kernel on both backends with the same float32 inputs. */
function both<T>(run: (b: Backend, inputs: unknown[]) => T, inputs: Float32Array[]): [T, T] {
  return [
    run(
      js,
      inputs.map((a) => js.fromArray(a)),
    ),
    run(
      wasm,
      inputs.map((a) => wasm.fromArray(a)),
    ),
  ];
}

const view = (b: Backend, s: unknown, n: number) => b.view(s, n, 'float32');

test('matmul: every shape, transpose flag and batch', () => {
  const dims = fc.record({
    batch: fc.integer({ min: 1, max: 3 }),
    m: fc.integer({ min: 1, max: 21 }),
    k: fc.integer({ min: 1, max: 21 }),
    n: fc.integer({ min: 1, max: 27 }),
    transA: fc.boolean(),
    transB: fc.boolean(),
  });
  fc.assert(
    fc.property(
      dims.chain((d) => fc.tuple(fc.constant(d), floats(d.batch * d.m * d.k), floats(d.batch * d.k * d.n))),
      ([d, a, b]) => {
        const size = d.batch * d.m * d.n;
        const [r, w] = both(
          (be, [sa, sb]) => view(be, be.matmul(sa, sb, d.batch, d.m, d.k, d.n, d.transA, d.transB, 'float32'), size),
          [a, b],
        );
        closeTo(w, r, d.k, `matmul ${JSON.stringify(d)}`);
      },
    ),
    { numRuns: 150 },
  );
});

test('matmul: sizes past the cache blocks (m > 96, k > 256, n > 1024) and several memory pages', () => {
  for (const [m, k, n] of [
    [130, 300, 131],
    [97, 257, 9],
    [5, 520, 3],
    [5, 70, 2100],
    [3, 40, 4500],
    [130, 20, 1100],
    [300, 130, 40],
  ]) {
    for (const [tA, tB] of [
      [false, false],
      [true, true],
    ]) {
      const a = Float32Array.from({ length: m * k }, (_, i) => Math.sin(i));
      const b = Float32Array.from({ length: k * n }, (_, i) => Math.cos(i));
      const [r, w] = both((be, [sa, sb]) => view(be, be.matmul(sa, sb, 1, m, k, n, tA, tB, 'float32'), m * n), [a, b]);
      closeTo(w, r, k, `matmul ${m}x${k}x${n} transA=${tA} transB=${tB}`);
    }
  }
});

test('matmul A·Bᵀ with long reductions (the dot-product kernel): slices of 1024 with tails, odd rows and columns', () => {
  const dims = fc.record({
    m: fc.integer({ min: 1, max: 13 }),
    n: fc.integer({ min: 1, max: 11 }),
    k: fc.integer({ min: 1000, max: 2600 }),
  });
  fc.assert(
    fc.property(
      dims.chain((d) => fc.tuple(fc.constant(d), floats(d.m * d.k), floats(d.k * d.n))),
      ([d, a, b]) => {
        const [r, w] = both(
          (be, [sa, sb]) => view(be, be.matmul(sa, sb, 1, d.m, d.k, d.n, false, true, 'float32'), d.m * d.n),
          [a, b],
        );
        closeTo(w, r, d.k, `matmul A·Bᵀ ${JSON.stringify(d)}`);
      },
    ),
    { numRuns: 40 },
  );
});

const geometry = fc
  .record({
    batch: fc.integer({ min: 1, max: 2 }),
    groups: fc.integer({ min: 1, max: 3 }),
    // From 4 channels per group (MR) the stride-1 input gradient runs as a forward convolution.
    cg: fc.integer({ min: 1, max: 5 }),
    og: fc.integer({ min: 1, max: 5 }),
    h: fc.integer({ min: 1, max: 9 }),
    w: fc.integer({ min: 1, max: 11 }),
    kh: fc.integer({ min: 1, max: 3 }),
    kw: fc.integer({ min: 1, max: 3 }),
    sh: fc.integer({ min: 1, max: 3 }),
    sw: fc.integer({ min: 1, max: 3 }),
    ph: fc.integer({ min: 0, max: 2 }),
    pw: fc.integer({ min: 0, max: 2 }),
    dh: fc.integer({ min: 1, max: 2 }),
    dw: fc.integer({ min: 1, max: 2 }),
  })
  .filter((g) => g.h + 2 * g.ph >= g.dh * (g.kh - 1) + 1 && g.w + 2 * g.pw >= g.dw * (g.kw - 1) + 1)
  .map((g) =>
    conv2dInfo('test', [g.batch, g.cg * g.groups, g.h, g.w], [g.og * g.groups, g.cg, g.kh, g.kw], {
      stride: [g.sh, g.sw],
      padding: [g.ph, g.pw],
      dilation: [g.dh, g.dw],
      groups: g.groups,
    }),
  );

/** conv2d with a bias gives, on both backends, exactly its result without one plus the bias, rounded once. */
function expectBiasAdded(
  x: Float32Array,
  w: Float32Array,
  bias: Float32Array,
  info: ReturnType<typeof conv2dInfo>,
  wasmNoBias: number[],
): void {
  const L = info.outHeight * info.outWidth;
  const ySize = info.batch * info.outChannels * L;
  const [r, v] = both((b, [sx, sw, sb]) => view(b, b.conv2d(sx, sw, sb, info, 'float32'), ySize), [x, w, bias]);
  const [r0] = both((b, [sx, sw]) => view(b, b.conv2d(sx, sw, null, info, 'float32'), ySize), [x, w]);
  for (let i = 0; i < ySize; i++) {
    const c = Math.floor(i / L) % info.outChannels;
    if (v[i] !== Math.fround(wasmNoBias[i] + bias[c]))
      assert.unreachable(`wasm conv2d with bias: element ${i} is ${v[i]}, without bias ${wasmNoBias[i]} + ${bias[c]}`);
    if (r[i] !== Math.fround(r0[i] + bias[c]))
      assert.unreachable(`js conv2d with bias: element ${i} is ${r[i]}, without bias ${r0[i]} + ${bias[c]}`);
  }
}

test('conv2d forward (with and without bias), backward wrt input and wrt filter; im2col and col2im', () => {
  fc.assert(
    fc.property(geometry, fc.integer({ min: 0, max: 1 << 30 }), (info, seed) => {
      const rnd = seededFloats(seed, 2, -1);
      const xSize = info.batch * info.inChannels * info.inHeight * info.inWidth;
      const kk = (info.inChannels / info.groups) * info.kernelH * info.kernelW;
      const wSize = info.outChannels * kk;
      const L = info.outHeight * info.outWidth;
      const ySize = info.batch * info.outChannels * L;
      const x = rnd(xSize);
      const w = rnd(wSize);
      const dy = rnd(ySize);
      const tag = JSON.stringify(info);
      let [r, v] = both((b, [sx, sw]) => view(b, b.conv2d(sx, sw, null, info, 'float32'), ySize), [x, w]);
      closeTo(v, r, kk, `conv2d ${tag}`);
      expectBiasAdded(x, w, rnd(info.outChannels), info, Array.from(v));
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
    {
      numRuns: 200,
      examples: [
        // Regression: a tap that lies in the padding for every output column (1×3 kernel, dilation 2, pad 2, W = 1).
        [conv2dInfo('edge', [1, 1, 1, 1], [1, 1, 1, 3], { padding: [0, 2], dilation: [1, 2] }), 0],
        // Output lines as long as the input's (stride 1, Wo = W), unfolded as one run per row: a 'same' 3×3, taller
        // padding than the kernel needs (Ho > H, whole lines in the padding), dilation 2 with pad 2.
        [conv2dInfo('run', [2, 2, 5, 7], [3, 2, 3, 3], { padding: 1 }), 1],
        [conv2dInfo('run', [1, 2, 2, 4], [2, 2, 3, 3], { padding: [2, 1] }), 2],
        [conv2dInfo('run', [1, 1, 6, 5], [1, 1, 3, 3], { padding: 2, dilation: 2 }), 3],
        // The input gradient as a forward convolution: groups, a padding smaller than the kernel's reach.
        [conv2dInfo('flipped', [2, 8, 5, 6], [6, 4, 3, 2], { padding: [1, 0], groups: 2 }), 4],
        // Stride-2 lines long enough for whole groups of 4 (gathered from even lanes, added back between −0s) and
        // their tails: 12 and 11 output columns.
        [conv2dInfo('stride 2', [2, 3, 5, 23], [4, 3, 3, 3], { stride: 2, padding: 1 }), 5],
        [conv2dInfo('stride 2', [1, 2, 4, 22], [3, 2, 1, 2], { stride: [1, 2], padding: [0, 1] }), 6],
      ],
    },
  );
});

/** 3×3 convolutions at stride 1 with 8 channels or more in and out: the Winograd kernels' shapes. */
const winogradGeometry = fc
  .record({
    batch: fc.integer({ min: 1, max: 3 }),
    c: fc.integer({ min: 8, max: 12 }),
    o: fc.integer({ min: 8, max: 12 }),
    h: fc.integer({ min: 1, max: 9 }),
    w: fc.integer({ min: 1, max: 11 }),
    ph: fc.integer({ min: 0, max: 2 }),
    pw: fc.integer({ min: 0, max: 2 }),
  })
  .filter((g) => g.h + 2 * g.ph >= 3 && g.w + 2 * g.pw >= 3)
  .map((g) => conv2dInfo('winograd', [g.batch, g.c, g.h, g.w], [g.o, g.c, 3, 3], { padding: [g.ph, g.pw] }));

test('3×3 convolutions by Winograd F(2×4, 3×3): forward (with and without bias), backward wrt input and wrt filter, odd edges, tails of tile groups, several chunks and parts', () => {
  fc.assert(
    fc.property(winogradGeometry, fc.integer({ min: 0, max: 1 << 30 }), (info, seed) => {
      const rnd = seededFloats(seed, 8, -4);
      const xSize = info.batch * info.inChannels * info.inHeight * info.inWidth;
      const wSize = info.outChannels * info.inChannels * 9;
      const ySize = info.batch * info.outChannels * info.outHeight * info.outWidth;
      const [x, w, dy, bias] = [rnd(xSize), rnd(wSize), rnd(ySize), rnd(info.outChannels)];
      const tag = JSON.stringify(info);
      let [r, v] = both((b, [sx, sw, sb]) => view(b, b.conv2d(sx, sw, sb, info, 'float32'), ySize), [x, w, bias]);
      closeTo(v, r, info.inChannels * 9, `conv2d ${tag}`);
      [r, v] = both((b, [sx, sw]) => view(b, b.conv2d(sx, sw, null, info, 'float32'), ySize), [x, w]);
      closeTo(v, r, info.inChannels * 9, `conv2d without bias ${tag}`);
      [r, v] = both((b, [sdy, sw]) => view(b, b.conv2dBackwardInput(sdy, sw, info, 'float32'), xSize), [dy, w]);
      closeTo(v, r, info.outChannels * 9, `conv2dBackwardInput ${tag}`);
      [r, v] = both((b, [sx, sdy]) => view(b, b.conv2dBackwardFilter(sx, sdy, info, 'float32'), wSize), [x, dy]);
      closeTo(v, r, info.batch * info.outHeight * info.outWidth, `conv2dBackwardFilter ${tag}`);
    }),
    {
      numRuns: 60,
      examples: [
        // Several chunks of images per call, several parts of the filter gradient (the last shorter), lines of
        // tiles that fill whole lane groups; 32 output channels and more take the packed kernel for dU.
        [conv2dInfo('chunks', [7, 8, 32, 32], [8, 8, 3, 3], { padding: 1 }), 1],
        // More chunks than parts: a part sums several chunks (10 chunks of 5 images, the last of 1: parts of 10, the
        // last of 6).
        [conv2dInfo('parts', [46, 8, 32, 32], [8, 8, 3, 3], { padding: 1 }), 4],
        [conv2dInfo('packed', [3, 8, 9, 7], [33, 8, 3, 3], { padding: 1 }), 2],
        // A padding past the kernel's reach: whole tiles in the padding.
        [conv2dInfo('margin', [3, 8, 2, 3], [8, 8, 3, 3], { padding: 2 }), 3],
        // Groups of 4 tiles across lines and images: 4×4 outputs (2 tiles an image), 7×3 (an odd last output line,
        // 3 columns of a 4-wide tile) and 5×4 (an odd number of lines of tiles); batches of at least 8 tiles, as
        // the filter gradient's Winograd form takes.
        [conv2dInfo('groups', [5, 9, 4, 4], [10, 9, 3, 3], { padding: 1 }), 5],
        [conv2dInfo('groups', [3, 8, 7, 3], [8, 8, 3, 3], { padding: 1 }), 6],
        [conv2dInfo('groups', [3, 8, 5, 4], [9, 8, 3, 3], { padding: 1 }), 7],
        // The filter gradient over a single tile (by the unfolded GEMM): 4 outputs, a column of them in the padding.
        [conv2dInfo('one tile', [1, 9, 3, 2], [8, 9, 3, 3], { padding: [0, 2] }), 1073020924],
      ],
    },
  );
});

/** A shape and a broadcast partner: some dims squashed to 1, some leading dims dropped. */
const broadcastPair = fc
  .array(fc.integer({ min: 1, max: 7 }), { minLength: 0, maxLength: 4 })
  .chain((out) =>
    fc.tuple(
      fc.constant(out),
      fc.array(fc.boolean(), { minLength: out.length, maxLength: out.length }),
      fc.integer({ min: 0, max: out.length }),
      fc.boolean(),
    ),
  );
const size = (s: readonly number[]) => s.reduce((a, b) => a * b, 1);

test('conv2d forward and input gradient past the GEMM blocks: k > 256 (several depth slices), more than 1024 columns in one call, one image per unfolded chunk, padding, groups', async () => {
  const before = getNumThreads();
  for (const [opts, groups, threads] of [
    [{ padding: 1 }, 1, 1],
    [{ padding: 1 }, 1, 2],
    [{ padding: 2, stride: 2, dilation: 2 }, 2, 1],
    [{ padding: 2, stride: 2, dilation: 2 }, 2, 2],
  ] as const) {
    await setNumThreads(threads); // one thread: a single call spans every column
    // 288 patch rows × 420 pixels: more than the 131,072 floats a call unfolds at once, so one image per chunk.
    const info = conv2dInfo('test', [3, 32, 21, 20], [6, 32 / groups, 3, 3], { ...opts, groups });
    const x = Float32Array.from({ length: 3 * 32 * 21 * 20 }, (_, i) => Math.sin(i * 0.37));
    const w = Float32Array.from({ length: (6 * 32 * 9) / groups }, (_, i) => Math.cos(i * 0.11));
    const ySize = 3 * 6 * info.outHeight * info.outWidth;
    const dy = Float32Array.from({ length: ySize }, (_, i) => Math.cos(i * 0.23));
    const [r, v] = both((b, [sx, sw]) => view(b, b.conv2d(sx, sw, null, info, 'float32'), ySize), [x, w]);
    closeTo(v, r, (32 / groups) * 9, `conv2d ${JSON.stringify(info)} on ${threads} threads`);
    expectBiasAdded(
      x,
      w,
      Float32Array.from({ length: 6 }, (_, i) => i - 2.5),
      info,
      Array.from(v),
    );
    const [ri, vi] = both(
      (b, [sdy, sw]) => view(b, b.conv2dBackwardInput(sdy, sw, info, 'float32'), x.length),
      [dy, w],
    );
    closeTo(vi, ri, (6 / groups) * 9, `conv2dBackwardInput ${JSON.stringify(info)} on ${threads} threads`);
  }
  await setNumThreads(before);
});

test("conv2d input gradient with more output channels than patch rows (its GEMM deeper than the forward's), by ranges of images", async () => {
  const before = getNumThreads();
  for (const threads of [1, 2, 3]) {
    await setNumThreads(threads);
    for (const [batch, c, o, hw] of [
      [5, 1, 17, 13],
      [6, 2, 40, 11],
      [4, 1, 70, 9],
      [3, 3, 96, 7],
    ]) {
      const info = conv2dInfo('test', [batch, c, hw, hw], [o, c, 1, 1], {});
      const dy = Float32Array.from({ length: batch * o * hw * hw }, (_, i) => Math.sin(i * 0.29));
      const w = Float32Array.from({ length: o * c }, (_, i) => Math.cos(i * 0.7));
      const [r, v] = both(
        (b, [sdy, sw]) => view(b, b.conv2dBackwardInput(sdy, sw, info, 'float32'), batch * c * hw * hw),
        [dy, w],
      );
      closeTo(v, r, o, `conv2dBackwardInput ${batch}×${c}×${hw}², ${o} outputs, ${threads} threads`);
    }
  }
  await setNumThreads(before);
});

test('binary ops with broadcasting (either side), every op', () => {
  const ops = ['add', 'sub', 'mul', 'div', 'pow', 'maximum', 'minimum', 'eq', 'gt', 'ge'] as const;
  fc.assert(
    fc.property(
      broadcastPair,
      fc.constantFrom(...ops),
      fc.integer({ min: 0, max: 1 << 30 }),
      ([out, ones, drop, swap], op, seed) => {
        const small = out.map((d, i) => (ones[i] ? 1 : d)).slice(drop);
        const [aShape, bShape] = swap ? [small, out] : [out, small];
        let s = seed;
        // Positive values for pow; a coarse grid so that eq/gt/ge meet ties.
        const rnd = (n: number) =>
          Float32Array.from(
            { length: n },
            () => 0.25 + Math.floor(((s = (Math.imul(s, 1103515245) + 12345) >>> 0) / 2 ** 32) * 12) / 4,
          );
        const a = rnd(size(aShape));
        const b = rnd(size(bShape));
        const [r, w] = both(
          (be, [sa, sb]) => view(be, be.binary(op, sa, aShape, sb, bShape, out, 'float32'), size(out)),
          [a, b],
        );
        closeTo(w, r, 1, `${op} ${JSON.stringify(aShape)} ${JSON.stringify(bShape)}`);
      },
    ),
    { numRuns: 200 },
  );
});

test('reluBackward: dy unless x ≤ 0 (a NaN x passes dy), tails included, zeros and ±∞', () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 0, max: 41 }).chain((n) => fc.tuple(floats(n), floats(n))),
      ([dy, x]) => {
        x.forEach((_, i) => {
          if (i % 5 === 0) x[i] = 0;
        }); // the kink: no gradient at exactly 0 (or −0)
        const n = x.length;
        const [r, w] = both((be, [sdy, sx]) => view(be, be.reluBackward(sdy, sx, n, 'float32'), n), [dy, x]);
        assert.equal(Array.from(w), Array.from(r));
        for (let i = 0; i < n; i++) assert.is(r[i], x[i] <= 0 ? 0 : dy[i], `element ${i}`);
      },
    ),
    { numRuns: 120 },
  );
  const x = Float32Array.from([NaN, -0, Infinity, -Infinity, 2, NaN, 1]);
  const dy = Float32Array.from([5, 6, NaN, Infinity, -Infinity, 7, 8]);
  const [r, w] = both((be, [sdy, sx]) => view(be, be.reluBackward(sdy, sx, 7, 'float32'), 7), [dy, x]);
  assert.equal(Array.from(w).map(String), ['5', '0', 'NaN', '0', '-Infinity', '7', '8']);
  assert.equal(Array.from(r).map(String), Array.from(w).map(String));
});

test('unary ops and clamp, tails included', () => {
  const ops = ['neg', 'exp', 'log', 'sqrt', 'abs', 'sign', 'relu', 'sigmoid', 'tanh'] as const;
  fc.assert(
    fc.property(fc.integer({ min: 0, max: 37 }), fc.constantFrom(...ops), (n, op) => {
      const x = Float32Array.from({ length: n }, (_, i) =>
        op === 'log' || op === 'sqrt' ? 0.1 + i * 0.37 : Math.sin(i * 1.3) * 6,
      );
      const [r, w] = both((be, [sx]) => view(be, be.unary(op, sx, n, 'float32'), n), [x]);
      for (let i = 0; i < n; i++) {
        if (!(Math.abs(w[i] - r[i]) <= 1e-5 * (1 + Math.abs(r[i]))))
          assert.unreachable(`${op}: element ${i} is ${w[i]}, reference ${r[i]}`);
      }
      const [rc, wc] = both((be, [sx]) => view(be, be.clamp(sx, n, -0.5, 1.25, 'float32'), n), [x]);
      assert.equal(Array.from(wc), Array.from(rc));
    }),
    { numRuns: 120 },
  );
  const nan = Float32Array.from([NaN, 1, -3, 5, NaN]);
  const [r, w] = both((be, [sx]) => view(be, be.clamp(sx, 5, 0, 2, 'float32'), 5), [nan]);
  assert.equal(Array.from(w).map(String), Array.from(r).map(String), 'NaN passes through clamp');
});

test('sum over any set of axes', () => {
  // Small shapes, and shapes past the size at which sums split across threads (one axis up to 700).
  const small = fc.array(fc.integer({ min: 1, max: 9 }), { minLength: 1, maxLength: 4 });
  const large = fc
    .tuple(small, fc.integer({ min: 0, max: 3 }), fc.integer({ min: 300, max: 700 }))
    .map(([s, at, big]) => s.map((d, i) => (i === at % s.length ? big : d + 2)));
  fc.assert(
    fc.property(fc.oneof(small, large), fc.integer({ min: 0, max: 15 }), (shape, mask) => {
      const axes = shape.map((_, i) => i).filter((i) => (mask >> i) & 1);
      const x = Float32Array.from({ length: size(shape) }, (_, i) => Math.cos(i * 0.7));
      const out = size(shape.map((d, i) => (axes.includes(i) ? 1 : d)));
      const [r, w] = both((be, [sx]) => view(be, be.reduceSum(sx, shape, axes, 'float32'), out), [x]);
      closeTo(w, r, size(shape), `sum ${JSON.stringify(shape)} over ${JSON.stringify(axes)}`);
    }),
    { numRuns: 150 },
  );
});

test('data movement: expand, permute, slice, pad and concat, exactly', () => {
  const shapeArb = fc.array(fc.integer({ min: 1, max: 6 }), { minLength: 1, maxLength: 4 });
  const exact = (w: ArrayLike<number>, r: ArrayLike<number>, what: string) =>
    assert.equal(Array.from(w), Array.from(r), what);
  const data = (n: number) => Float32Array.from({ length: n }, (_, i) => Math.sin(i * 0.9) * 3);
  fc.assert(
    fc.property(shapeArb, fc.integer({ min: 0, max: 1 << 20 }), (shape, seed) => {
      const n = size(shape);
      const pick = (k: number) => (seed >> k) & 1;
      // expand: stretch some axes to size 1 first, plus a new leading axis
      const inShape = shape.map((d, i) => (pick(i) ? 1 : d));
      const outShape = [2, ...shape];
      let [r, w] = both(
        (be, [sx]) => view(be, be.expand(sx, inShape, outShape, 'float32'), size(outShape)),
        [data(size(inShape))],
      );
      exact(w, r, `expand ${JSON.stringify(inShape)} → ${JSON.stringify(outShape)}`);
      // permute: reverse the axes, rotated by seed
      const perm = shape.map((_, i) => (shape.length - 1 - i + seed) % shape.length);
      [r, w] = both((be, [sx]) => view(be, be.permute(sx, shape, perm, 'float32'), n), [data(n)]);
      exact(w, r, `permute ${JSON.stringify(shape)} by ${JSON.stringify(perm)}`);
      // slice: the box from (seed-dependent) begin to the end
      const begin = shape.map((d, i) => (pick(i + 4) ? d - 1 : 0));
      const box = shape.map((d, i) => d - begin[i]);
      [r, w] = both((be, [sx]) => view(be, be.slice(sx, shape, begin, box, 'float32'), size(box)), [data(n)]);
      exact(w, r, `slice ${JSON.stringify(shape)} from ${JSON.stringify(begin)}`);
      // pad with a value, uneven sides
      const before = shape.map((_, i) => pick(i + 8) * 2);
      const after = shape.map((_, i) => pick(i + 12));
      const padded = size(shape.map((d, i) => d + before[i] + after[i]));
      [r, w] = both((be, [sx]) => view(be, be.pad(sx, shape, before, after, -1.5, 'float32'), padded), [data(n)]);
      exact(w, r, `pad ${JSON.stringify(shape)} by ${JSON.stringify(before)}/${JSON.stringify(after)}`);
      // concat three tensors along a seed-chosen axis
      const axis = seed % shape.length;
      const shapes = [1, 2, 3].map((k) => shape.map((d, i) => (i === axis ? k : d)));
      const total = shapes.reduce((acc, sh) => acc + size(sh), 0);
      const inputs = shapes.map((sh, k) => data(size(sh)).map((v) => v + k));
      [r, w] = both((be, xs) => view(be, be.concat(xs, shapes, axis, 'float32'), total), inputs);
      exact(w, r, `concat ${JSON.stringify(shapes)} along ${axis}`);
    }),
    { numRuns: 150 },
  );
  // Permutes that transpose planes (4×4 blocks in registers) with every row and column tail, and in row ranges that
  // threads split.
  fc.assert(
    fc.property(
      fc.integer({ min: 1, max: 3 }),
      fc.integer({ min: 1, max: 23 }),
      fc.integer({ min: 1, max: 23 }),
      fc.integer({ min: 1, max: 5 }),
      (b, c, l, g) => {
        for (const [shape, perm] of [
          [
            [b, c, l],
            [0, 2, 1],
          ],
          [
            [c, l],
            [1, 0],
          ],
          [
            [b, c, 2, l],
            [0, 3, 2, 1],
          ],
          // a deconvolution's patch layout (N, d, G, L) → (N, L, G, d) and back: the rows are not the plane's
          [
            [b, c, g, l],
            [0, 3, 2, 1],
          ],
          [
            [b, l, g, c],
            [0, 3, 2, 1],
          ],
        ] as const) {
          const n = size(shape);
          const [r, w] = both((be, [sx]) => view(be, be.permute(sx, shape, perm, 'float32'), n), [data(n)]);
          exact(w, r, `permute ${JSON.stringify(shape)} by ${JSON.stringify(perm)}`);
        }
      },
    ),
    { numRuns: 80 },
  );
  for (const [shape, perm] of [
    [
      [64, 72, 25],
      [0, 2, 1],
    ],
    [
      [3, 257, 131],
      [0, 2, 1],
    ],
  ] as const) {
    const n = size(shape);
    const [r, w] = both((be, [sx]) => view(be, be.permute(sx, shape, perm, 'float32'), n), [data(n)]);
    exact(w, r, `permute ${JSON.stringify(shape)} by ${JSON.stringify(perm)}`);
  }
});

test('scatter-add, and an index outside the output is a clear error', () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 1, max: 40 }),
      fc.integer({ min: 0, max: 60 }),
      fc.integer({ min: 0, max: 1 << 30 }),
      (outSize, n, seed) => {
        let s = seed;
        const indices = Int32Array.from({ length: n }, () => (s = (Math.imul(s, 1103515245) + 12345) >>> 0) % outSize);
        const values = Float32Array.from({ length: n }, (_, i) => Math.cos(i));
        const [r, w] = both((be, [sv]) => view(be, be.scatterAdd(sv, indices, outSize, 'float32'), outSize), [values]);
        closeTo(w, r, n, `scatterAdd n=${n} into ${outSize}`);
      },
    ),
    { numRuns: 100 },
  );
  for (const be of [js, wasm]) {
    assert.throws(
      () => be.scatterAdd(be.fromArray(new Float32Array(3)), Int32Array.from([0, 7, 1]), 5, 'float32'),
      /scatterAdd: index 7 at position 1 is outside an output of 5 elements/,
    );
    assert.throws(
      () => be.scatterAdd(be.fromArray(new Float32Array(3)), Int32Array.from([0, -1, 1]), 5, 'float32'),
      /scatterAdd: index -1 at position 1 is outside an output of 5 elements/,
    );
  }
});

/** maxPool2dBackward with its output in a block that last held NaNs (a freed block of its size is what the heap hands out next). */
function backwardOnDirtyMemory(
  be: Backend,
  sx: unknown,
  sdy: unknown,
  info: ReturnType<typeof pool2dInfo>,
  fusedRelu = false,
): unknown {
  be.openScope?.();
  be.fromArray(new Float32Array(info.batch * info.channels * info.inHeight * info.inWidth).fill(NaN));
  be.closeScope?.(new Set());
  return (fusedRelu ? be.fusedReluMaxPool2dBackward : be.maxPool2dBackward)(sdy, sx, info, 'float32');
}

/**
 * Max pooling on both backends, exactly equal: values (alone and with their argmax), indices, and the backward
 * pass (each dy added at its window's maximum, in the same order), on dirty memory: a kernel that leaves a cell of
 * the gradient unwritten shows. The same with a ReLU fused in front, which must equal the ReLU and the pool apart.
 */
function checkMaxPool(info: ReturnType<typeof pool2dInfo>, x: Float32Array, dy: Float32Array): void {
  const inSize = x.length;
  const outSize = dy.length;
  const exact = (s: unknown, be: Backend, n: number) => Array.from(be.view(s, n, 'float32')).map(String);
  const [r, w] = [js, wasm].map((be) => {
    const sx = be.fromArray(x);
    const withArgmax = be.maxPool2dWithArgmax(sx, info, 'float32');
    const rx = be.unary('relu', sx, inSize, 'float32');
    return {
      values: exact(be.maxPool2d(sx, info, 'float32'), be, outSize),
      argmaxValues: exact(withArgmax.values, be, outSize),
      indices: Array.from(withArgmax.indices),
      dx: exact(backwardOnDirtyMemory(be, sx, be.fromArray(dy), info), be, inSize),
      reluValues: exact(be.fusedReluMaxPool2d(sx, info, 'float32'), be, outSize),
      reluDx: exact(backwardOnDirtyMemory(be, sx, be.fromArray(dy), info, true), be, inSize),
      apartValues: exact(be.maxPool2d(rx, info, 'float32'), be, outSize),
      apartDx: exact(
        be.reluBackward(be.maxPool2dBackward(be.fromArray(dy), rx, info, 'float32'), sx, inSize, 'float32'),
        be,
        inSize,
      ),
    };
  });
  assert.equal(w, r);
  assert.equal(r.values, r.argmaxValues);
  assert.equal(r.reluValues, r.apartValues, 'the fused ReLU: values');
  assert.equal(r.reluDx, r.apartDx, 'the fused ReLU: gradient');
  // The gradient lands where the indices point.
  const routed = new Float32Array(inSize);
  r.indices.forEach((at, o) => (routed[at] += dy[o]));
  assert.equal(r.dx, Array.from(routed).map(String));
}

test('max and average pooling, forward and backward', () => {
  const pools = fc
    .record({
      batch: fc.integer({ min: 1, max: 2 }),
      c: fc.integer({ min: 1, max: 3 }),
      h: fc.integer({ min: 1, max: 9 }),
      w: fc.integer({ min: 1, max: 9 }),
      kh: fc.integer({ min: 1, max: 3 }),
      kw: fc.integer({ min: 1, max: 3 }),
      sh: fc.integer({ min: 1, max: 3 }),
      sw: fc.integer({ min: 1, max: 3 }),
      ph: fc.integer({ min: 0, max: 1 }),
      pw: fc.integer({ min: 0, max: 1 }),
      countIncludePad: fc.boolean(),
    })
    .filter((p) => 2 * p.ph <= p.kh && 2 * p.pw <= p.kw && p.h + 2 * p.ph >= p.kh && p.w + 2 * p.pw >= p.kw);
  fc.assert(
    fc.property(pools, (p) => {
      const info = pool2dInfo('test', [p.batch, p.c, p.h, p.w], [p.kh, p.kw], {
        stride: [p.sh, p.sw],
        padding: [p.ph, p.pw],
        countIncludePad: p.countIncludePad,
      });
      const inSize = p.batch * p.c * p.h * p.w;
      const outSize = p.batch * p.c * info.outHeight * info.outWidth;
      const x = Float32Array.from({ length: inSize }, (_, i) => Math.sin(i * 2.1) - 0.5);
      const dy = Float32Array.from({ length: outSize }, (_, i) => Math.cos(i));
      checkMaxPool(info, x, dy);
      let [r, w] = both((be, [sx]) => view(be, be.avgPool2d(sx, info, 'float32'), outSize), [x]);
      closeTo(w, r, p.kh * p.kw, `avgPool2d ${JSON.stringify(p)}`);
      [r, w] = both((be, [sdy]) => view(be, be.avgPool2dBackward(sdy, info, 'float32'), inSize), [dy]);
      closeTo(w, r, p.kh * p.kw, `avgPool2dBackward ${JSON.stringify(p)}`);
    }),
    { numRuns: 150 },
  );
});

test('max pooling 2x2 stride 2 (the SIMD path): values, indices and gradient, ties, NaNs and ±∞, tails', () => {
  // Values from a small set so windows tie; NaN and −∞ mixed in. Sizes give Wo = 1 … 10 (tails of the 4-wide loop).
  const cell = fc.constantFrom(0, 1, 2, -1, NaN, -Infinity, Infinity);
  const shape = fc.record({
    planes: fc.integer({ min: 1, max: 3 }),
    h: fc.integer({ min: 2, max: 9 }),
    w: fc.integer({ min: 2, max: 21 }),
  });
  fc.assert(
    fc.property(
      shape.chain((d) =>
        fc.tuple(fc.constant(d), fc.array(cell, { minLength: d.planes * d.h * d.w, maxLength: d.planes * d.h * d.w })),
      ),
      ([d, cells]) => {
        const info = pool2dInfo('test', [1, d.planes, d.h, d.w], [2, 2], { stride: 2 });
        const outSize = d.planes * info.outHeight * info.outWidth;
        checkMaxPool(
          info,
          Float32Array.from(cells),
          Float32Array.from({ length: outSize }, (_, i) => i + 1),
        );
      },
    ),
    { numRuns: 200 },
  );
});

test('batch normalisation: channel moments, apply and backward, with and without scale and shift, with and without a fused ReLU', () => {
  // Batches past 16 images sum in parts of several images, the last part shorter (normalization.ts).
  const dims = fc.record({
    n: fc.integer({ min: 1, max: 40 }),
    c: fc.integer({ min: 1, max: 6 }),
    l: fc.integer({ min: 1, max: 23 }),
    affine: fc.boolean(),
    relu: fc.boolean(),
    seed: fc.integer({ min: 0, max: 1 << 20 }),
  });
  fc.assert(
    fc.property(dims, (d) => {
      const size = d.n * d.c * d.l;
      const perC = (f: (c: number) => number) => Float32Array.from({ length: d.c }, (_, c) => f(c));
      const mean = perC((c) => 0.3 * c - 0.2),
        invstd = perC((c) => 0.5 + 0.25 * c),
        scale = perC((c) => 1.5 - 0.2 * c),
        shift = perC((c) => 0.1 * c);
      // With the ReLU, x is chosen so that y = (x − mean)·k + b lies at least 0.05 from 0: the two backends round y
      // differently, and a y within rounding of 0 could take the ReLU's two sides (where y is 0 exactly, the fused
      // op is compared with BatchNorm then ReLU, bit for bit, in nn.test.ts).
      const channel = (i: number) => Math.floor(i / d.l) % d.c;
      const k = (c: number) => invstd[c] * (d.affine ? scale[c] : 1),
        b = (c: number) => (d.affine ? shift[c] : 0);
      const target = (i: number) => (i % 3 === 0 ? -1 : 1) * (0.05 + 2 * Math.abs(Math.sin(i * 1.7 + d.seed)));
      const x = Float32Array.from({ length: size }, (_, i) =>
        d.relu ? mean[channel(i)] + (target(i) - b(channel(i))) / k(channel(i)) : Math.sin(i * 1.7 + d.seed) * 3 + 1,
      );
      const dy = Float32Array.from({ length: size }, (_, i) => Math.cos(i * 0.9 + d.seed));
      const run = (be: Backend, [sx, sdy, sm, ss, sw, sb]: unknown[]) => {
        const mo = be.channelMoments(sx, d, 'float32');
        const [sc, sh] = [d.affine ? sw : null, d.affine ? sb : null];
        const y = d.relu
          ? be.fusedBatchNormReluApply(sx, sm, ss, sc, sh, d, 'float32')
          : be.batchNormApply(sx, sm, ss, sc, sh, d, 'float32');
        const g = d.relu
          ? be.fusedBatchNormReluBackward(sdy, sx, sm, ss, sc, y, d, 'float32')
          : be.batchNormBackward(sdy, sx, sm, ss, sc, d, 'float32');
        return [
          view(be, mo.mean, d.c),
          view(be, mo.variance, d.c),
          view(be, y, size),
          view(be, g.dx, size),
          view(be, g.sumDy, d.c),
          view(be, g.sumDyXhat, d.c),
        ].map((v) => Array.from(v));
      };
      const [r, w] = both(run, [x, dy, mean, invstd, scale, shift]);
      const names = ['mean', 'variance', 'apply', 'dx', 'sumDy', 'sumDyXhat'];
      names.forEach((name, k) => closeTo(w[k], r[k], d.n * d.l, `${name} ${JSON.stringify(d)}`));
      // Every third target is negative: the ReLU zeroes some values and, from 2 values on, passes others.
      if (d.relu) assert.ok(r[2].every((v) => v >= 0) && (size < 2 || r[2].some((v) => v > 0)), 'the ReLU clamped y');
    }),
    { numRuns: 150 },
  );
});

test('optimizer updates in place: SGD (momentum, dampening, nesterov, first step) and Adam (L2, decoupled, amsgrad)', () => {
  const hyper = fc.record({
    n: fc.integer({ min: 1, max: 37 }),
    lr: fc.constantFrom(0.1, 0.01),
    momentum: fc.constantFrom(0, 0.9),
    dampening: fc.constantFrom(0, 0.3),
    weightDecay: fc.constantFrom(0, 5e-4, 0.01),
    first: fc.boolean(),
    decoupled: fc.boolean(),
    amsgrad: fc.boolean(),
    step: fc.integer({ min: 1, max: 5 }),
  });
  fc.assert(
    fc.property(hyper, (h) => {
      const arr = (k: number, positive = false) =>
        Float32Array.from({ length: h.n }, (_, i) =>
          positive ? 0.01 + Math.abs(Math.sin(i + k)) : Math.sin(i * 1.3 + k),
        );
      const inputs = [arr(1), arr(2), arr(3), arr(4), arr(5, true), arr(6, true)];
      const nesterov = h.momentum > 0 && h.dampening === 0 && h.first;
      const run = (be: Backend, [p, g, buf, m, v, vmax]: unknown[]) => {
        be.sgdUpdate(
          p,
          g,
          h.momentum ? buf : null,
          {
            lr: h.lr,
            momentum: h.momentum,
            dampening: h.dampening,
            weightDecay: h.weightDecay,
            nesterov,
            first: h.first,
          },
          'float32',
        );
        be.adamUpdate(
          p,
          g,
          m,
          v,
          h.amsgrad ? vmax : null,
          {
            lr: h.lr,
            beta1: 0.9,
            beta2: 0.999,
            eps: 1e-8,
            weightDecay: h.weightDecay,
            decoupled: h.decoupled,
            step: h.step,
          },
          'float32',
        );
        return [p, buf, m, v, vmax].map((s) => Array.from(view(be, s, h.n)));
      };
      const [r, w] = both(run, inputs);
      ['p', 'momentum', 'exp_avg', 'exp_avg_sq', 'max_exp_avg_sq'].forEach((name, k) =>
        closeTo(w[k], r[k], 4, `${name} ${JSON.stringify(h)}`),
      );
    }),
    { numRuns: 150 },
  );
});

test('log-softmax rows and its backward, large logits and every row length', () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 1, max: 9 }),
      fc.integer({ min: 1, max: 37 }),
      fc.constantFrom(0, 80, 1000),
      (rows, cols, offset) => {
        const x = Float32Array.from({ length: rows * cols }, (_, i) => Math.sin(i * 0.77) * 5 + offset);
        const g = Float32Array.from({ length: rows * cols }, (_, i) => Math.cos(i * 1.3));
        const [r, w] = both(
          (be, [sx, sg]) => {
            const y = be.logSoftmax(sx, rows, cols, 'float32');
            return [
              view(be, y, rows * cols),
              view(be, be.logSoftmaxBackward(sg, y, rows, cols, 'float32'), rows * cols),
            ].map((v) => Array.from(v));
          },
          [x, g],
        );
        closeTo(w[0], r[0], cols, `logSoftmax ${rows}x${cols} +${offset}`);
        closeTo(w[1], r[1], cols, `logSoftmaxBackward ${rows}x${cols} +${offset}`);
      },
    ),
    { numRuns: 150 },
  );
});

test('covariance, batched, every size (a row-by-row kernel up to 16 features, GEMM past)', () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 1, max: 3 }),
      fc.integer({ min: 1, max: 40 }),
      fc.integer({ min: 1, max: 21 }),
      (batch, n, d) => {
        const x = Float32Array.from({ length: batch * n * d }, (_, i) => Math.sin(i * 0.61));
        const [r, w] = both(
          (be, [sx]) => [Array.from(view(be, be.covariance(sx, batch, n, d, 1e-3, 'float32'), batch * d * d))],
          [x],
        );
        closeTo(w[0], r[0], n, `covariance b=${batch} n=${n} d=${d}`);
      },
    ),
    { numRuns: 120 },
  );
  // From 128 features, by upper blocks of 64 columns (tails included), mirrored: exactly symmetric.
  fc.assert(
    fc.property(
      fc.integer({ min: 1, max: 2 }),
      fc.integer({ min: 1, max: 300 }),
      fc.integer({ min: 128, max: 200 }),
      (batch, n, d) => {
        const x = Float32Array.from({ length: batch * n * d }, (_, i) => Math.sin(i * 0.61) + 0.1);
        const [r, w] = both(
          (be, [sx]) => [Array.from(view(be, be.covariance(sx, batch, n, d, 1e-3, 'float32'), batch * d * d))],
          [x],
        );
        closeTo(w[0], r[0], n, `covariance b=${batch} n=${n} d=${d}`);
        for (let b = 0; b < batch; b++)
          for (let i = 0; i < d; i++)
            for (let j = 0; j < i; j++)
              assert.ok(
                Object.is(w[0][(b * d + i) * d + j], w[0][(b * d + j) * d + i]),
                `covariance d=${d}: [${i}][${j}]`,
              );
      },
    ),
    { numRuns: 12 },
  );
  // Long enough for the row-by-row kernel to split its row pairs across threads (odd and even d).
  for (const [n, d] of [
    [20000, 5],
    [1100, 16],
    [3300, 9],
  ]) {
    const x = Float32Array.from({ length: n * d }, (_, i) => Math.sin(i * 0.61));
    const [r, w] = both((be, [sx]) => [Array.from(view(be, be.covariance(sx, 1, n, d, 1e-3, 'float32'), d * d))], [x]);
    closeTo(w[0], r[0], 10, `covariance n=${n} d=${d}`); // normalised by n: rounding ~√n·eps, far below a wrong row's error
  }
});

test('Newton–Schulz inverse square root and its backward pass, batched, every size and step count', () => {
  // Sizes up to 37, and some past 50, where a step's independent products run side by side on two threads.
  const large = fc.tuple(fc.constant(1), fc.integer({ min: 51, max: 90 }), fc.integer({ min: 1, max: 5 }));
  fc.assert(
    fc.property(
      fc.oneof(
        fc.tuple(fc.integer({ min: 1, max: 3 }), fc.integer({ min: 1, max: 37 }), fc.integer({ min: 0, max: 6 })),
        large,
      ),
      ([batch, d, nIter]) => {
        // Covariances of sin-patterned samples (symmetric positive definite), and an arbitrary upstream gradient.
        const n = d + 5;
        const xs = Float32Array.from({ length: batch * n * d }, (_, i) => Math.sin(i * 0.61) + Math.cos(i * 0.13));
        const g = Float32Array.from({ length: batch * d * d }, (_, i) => Math.cos(i * 0.37));
        const layout = new NewtonSchulzLayout(batch, d, nIter);
        const [r, w] = both(
          (be, [sx, sg]) => {
            const a = be.covariance(sx, batch, n, d, 0.1, 'float32');
            const { out, iterates } = be.newtonSchulz(a, batch, d, nIter, 'float32');
            const ga = be.newtonSchulzBackward(sg, a, out, iterates, batch, d, nIter, 'float32');
            return [view(be, out, batch * d * d), view(be, iterates, layout.size), view(be, ga, batch * d * d)].map(
              (v) => Array.from(v),
            );
          },
          [xs, g],
        );
        // Each step is a d-long dot product per element; the backward pass chains 2·nIter of them.
        closeTo(w[0], r[0], d * (nIter + 1), `newtonSchulz b=${batch} d=${d} steps=${nIter}`);
        closeTo(w[1], r[1], d * (nIter + 1), `newtonSchulz iterates b=${batch} d=${d} steps=${nIter}`);
        closeTo(w[2], r[2], d * (2 * nIter + 1), `newtonSchulzBackward b=${batch} d=${d} steps=${nIter}`);
      },
    ),
    { numRuns: 100 },
  );
});

test('Newton–Schulz of symmetric and non-symmetric matrices past the size where products go by upper blocks', () => {
  // From d = 128 a symmetric A's products make their upper blocks of 64 columns and mirror them (sizes with tails),
  // and newtonSchulzSymmetricBackward's chain too; a non-symmetric A of the same size takes the full products.
  fc.assert(
    fc.property(
      fc.oneof(
        fc.tuple(fc.integer({ min: 1, max: 2 }), fc.integer({ min: 1, max: 40 }), fc.integer({ min: 0, max: 6 })),
        fc.tuple(fc.constant(1), fc.integer({ min: 128, max: 200 }), fc.integer({ min: 1, max: 5 })),
      ),
      fc.boolean(),
      ([batch, d, nIter], skew) => {
        const n = d + 5;
        const xs = Float32Array.from({ length: batch * n * d }, (_, i) => Math.sin(i * 0.61) + Math.cos(i * 0.13));
        const g = Float32Array.from({ length: batch * d * d }, (_, i) => Math.cos(i * 0.37));
        const layout = new NewtonSchulzLayout(batch, d, nIter);
        const [r, w] = both(
          (be, [sx, sg]) => {
            let a = be.covariance(sx, batch, n, d, 0.1, 'float32');
            if (skew) {
              // A little asymmetry: the general products, on both backends.
              const v = Float32Array.from(view(be, a, batch * d * d), (x, i) => x + 1e-3 * Math.sin(i));
              a = be.fromArray(v);
            }
            const { out, iterates } = be.newtonSchulz(a, batch, d, nIter, 'float32');
            const ga = be.newtonSchulzSymmetricBackward(sg, a, out, iterates, batch, d, nIter, 'float32');
            return [view(be, out, batch * d * d), view(be, iterates, layout.size), view(be, ga, batch * d * d)].map(
              (v) => Array.from(v),
            );
          },
          [xs, g],
        );
        const what = `b=${batch} d=${d} steps=${nIter}${skew ? ' (not symmetric)' : ''}`;
        closeTo(w[0], r[0], d * (nIter + 1), `newtonSchulz ${what}`);
        closeTo(w[1], r[1], d * (nIter + 1), `newtonSchulz iterates ${what}`);
        if (!skew) closeTo(w[2], r[2], d * (2 * nIter + 1), `newtonSchulzSymmetricBackward ${what}`);
        // The symmetric forward's output is exactly symmetric.
        if (!skew && d >= 128)
          for (let i = 0; i < d; i++)
            for (let j = 0; j < i; j++)
              assert.ok(Object.is(w[0][i * d + j], w[0][j * d + i]), `${what}: out[${i}][${j}]`);
      },
    ),
    { numRuns: 40 },
  );
});

test('the symmetric backward is the symmetric part of the full backward (float64, reference backend)', () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 1, max: 2 }),
      fc.integer({ min: 1, max: 24 }),
      fc.integer({ min: 0, max: 6 }),
      fc.integer({ min: 0, max: 1000 }),
      (batch, d, nIter, seed) => {
        const n = d + 3;
        const xs = Float64Array.from(
          { length: batch * n * d },
          (_, i) => Math.sin((i + seed) * 0.61) + Math.cos(i * 0.13),
        );
        const g = Float64Array.from({ length: batch * d * d }, (_, i) => Math.cos((i + seed) * 0.37));
        const a = js.covariance(js.fromArray(xs), batch, n, d, 0.1, 'float64');
        const { out, iterates } = js.newtonSchulz(a, batch, d, nIter, 'float64');
        const gs = js.fromArray(g);
        const full = js.view(
          js.newtonSchulzBackward(gs, a, out, iterates, batch, d, nIter, 'float64'),
          batch * d * d,
          'float64',
        );
        const sym = js.view(
          js.newtonSchulzSymmetricBackward(gs, a, out, iterates, batch, d, nIter, 'float64'),
          batch * d * d,
          'float64',
        );
        for (let b = 0; b < batch; b++)
          for (let i = 0; i < d; i++)
            for (let j = 0; j < d; j++) {
              const [ij, ji] = [b * d * d + i * d + j, b * d * d + j * d + i];
              const expected = (full[ij] + full[ji]) / 2;
              if (!(Math.abs(sym[ij] - expected) <= 1e-9 * (1 + Math.abs(expected))))
                assert.unreachable(`b=${b} d=${d} steps=${nIter}: [${i}][${j}] is ${sym[ij]}, expected ${expected}`);
            }
      },
    ),
    { numRuns: 100 },
  );
});

test('Newton–Schulz of a zero or non-finite matrix is a clear error on both backends, not NaNs', () => {
  for (const be of [js, wasm]) {
    for (const bad of [new Float32Array(9), Float32Array.from([1, 0, 0, 0, Infinity, 0, 0, 0, 1])]) {
      assert.throws(
        () => be.newtonSchulz(be.fromArray(bad), 1, 3, 5, 'float32'),
        /newtonSchulz: matrix 0 has Frobenius norm (0|Infinity); its inverse square root needs a nonzero, finite matrix/,
      );
    }
  }
});

test('a buffer of the wrong size is a clear error, not a wasm trap', () => {
  assert.throws(
    () =>
      wasm.matmul(
        wasm.fromArray(new Float32Array(5)),
        wasm.fromArray(new Float32Array(6)),
        1,
        2,
        3,
        2,
        false,
        false,
        'float32',
      ),
    /wasm matmul: a has 5 elements, the shapes need 6/,
  );
});

test('running out of wasm memory is a clear error with the sizes', () => {
  const heap = new Heap(new WebAssembly.Memory({ initial: 1, maximum: 2 }), 1024);
  assert.throws(
    () => heap.call('conv2d', [], [1 << 20], [], () => {}),
    /wasm backend: out of memory in conv2d: it needs 4\.0 MiB more, 0\.0 MiB is in use, the memory holds 0\.1 MiB and cannot grow to hold it/,
  );
});

test('the active backend is restored', () => {
  assert.is(activeBackend().name, 'js');
});

test.run();
