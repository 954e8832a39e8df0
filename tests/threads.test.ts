// Multi-threaded kernels: bit-identical to one thread over fast-check shapes; the pool starts and stops cleanly
// (a process that used it exits by itself); a kernel failing in a worker surfaces as a clear error on the caller.
import { execFileSync } from 'node:child_process';
import fc from 'fast-check';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import type { Backend } from '../src/backend/backend.js';
import { activeBackend, getNumThreads, setBackend, setNumThreads } from '../src/backend/index.js';
import { conv2dInfo, pool2dInfo, sizeOf } from '../src/backend/shape_info.js';
import { randn } from '../src/index.js';
import { sgdSteps } from './helpers.js';
import type { WasmBackend } from '../src/backend/wasm/index.js';
import { loadKernels } from '../src/backend/wasm/loader.js';
import { ThreadPool, threadsSupported } from '../src/backend/wasm/thread_pool.js';
import { packingBytes, StepProgram, stepRegions } from '../src/backend/wasm/steps.js';

const test = suite('threads');
let wasm: Backend;
test.before(async () => {
  wasm = await setBackend('wasm');
  // Every kernel call below also checks that no thread wrote past its outputs and scratch.
  (wasm as WasmBackend).setWriteChecks(true);
});
test.after(async () => {
  (wasm as WasmBackend).setWriteChecks(false);
  await setNumThreads(2);
});

/** Deterministic pseudo-random floats from a seed (large inputs without fast-check generating every value). */
function floats(n: number, seed: number): Float32Array {
  let s = seed >>> 0;
  return Float32Array.from({ length: n }, () => ((s = (Math.imul(s, 1103515245) + 12345) >>> 0) / 2 ** 32) * 2 - 1);
}

/** Runs `f` with 1 thread and with `threads`, returning both results. */
async function oneAndMany<T>(threads: number, f: () => T): Promise<[T, T]> {
  await setNumThreads(1);
  const one = f();
  await setNumThreads(threads);
  return [one, f()];
}

test('shared memory is available here, and setNumThreads reports the count in effect', async () => {
  assert.ok(threadsSupported());
  assert.is(await setNumThreads(3), 3);
  assert.is(getNumThreads(), 3);
  try {
    await setNumThreads(0);
    assert.unreachable();
  } catch (e) {
    assert.match((e as Error).message, /setNumThreads: expected a positive integer, got 0/);
  }
});

test('matmul: 2 and 3 threads give bit-identical results to 1, for every shape and transpose', async () => {
  const shapes = fc.record({
    m: fc.integer({ min: 1, max: 200 }),
    k: fc.integer({ min: 1, max: 300 }),
    n: fc.integer({ min: 1, max: 300 }),
    transA: fc.boolean(),
    transB: fc.boolean(),
    threads: fc.constantFrom(2, 3),
    seed: fc.integer({ min: 0, max: 1e6 }),
  });
  await fc.assert(
    fc.asyncProperty(shapes, async (d) => {
      const a = wasm.fromArray(floats(d.m * d.k, d.seed));
      const b = wasm.fromArray(floats(d.k * d.n, d.seed + 1));
      const [one, many] = await oneAndMany(d.threads, () =>
        Array.from(wasm.view(wasm.matmul(a, b, 1, d.m, d.k, d.n, d.transA, d.transB, 'float32'), d.m * d.n, 'float32')),
      );
      return one.every((v, i) => Object.is(v, many[i]));
    }),
    { numRuns: 40 },
  );
});

test('products with a small output over a long reduction (Aᵀ·B, a covariance XᵀX: split by depth): bit-identical across thread counts', async () => {
  const shapes = fc.record({
    m: fc.integer({ min: 1, max: 127 }),
    k: fc.integer({ min: 257, max: 2100 }),
    n: fc.integer({ min: 1, max: 127 }),
    transB: fc.boolean(),
    threads: fc.constantFrom(2, 3),
    seed: fc.integer({ min: 0, max: 1e6 }),
  });
  await fc.assert(
    fc.asyncProperty(shapes, async (d) => {
      const a = wasm.fromArray(floats(d.m * d.k, d.seed));
      const b = wasm.fromArray(floats(d.k * d.n, d.seed + 1));
      const x = wasm.fromArray(floats(2 * d.k * d.n, d.seed + 2));
      const [one, many] = await oneAndMany(d.threads, () => [
        ...wasm.view(wasm.matmul(a, b, 1, d.m, d.k, d.n, true, d.transB, 'float32'), d.m * d.n, 'float32'),
        ...wasm.view(wasm.covariance(x, 2, d.k, d.n, 0.1, 'float32'), 2 * d.n * d.n, 'float32'),
      ]);
      return one.every((v, i) => Object.is(v, many[i]));
    }),
    { numRuns: 30 },
  );
});

