// The wasm backend's storage: tensors live in wasm memory; blocks are reused; backward() frees its intermediate
// gradients at once; the garbage collector frees unreachable storages between tasks; spilling bounds the memory in
// loops that never yield and loses no value.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { setBackend } from '../src/backend/index.js';
import { Heap, WasmStorage } from '../src/backend/wasm/heap.js';
import type { WasmBackend } from '../src/backend/wasm/index.js';
import {
  DEFAULT_TRAIN_CONFIG,
  evaluate,
  fit,
  manualSeed,
  memoryInfo,
  nn,
  optim,
  scoped,
  tensor,
} from '../src/index.js';
import { loadEmbeddedMnist } from '../src/node/data.js';
import { sgdSteps } from './helpers.js';

const test = suite('wasm heap');
let wasm: WasmBackend;
test.before(async () => {
  wasm = (await setBackend('wasm')) as WasmBackend;
});
test.after(async () => {
  wasm.setMemoryBudget(128 * 2 ** 20);
  await setBackend('js');
});

const { train } = loadEmbeddedMnist().split(500, 0);
const batches = [...train.subset(Int32Array.from({ length: 96 }, (_, i) => i)).batches(16, { shuffle: true, seed: 3 })];

/** A few SGD steps of the deconvolution CNN on the embedded digits. */
const trainSteps = (steps: number) => sgdSteps(5, steps, (step) => batches[step % batches.length]);

test("a tensor's values are a view of the wasm memory: kernels read and write them in place", () => {
  const t = tensor([1, 2, 3, 4]).mul(2);
  assert.ok(t.storage instanceof WasmStorage);
  const v = t.data;
  assert.is(v.buffer.byteLength, wasm.wasmMemoryBytes(), 'a view of the whole wasm memory');
  assert.equal(Array.from(v), [2, 4, 6, 8]);
  v[0] = 10; // writes through
  assert.equal(t.add(0).toArray(), [10, 4, 6, 8]);
});

test('memoryInfo() reports the wasm memory and the heap', () => {
  const kept = tensor([1, 2, 3]);
  const info = memoryInfo()!;
  assert.is(info.wasmBytes, wasm.wasmMemoryBytes());
  assert.ok(info.residentStorages >= 1 && info.usedBytes > 0 && info.usedBytes <= info.topBytes, JSON.stringify(info));
  assert.is(kept.size, 3);
});

test('spilling loses nothing: with a tiny budget, training gives bit-identical losses and weights', () => {
  const normal = trainSteps(6);
  const before = wasm.heapStats().spills;
  wasm.setMemoryBudget(2 ** 20);
  const spilled = trainSteps(6);
  wasm.setMemoryBudget(128 * 2 ** 20);
  // The budget doubles after each spill that follows a step (the steps outgrow it): six steps, six spills.
  assert.ok(wasm.heapStats().spills - before >= 6, `spills: ${wasm.heapStats().spills - before}`);
  assert.equal(spilled.losses, normal.losses);
  assert.ok(
    spilled.weights.every((w, i) => Object.is(w, normal.weights[i])),
    'weights differ',
  );
});

test('spills thrashing on a working set larger than the budget double the budget', () => {
  wasm.setMemoryBudget(2 ** 20);
  trainSteps(4);
  const grown = wasm.heapStats().budgetBytes;
  wasm.setMemoryBudget(128 * 2 ** 20);
  assert.ok(grown >= 4 * 2 ** 20, `budget after thrashing: ${grown}`);
});

test("backward frees every intermediate gradient when it ends, and keeps the leaves' .grad", () => {
  const x = tensor(
    [
      [1, -2, 3],
      [0.5, 4, -1],
    ],
    undefined,
    { requiresGrad: true },
  );
  const w = tensor(
    [
      [0.2, -0.1],
      [0.3, 0.5],
      [-0.4, 0.1],
    ],
    undefined,
    { requiresGrad: true },
  );
  const before = wasm.heapStats().freedByScope;
  x.matmul(w).relu().mul(3).sum().backward();
  assert.ok(wasm.heapStats().freedByScope - before >= 3, 'intermediate gradients freed');
  // The leaves' gradients survive, with the right values: d/dx = 3·1[xw > 0]·wᵀ.
  const xw = [
    [1 * 0.2 - 2 * 0.3 - 3 * 0.4, -0.1 - 1 + 0.3],
    [0.1 + 1.2 + 0.4, -0.05 + 2 - 0.1],
  ];
  const gx = xw.flatMap((row) =>
    [0, 1, 2].map((i) =>
      row.reduce(
        (acc, v, j) =>
          acc +
          (v > 0
            ? 3 *
              [
                [0.2, -0.1],
                [0.3, 0.5],
                [-0.4, 0.1],
              ][i][j]
            : 0),
        0,
      ),
    ),
  );
  x.grad!.toArray().forEach((g, i) => assert.ok(Math.abs(g - gx[i]) < 1e-6, `x.grad[${i}] = ${g}, expected ${gx[i]}`));
  assert.is(w.grad!.shape.join(), '3,2');
});