test('matmul A·Bᵀ over long reductions (the dot-product kernel, split by rows or columns): bit-identical across thread counts', async () => {
  const shapes = fc.record({
    m: fc.integer({ min: 1, max: 48 }),
    n: fc.integer({ min: 1, max: 48 }),
    k: fc.integer({ min: 20000, max: 40000 }),
    threads: fc.constantFrom(2, 3),
    seed: fc.integer({ min: 0, max: 1e6 }),
  });
  await fc.assert(
    fc.asyncProperty(shapes, async (d) => {
      const a = wasm.fromArray(floats(d.m * d.k, d.seed));
      const b = wasm.fromArray(floats(d.k * d.n, d.seed + 1));
      const [one, many] = await oneAndMany(d.threads, () =>
        Array.from(wasm.view(wasm.matmul(a, b, 1, d.m, d.k, d.n, false, true, 'float32'), d.m * d.n, 'float32')),
      );
      return one.every((v, i) => Object.is(v, many[i]));
    }),
    { numRuns: 25 },
  );
});

test('conv2d forward (with and without bias) and both backward passes: bit-identical across thread counts', async () => {
  const geometry = fc.record({
    batch: fc.integer({ min: 1, max: 5 }),
    c: fc.integer({ min: 1, max: 9 }),
    // From 32 output channels the filter gradient takes the packed kernel.
    o: fc.integer({ min: 2, max: 40 }),
    hw: fc.integer({ min: 4, max: 14 }),
    k: fc.constantFrom(1, 3),
    stride: fc.integer({ min: 1, max: 2 }),
    seed: fc.integer({ min: 0, max: 1e6 }),
  });
  await fc.assert(
    fc.asyncProperty(geometry, async (g) => {
      const info = conv2dInfo('t', [g.batch, g.c, g.hw, g.hw], [g.o, g.c, g.k, g.k], {
        stride: g.stride,
        padding: g.k >> 1,
      });
      const x = wasm.fromArray(floats(g.batch * g.c * g.hw * g.hw, g.seed));
      const w = wasm.fromArray(floats(g.o * g.c * g.k * g.k, g.seed + 1));
      const dy = wasm.fromArray(floats(g.batch * g.o * info.outHeight * info.outWidth, g.seed + 2));
      const bias = wasm.fromArray(floats(g.o, g.seed + 3));
      const values = (s: unknown) => Array.from(wasm.view(s, (s as { size: number }).size, 'float32'));
      const run = () => [
        values(wasm.conv2d(x, w, null, info, 'float32')),
        values(wasm.conv2d(x, w, bias, info, 'float32')),
        values(wasm.conv2dBackwardInput(dy, w, info, 'float32')),
        values(wasm.conv2dBackwardFilter(x, dy, info, 'float32')),
      ];
      const [one, many] = await oneAndMany(2, run);
      return one.every((arr, j) => arr.every((v, i) => Object.is(v, many[j][i])));
    }),
    // Also a shape whose patches (288 rows × 400 pixels per image) fill a call's chunk with one image, and packed
    // filter gradients in one part of the batch (fewer parts than threads: each product split across threads) and
    // in several.
    {
      numRuns: 25,
      examples: [
        [{ batch: 6, c: 32, o: 8, hw: 20, k: 3, stride: 1, seed: 7 }],
        [{ batch: 3, c: 8, o: 36, hw: 4, k: 3, stride: 1, seed: 8 }],
        [{ batch: 6, c: 32, o: 33, hw: 20, k: 3, stride: 1, seed: 9 }],
        // Winograd 3×3 convolutions: one image (fewer than the threads), parts of the filter gradient across
        // threads, by dot products and by the packed kernel.
        [{ batch: 1, c: 8, o: 9, hw: 7, k: 3, stride: 1, seed: 10 }],
        [{ batch: 5, c: 8, o: 9, hw: 32, k: 3, stride: 1, seed: 11 }],
        [{ batch: 5, c: 8, o: 33, hw: 24, k: 3, stride: 1, seed: 12 }],
        // More chunks of images than parts: each part sums several chunks.
        [{ batch: 36, c: 8, o: 33, hw: 32, k: 3, stride: 1, seed: 13 }],
      ],
    },
  );
});

test('batch norm over batches summed in parts of several images (the last shorter): bit-identical across thread counts', async () => {
  const sizes = fc.record({
    n: fc.integer({ min: 17, max: 70 }),
    c: fc.integer({ min: 1, max: 5 }),
    l: fc.integer({ min: 150, max: 400 }),
    relu: fc.boolean(),
    threads: fc.constantFrom(2, 3),
    seed: fc.integer({ min: 0, max: 1e6 }),
  });
  await fc.assert(
    fc.asyncProperty(sizes, async (d) => {
      const size = d.n * d.c * d.l;
      const x = wasm.fromArray(floats(size, d.seed));
      const dy = wasm.fromArray(floats(size, d.seed + 1));
      const perChannel = wasm.fromArray(floats(d.c, d.seed + 2));
      const values = (s: unknown, n: number) => Array.from(wasm.view(s, n, 'float32'));
      const run = () => {
        const mo = wasm.channelMoments(x, d, 'float32');
        const pc = perChannel;
        const y = d.relu
          ? wasm.fusedBatchNormReluApply(x, mo.mean, pc, pc, pc, d, 'float32')
          : wasm.batchNormApply(x, mo.mean, pc, pc, pc, d, 'float32');
        const g = d.relu
          ? wasm.fusedBatchNormReluBackward(dy, x, mo.mean, pc, pc, y, d, 'float32')
          : wasm.batchNormBackward(dy, x, mo.mean, pc, pc, d, 'float32');
        return [
          values(mo.mean, d.c),
          values(mo.variance, d.c),
          values(y, size),
          values(g.dx, size),
          values(g.sumDy, d.c),
          values(g.sumDyXhat, d.c),
        ];
      };
      const [one, many] = await oneAndMany(d.threads, run);
      return one.every((arr, j) => arr.every((v, i) => Object.is(v, many[j][i])));
    }),
    { numRuns: 15 },
  );
});

test('elementwise, broadcasting, data movement, pooling, im2col/col2im, batch norm: bit-identical across thread counts at sizes that split', async () => {
  const sizes = fc.record({
    n: fc.integer({ min: 1, max: 3 }),
    c: fc.integer({ min: 1, max: 40 }),
    hw: fc.integer({ min: 30, max: 70 }),
    threads: fc.constantFrom(2, 3),
    seed: fc.integer({ min: 0, max: 1e6 }),
  });
  await fc.assert(
    fc.asyncProperty(sizes, async (d) => {
      const shape = [d.n, d.c, d.hw, d.hw];
      const size = d.n * d.c * d.hw * d.hw;
      const x = wasm.fromArray(floats(size, d.seed));
      const perChannel = wasm.fromArray(floats(d.c, d.seed + 1));
      const perRow = wasm.fromArray(floats(d.hw, d.seed + 3));
      const pool = pool2dInfo('t', shape, [2, 2], { stride: 2 });
      const avg = pool2dInfo('t', shape, [3, 3], { stride: 2, padding: 1 });
      const cols = { ...conv2dInfo('t', shape, [1, d.c, 3, 3], { padding: 1 }) };
      const values = (s: unknown, n: number) => Array.from(wasm.view(s, n, 'float32'));
      const poolOut = d.n * d.c * pool.outHeight * pool.outWidth;
      const avgOut = d.n * d.c * avg.outHeight * avg.outWidth;
      const run = () => {
        const mp = wasm.maxPool2dWithArgmax(x, pool, 'float32');
        return [
          values(wasm.unary('tanh', x, size, 'float32'), size),
          values(wasm.reluBackward(wasm.fromArray(floats(size, d.seed + 5)), x, size, 'float32'), size),
          values(wasm.clamp(x, size, -0.3, 0.4, 'float32'), size),
          values(wasm.binary('mul', x, shape, x, shape, shape, 'float32'), size),
          values(wasm.binary('sub', x, shape, perChannel, [d.c, 1, 1], shape, 'float32'), size),
          values(wasm.binary('div', perRow, [d.hw, 1], x, shape, shape, 'float32'), size),
          values(wasm.permute(x, shape, [0, 2, 3, 1], 'float32'), size),
          ...[[0, 2, 3], [0], [1], [2, 3], [0, 2], [3], [0, 1, 2, 3]].map((axes) =>
            values(wasm.reduceSum(x, shape, axes, 'float32'), sizeOf(shape.map((s, i) => (axes.includes(i) ? 1 : s)))),
          ),
          values(wasm.expand(perChannel, [d.c, 1, 1], shape, 'float32'), size),
          values(
            wasm.pad(x, shape, [0, 1, 0, 2], [1, 0, 3, 0], 0.5, 'float32'),
            (d.n + 1) * (d.c + 1) * (d.hw + 3) * (d.hw + 2),
          ),
          values(mp.values, poolOut),
          Array.from(mp.indices),
          values(wasm.maxPool2d(x, pool, 'float32'), poolOut),
          values(wasm.maxPool2dBackward(wasm.fromArray(floats(poolOut, d.seed + 4)), x, pool, 'float32'), size),
          values(wasm.fusedReluMaxPool2d(x, avg, 'float32'), avgOut),
          values(
            wasm.fusedReluMaxPool2dBackward(wasm.fromArray(floats(poolOut, d.seed + 4)), x, pool, 'float32'),
            size,
          ),
          values(wasm.avgPool2d(x, avg, 'float32'), avgOut),
          values(wasm.avgPool2dBackward(wasm.fromArray(floats(avgOut, d.seed + 2)), avg, 'float32'), size),
          values(wasm.col2im(wasm.im2col(x, cols, 'float32'), cols, 'float32'), size),
          ...(() => {
            const ncl = { n: d.n, c: d.c, l: d.hw * d.hw };
            const mo = wasm.channelMoments(x, ncl, 'float32');
            const g = wasm.batchNormBackward(x, x, mo.mean, perChannel, perChannel, ncl, 'float32');
            return [
              values(mo.mean, d.c),
              values(mo.variance, d.c),
              values(wasm.batchNormApply(x, mo.mean, perChannel, perChannel, null, ncl, 'float32'), size),
              values(g.dx, size),
              values(g.sumDyXhat, d.c),
            ];
          })(),
        ];
      };
      const [one, many] = await oneAndMany(d.threads, run);
      return one.every((arr, j) => arr.every((v, i) => Object.is(v, many[j][i])));
    }),
    { numRuns: 20 },
  );
});