test("backward frees each consumed gradient and each op's temporaries as it goes: memory peaks near the forward's", () => {
  const n = 1 << 18; // 1 MiB per tensor
  const x = tensor(
    Array.from({ length: n }, (_, i) => Math.sin(i)),
    [n],
    { requiresGrad: true },
  );
  const reference = scoped(
    () => {
      let y = x;
      for (let i = 0; i < 20; i++) y = y.tanh(); // each saves its output: 20 MiB held for backward
      const afterForward = wasm.heapStats().usedBytes;
      let peak = afterForward;
      const probe = wasm.binary;
      wasm.binary = (...args) => {
        const out = probe(...args);
        peak = Math.max(peak, wasm.heapStats().usedBytes);
        return out;
      };
      try {
        y.sum().backward();
      } finally {
        wasm.binary = probe;
      }
      // Each tanh's backward makes ~3 tensors: kept to the end, 20 layers would add ~60 MiB.
      assert.ok(
        peak - afterForward < 8 * 2 ** 20,
        `backward peaked ${((peak - afterForward) / 2 ** 20).toFixed(1)} MiB above the forward`,
      );
      return x.grad!.toArray().slice(0, 4);
    },
    () => [x, x.grad],
  );
  // The gradient itself: d/dx of tanh²⁰, checked on the first elements in float64.
  reference.forEach((g, i) => {
    let v = Math.sin(i);
    let d = 1;
    for (let k = 0; k < 20; k++) {
      v = Math.tanh(v);
      d *= 1 - v * v;
    }
    assert.ok(Math.abs(g - d) < 1e-4, `x.grad[${i}] = ${g}, expected ${d}`);
  });
});

test('backward keeps a gradient that two inputs share, or that a leaf keeps, however it is passed through', () => {
  const x = tensor([1, 2, 3, 4], [4], { requiresGrad: true });
  const h = x.mul(2);
  // add passes its gradient through to both inputs (one storage for x's path and h's); reshape shares storage.
  h.add(x)
    .reshape([2, 2])
    .add(x.reshape([2, 2]))
    .sum()
    .backward();
  assert.equal(x.grad!.toArray(), [4, 4, 4, 4]);
});

test('a training step reuses the blocks of the last: the heap top stops growing', () => {
  const tops: number[] = [];
  manualSeed(2);
  const model = nn.mnistCnn();
  const opt = new optim.SGD(model.parameters(), { lr: 0.01 });
  for (let step = 0; step < 12; step++) {
    const { x, y } = batches[step % batches.length];
    opt.zeroGrad();
    nn.functional.crossEntropy(model.forward(x), y).backward();
    opt.step();
    tops.push(wasm.heapStats().topBytes);
  }
  // Between spills the top only grows by the forward pass's new blocks; across a spill it restarts. Its maximum
  // stays within twice the budget (the fragmentation bound).
  assert.ok(Math.max(...tops) <= 2 * wasm.heapStats().budgetBytes, `tops ${tops.join(', ')}`);
});

test('a training loop that never yields keeps its memory flat: zeroGrad frees the gradients backward made', () => {
  manualSeed(4);
  const model = nn.mnistCnn({ deconv: true });
  const opt = new optim.SGD(model.parameters(), { lr: 0.01, momentum: 0.9 });
  const keep = () => [
    ...model.parameters(),
    ...model.parameters().map((p) => p.grad),
    ...model.buffers(),
    ...opt.stateTensors(),
  ];
  const step = (i: number) =>
    scoped(() => {
      const { x, y } = batches[i % batches.length];
      opt.zeroGrad();
      nn.functional.crossEntropy(model.forward(x), y).backward();
      opt.step();
    }, keep);
  for (let i = 0; i < 3; i++) step(i);
  const before = wasm.heapStats();
  for (let i = 0; i < 200; i++) step(i);
  const after = wasm.heapStats();
  // Every step's gradients were freed by the next zeroGrad, not left for the GC (whose callbacks cannot run here).
  assert.is(after.residentStorages, before.residentStorages, 'resident storages');
  assert.is(after.usedBytes, before.usedBytes, 'bytes in use');
  assert.is(after.spills, before.spills, 'spills');
});

test('a gradient kept past zeroGrad is released (a clear error), its clone lives on; a shared one is not freed', () => {
  const w = tensor([1, 2, 3], [3], { requiresGrad: true });
  w.mul(w).sum().backward();
  const old = w.grad!;
  const copy = old.clone();
  const opt = new optim.SGD([w], { lr: 0.1 });
  opt.zeroGrad();
  assert.is(w.grad, null);
  assert.throws(
    () => old.toArray(),
    /a tensor of 3 floats \(made by .*\) was read after it was freed when zeroGrad\(\) dropped it/,
  );
  assert.equal(copy.toArray(), [2, 4, 6]);
  // add passes one gradient storage to both leaves: neither owns it alone, so dropping one leaves the other intact.
  const a = tensor([1, 2], [2], { requiresGrad: true });
  const b = tensor([3, 4], [2], { requiresGrad: true });
  a.add(b).sum().backward();
  new optim.SGD([a], { lr: 0.1 }).zeroGrad();
  assert.equal(b.grad!.toArray(), [1, 1]);
  // A second backward accumulates: the summed gradient replaces (and frees) the first.
  const first = b.grad!;
  a.add(b).sum().backward();
  assert.equal(b.grad!.toArray(), [2, 2]);
  assert.is.not(b.grad, first);
});

/**
 * Runs `make` (which drops what it makes) until the garbage collector has freed a storage, at most 400 rounds; the
 * rounds it took, or null. Finalization callbacks run after a collection, between tasks: each round churns the JS
 * heap and yields.
 */
const forceGc: (() => void) | undefined =
  (globalThis as any).gc ?? ((globalThis as any).Bun ? () => (globalThis as any).Bun.gc(true) : undefined);

async function roundsUntilGcFrees(make: () => void): Promise<number | null> {
  const before = wasm.heapStats().freedByGc;
  for (let rounds = 1; rounds <= 400; rounds++) {
    make();
    const churn: number[][] = [];
    for (let i = 0; i < 200; i++) churn.push(new Array(10_000).fill(i));
    // Where the runtime offers it (scripts/test.mjs passes --expose-gc), a full collection each round: whether the
    // churn alone triggers one in time is up to each engine's heuristics.
    forceGc?.();
    await new Promise((r) => setTimeout(r, 0));
    if (wasm.heapStats().freedByGc > before) return rounds;
  }
  return null;
}

test('storages nobody holds are freed by the garbage collector between tasks', async () => {
  const rounds = await roundsUntilGcFrees(() => {
    for (let i = 0; i < 2000; i++) tensor([i, i + 1, i + 2]).mul(2); // results dropped at once
  });
  assert.ok(rounds !== null, 'no storage freed by the GC after 400 rounds');
});

test('a storage a scope hands out to no enclosing scope is freed by the garbage collector once dropped', async () => {
  // Storages a scope owns are not registered with the collector (the scope frees them); those kept past the
  // outermost scope must be registered then.
  const input = tensor([1, 2, 3]); // held throughout: only storages made inside the scopes are dropped
  const rounds = await roundsUntilGcFrees(() => {
    for (let i = 0; i < 500; i++) {
      let kept = input;
      scoped(
        () => void (kept = input.mul(2).add(i)),
        () => [kept],
      ); // kept out of the scope, then dropped
    }
  });
  assert.ok(rounds !== null, 'no kept storage freed by the GC after 400 rounds');
});

test('scoped() frees what its function allocated except what keep() names; a freed tensor gives a clear error', () => {
  const a = tensor([1, 2, 3]);
  let inner = a;
  let kept = a;
  const n = scoped(
    () => {
      inner = a.mul(2);
      kept = inner.add(1);
      return kept.sum().item();
    },
    () => [kept],
  );
  assert.is(n, 15);
  assert.equal(kept.toArray(), [3, 5, 7]);
  assert.equal(a.toArray(), [1, 2, 3]);
  assert.throws(
    () => inner.toArray(),
    /made by binary[^)]*\) was read after it was freed when the scope that made it closed/,
  );
  assert.throws(() => inner.add(1), /wasm binary: a tensor of 3 floats .* was read after it was freed/);
});

test('a tensor that moves to the wasm backend inside a scope keeps its new storage', async () => {
  await setBackend('js');
  const fromJs = tensor([1, 2, 3]);
  await setBackend('wasm');
  const sum = scoped(() => fromJs.mul(2).sum().item()); // moves fromJs's storage to wasm inside the scope
  assert.is(sum, 12);
  assert.equal(fromJs.mul(1).toArray(), [1, 2, 3]);
});