test('covariance of 128 features and more (upper blocks side by side): bit-identical across thread counts', async () => {
  const sizes = fc.record({
    d: fc.integer({ min: 128, max: 260 }),
    n: fc.integer({ min: 1, max: 400 }),
    threads: fc.constantFrom(2, 3),
    seed: fc.integer({ min: 0, max: 1e6 }),
  });
  await fc.assert(
    fc.asyncProperty(sizes, async ({ d, n, threads, seed }) => {
      const x = wasm.fromArray(floats(n * d, seed));
      const [one, many] = await oneAndMany(threads, () =>
        Array.from(wasm.view(wasm.covariance(x, 1, n, d, 0.1, 'float32'), d * d, 'float32')),
      );
      return one.every((v, i) => Object.is(v, many[i]));
    }),
    { numRuns: 10 },
  );
});

test('covariance of up to 16 features (row pairs split across threads): bit-identical across thread counts', async () => {
  const sizes = fc.record({
    batch: fc.integer({ min: 1, max: 2 }),
    d: fc.integer({ min: 1, max: 16 }),
    extra: fc.integer({ min: 0, max: 99 }),
    threads: fc.constantFrom(2, 3),
    seed: fc.integer({ min: 0, max: 1e6 }),
  });
  await fc.assert(
    fc.asyncProperty(sizes, async ({ batch, d, extra, threads, seed }) => {
      const n = Math.ceil((1 << 18) / (d * d)) + extra; // enough multiply-adds to split
      const x = wasm.fromArray(floats(batch * n * d, seed));
      const [one, many] = await oneAndMany(threads, () =>
        Array.from(wasm.view(wasm.covariance(x, batch, n, d, 0.1, 'float32'), batch * d * d, 'float32')),
      );
      return one.every((v, i) => Object.is(v, many[i]));
    }),
    { numRuns: 16 },
  );
});

test('Newton–Schulz inverse square root and its backward pass: bit-identical across thread counts', async () => {
  const sizes = fc.record({
    batch: fc.integer({ min: 1, max: 2 }),
    // Past 127 a covariance's products go by upper blocks (and the symmetric backward's too).
    d: fc.oneof(fc.integer({ min: 20, max: 127 }), fc.integer({ min: 128, max: 200 })),
    nIter: fc.integer({ min: 1, max: 5 }),
    threads: fc.constantFrom(2, 3),
    seed: fc.integer({ min: 0, max: 1e6 }),
  });
  await fc.assert(
    fc.asyncProperty(sizes, async ({ batch, d, nIter, threads, seed }) => {
      const n = d + 7;
      const x = wasm.fromArray(floats(batch * n * d, seed));
      const g = wasm.fromArray(floats(batch * d * d, seed + 1));
      const run = () => {
        const a = wasm.covariance(x, batch, n, d, 0.1, 'float32');
        const { out, iterates } = wasm.newtonSchulz(a, batch, d, nIter, 'float32');
        const ga = wasm.newtonSchulzBackward(g, a, out, iterates, batch, d, nIter, 'float32');
        const gs = wasm.newtonSchulzSymmetricBackward(g, a, out, iterates, batch, d, nIter, 'float32');
        return [out, ga, gs].map((s) => Array.from(wasm.view(s, batch * d * d, 'float32')));
      };
      const [one, many] = await oneAndMany(threads, run);
      return one.every((arr, j) => arr.every((v, i) => Object.is(v, many[j][i])));
    }),
    { numRuns: 12 },
  );
});

test('training steps give bit-identical losses and weights on 1 and 2 threads', async () => {
  const x = randn([32, 1, 28, 28]);
  const y = Int32Array.from({ length: 32 }, (_, i) => i % 10);
  const steps = async (threads: number) => {
    await setNumThreads(threads);
    return sgdSteps(4, 3, () => ({ x, y }));
  };
  const one = await steps(1);
  const two = await steps(2);
  assert.equal(two.losses, one.losses);
  assert.ok(
    two.weights.every((w, i) => Object.is(w, one.weights[i])),
    'weights differ',
  );
});

test('a process that used the pool exits by itself when its work is done', () => {
  const script = `
    const m = await import('./dist/index.js');
    await m.setNumThreads(3);
    const a = m.tensor(Array.from({ length: 200 * 200 }, (_, i) => Math.sin(i)), [200, 200]);
    console.log('threads', m.getNumThreads(), 'sum', a.matmul(a).sum().item().toFixed(3));
  `;
  const args = 'Deno' in globalThis ? ['eval', script] : ['--input-type=module', '-e', script];
  const out = execFileSync(process.execPath, args, { encoding: 'utf8', timeout: 30_000 });
  assert.match(out, /threads 3 sum -?\d/);
});

/**
 * Resolves once `cond` holds; fails after 5 s. It is checked continuously for 2 ms at a time, then the event loop
 * runs: a woken worker polls for only 5 ms before it sleeps again, and a runtime may fire a nested timer only every
 * 4 ms (Deno does), so a check per timer could miss that window (this failed once under Deno on a busy machine).
 */
async function until(cond: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 5000;
  for (;;) {
    for (const spinEnd = performance.now() + 2; performance.now() < spinEnd; ) if (cond()) return;
    if (Date.now() > deadline) throw new Error(`not within 5 s: ${what}`);
    await new Promise((r) => setTimeout(r, 1));
  }
}

/** Resolves once no worker of the pool sleeps (each polls for a few milliseconds after waking), waking them again as long as one does. */
async function awake(pool: ThreadPool): Promise<void> {
  await until(() => {
    if (pool.sleeping() > 0) pool.wake();
    return pool.sleeping() === 0;
  }, "the pool's workers wake");
}

test('a worker found asleep is woken, and takes part in a kernel only if it has two calls per thread or more', async () => {
  // The caller's side of the pool is a stand-in that counts its calls (sleeping 20 ms in each); the worker runs the
  // real kernel, a harmless fill past the kernels' data.
  const shared = await loadKernels(true);
  const nap = new Int32Array(new SharedArrayBuffer(4));
  let callerCalls = 0;
  const callerSide = {
    fill_f32: () => {
      callerCalls++;
      Atomics.wait(nap, 0, 0, 20);
    },
  };
  const pool = await ThreadPool.create(1, shared.module, shared.memory, callerSide);
  const run = (count: number) => {
    callerCalls = 0;
    pool.run(
      'fill_f32',
      Array.from({ length: count }, () => [shared.exports.heap_base(), 4, 1]),
      1,
    );
    return callerCalls;
  };
  try {
    await until(() => pool.sleeping() === 1, 'the idle worker sleeps');
    assert.is(run(3), 3, 'three calls: the caller makes them all');
    await until(() => pool.sleeping() === 0, 'the kernel woke the worker');
    assert.ok(run(2) < 2, 'the awake worker takes part in the next kernel');
    await until(() => pool.sleeping() === 1, 'the idle worker sleeps again');
    assert.ok(run(4) < 4, 'four calls: the sleeping worker takes part');
    await until(() => pool.sleeping() === 1, 'the idle worker sleeps again');
    callerCalls = 0;
    pool.run(
      'fill_f32',
      [
        [shared.exports.heap_base(), 4, 1],
        [shared.exports.heap_base() + 16, 4, 1],
      ],
      1,
      undefined,
      [shared.exports.heap_base(), 8, 1],
    );
    assert.is(callerCalls, 1, 'two calls left to the caller, with one call that does both: the caller makes that one');
  } finally {
    pool.close();
  }
});