test("fit() frees each step's blocks as the next begins: a whole epoch needs no spill", () => {
  manualSeed(6);
  const model = nn.mnistCnn({ deconv: true });
  const data = train.subset(Int32Array.from({ length: 320 }, (_, i) => i));
  // Room for whatever earlier tests left behind, so that only fit's own allocations could cause a spill.
  wasm.setMemoryBudget(wasm.heapStats().usedBytes + 128 * 2 ** 20);
  const before = wasm.heapStats();
  fit(model, data, data.subset(Int32Array.from({ length: 64 }, (_, i) => i)), {
    ...DEFAULT_TRAIN_CONFIG,
    epochs: 1,
    batchSize: 32,
    optimizer: 'adam',
    lr: 1e-3,
  });
  const after = wasm.heapStats();
  wasm.setMemoryBudget(128 * 2 ** 20);
  assert.is(after.spills, before.spills, 'no spill');
  // What stays in use is the model, its gradients, Adam's moments and the batches: not the steps' activations.
  const grown = after.usedBytes - before.usedBytes;
  assert.ok(grown < 8 * 2 ** 20, `heap in use grew by ${(grown / 2 ** 20).toFixed(1)} MiB over the epoch`);
  assert.ok(
    after.freedByStep - before.freedByStep > 8 * 40,
    `freed by steps: ${after.freedByStep - before.freedByStep}`,
  );
  // The trained model (parameters, buffers, Adam's moments) is intact and usable.
  assert.ok(evaluate(model, data).accuracy > 0.2);
});

test('Heap: scopes free what they do not hand out; a released storage gives a clear error', () => {
  const heap = new Heap(new WebAssembly.Memory({ initial: 1, maximum: 64 }), 1024);
  heap.lifetimes.openScope();
  const internal = heap.fromArray([4, 5]);
  const internalAt = internal.block.ptr;
  const kept = heap.fromArray([1, 2, 3]);
  heap.lifetimes.closeScope(new Set([kept]));
  assert.equal(Array.from(heap.viewOf(kept)), [1, 2, 3]);
  assert.throws(
    () => heap.viewOf(internal),
    /wasm backend: a tensor of 2 floats \(made by a copy of JS data .*\) was read after it was freed when the scope that made it closed/,
  );
  assert.throws(() => heap.call('unary', [internal], [2], [], () => {}), /wasm unary: a tensor of 2 floats/);
  // Its block is reused by the next storage of the same size.
  const top = heap.heapStats().topBytes;
  assert.is(heap.fromArray([6, 7]).block.ptr, internalAt);
  assert.is(heap.heapStats().topBytes, top);
});

test('Heap: a spill moves every storage to JS and copies it back on use', () => {
  const heap = new Heap(new WebAssembly.Memory({ initial: 1, maximum: 64 }), 1024);
  heap.setBudget(3000);
  const a = heap.fromArray(Float32Array.from({ length: 500 }, (_, i) => i));
  const b = heap.fromArray(Float32Array.from({ length: 500 }, (_, i) => -i)); // passes the budget: a is spilled
  assert.is(heap.heapStats().spills, 1);
  assert.is(heap.heapStats().residentStorages, 1);
  assert.is(heap.viewOf(a)[499], 499);
  let seen = -1;
  heap.call('read', [a, b], [], [], ([pa, pb]) => {
    seen = new Float32Array(heap.memory.buffer, pa, 500)[499] + new Float32Array(heap.memory.buffer, pb, 500)[499];
  });
  assert.is(seen, 0);
});

test('Heap: storages above 2 GiB keep their values (byte offsets past 2^31 index as unsigned)', () => {
  // A heap whose base sits at 2 GiB: every pointer is ≥ 2^31, where `ptr >> 2` would turn negative. The memory is
  // reserved, not touched, so this costs little.
  let memory: WebAssembly.Memory;
  try {
    memory = new WebAssembly.Memory({ initial: 2 ** 15 + 4, maximum: 2 ** 15 + 64 });
  } catch {
    return; // a runtime that cannot reserve 2 GiB of wasm memory cannot reach such pointers either
  }
  const heap = new Heap(memory, 2 ** 31);
  heap.setBudget(4096);
  const a = heap.fromArray([1, 2, 3]);
  assert.ok(a.block.ptr >= 2 ** 31);
  assert.equal(Array.from(heap.viewOf(a)), [1, 2, 3]);
  const b = heap.fromArray(Float32Array.from({ length: 1000 }, (_, i) => i)); // passes the budget: a is spilled
  assert.is(heap.viewOf(b)[999], 999);
  let sum = 0;
  heap.call('read', [a], [], [], ([pa]) => {
    sum = Array.from(new Float32Array(heap.memory.buffer, pa, 3)).reduce((x, y) => x + y, 0);
  });
  assert.is(sum, 6, 'a spilled storage comes back at a pointer past 2^31 with its values');
  const zeroed = heap.create(4, true);
  assert.equal(Array.from(heap.viewOf(zeroed)), [0, 0, 0, 0]);
});

test.run();