test("a kernel that fails in a worker surfaces on the caller with the worker's message", async () => {
  // The worker runs the real kernel; the caller's side of the pool is a stand-in that just sleeps 50 ms per call,
  // so the worker surely takes one of the calls — and traps on it: C lies past the end of the memory.
  const shared = await loadKernels(true);
  const nap = new Int32Array(new SharedArrayBuffer(4));
  const callerSide = { gemm_f32: () => Atomics.wait(nap, 0, 0, 50) };
  const pool = await ThreadPool.create(1, shared.module, shared.memory, callerSide);
  try {
    await awake(pool); // a sleeping worker would get no share
    const bad = [0x7ffffff0, 8, 0, 0, 8, 8, 8, 8, 0, 0, 0, 1 << 16];
    assert.throws(
      () =>
        pool.run(
          'gemm_f32',
          Array.from({ length: 20 }, () => bad),
          1,
        ),
      /wasm kernel failed in a worker thread: worker 0: .*out of bounds/i, // V8: "memory access out of bounds"; JavaScriptCore: "Out of bounds memory access"
    );
  } finally {
    pool.close();
  }
});

test('a step program whose step fails on one thread fails on the caller, and leaves no thread waiting for it', async () => {
  // One phase of two chunks, a share for each thread: a product (the caller's, which it works on for a while) and a
  // copy to a pointer past the memory's end (the awake worker's, which traps on it). The caller then waits for the
  // copy to be counted finished: only the failed flag the worker sets lets it go. If the worker comes late, the
  // caller takes the copy itself and traps on it.
  const shared = await loadKernels(true);
  const pool = await ThreadPool.create(1, shared.module, shared.memory, shared.exports);
  const k = shared.exports;
  const d = 256;
  const program = new StepProgram(d).product([0, 0], [1, 0], [2, 0]).copy([3, 0], [1, 0]);
  const layout = program.layout(1);
  const base = Math.ceil(k.heap_base() / 64) * 64;
  const [c, a, b] = [base, base + 4 * d * d, base + 8 * d * d];
  const at = stepRegions(layout, 2, packingBytes(k, d), 4, base + 12 * d * d);
  const end = at.counters + 4 * at.floats;
  if (shared.memory.buffer.byteLength < end)
    shared.memory.grow(Math.ceil((end - shared.memory.buffer.byteLength) / 65536));
  const words = () => new Int32Array(shared.memory.buffer);
  words().set(layout.steps, at.steps >> 2);
  words().set(layout.phases, at.phases >> 2);
  words().set([c, a, b, shared.memory.buffer.byteLength + 4096], at.bases >> 2);
  const args = [at.steps, at.phases, 1, at.bases, at.counters, at.packing, packingBytes(k, d), 2];
  const failures: string[] = [];
  try {
    for (let run = 0; run < 10; run++) {
      await awake(pool);
      words().fill(0, at.counters >> 2, at.steps >> 2);
      try {
        pool.run('run_steps_f32', [args, args], 1, { failedFlag: at.counters + 4 });
        assert.unreachable('the copy traps');
      } catch (e) {
        failures.push((e as Error).message);
      }
    }
    for (const message of failures) assert.match(message, /out of bounds/i);
    assert.ok(
      failures.some((m) => /wasm kernel failed in a worker thread: worker 0/.test(m)),
      `the worker trapped at least once: ${failures.join(' | ')}`,
    );
  } finally {
    pool.close();
  }
});

test('the active backend is left as the wasm backend', () => {
  assert.is(activeBackend().name, 'wasm');
});

test.run();
