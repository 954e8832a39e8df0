// The plain training loop frees what each step made: optimizer.step() ends a step, and what a step made is freed
// once the next is under way. What must live on (parameters, buffers, gradients, optimizer state, the data made
// before the loop, keep()) does; a read of a freed tensor names what made it and what freed it. Under noGrad(), a
// module's forward frees what it made and did not return, so an inference loop keeps its memory flat too.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { setBackend } from '../src/backend/index.js';
import type { WasmBackend } from '../src/backend/wasm/index.js';
import { DEFAULT_TRAIN_CONFIG, fit, manualSeed, nn, noGrad, optim, scoped, type Tensor, tensor } from '../src/index.js';
import { loadEmbeddedMnist } from '../src/node/data.js';

const test = suite('training-step lifetimes');
let wasm: WasmBackend;
test.before(async () => {
  wasm = (await setBackend('wasm')) as WasmBackend;
});
test.after(async () => {
  wasm.setMemoryBudget(128 * 2 ** 20);
  await setBackend('js');
});

const { train } = loadEmbeddedMnist().split(500, 0);
const data = train.subset(Int32Array.from({ length: 128 }, (_, i) => i));
const batches = () => data.batches(16, { shuffle: true, seed: 1 });

/** The README's loop, `steps` steps, calling `after(loss, step)` after each step(). */
function plainLoop(
  model: nn.Module,
  opt: optim.Optimizer<object>,
  steps: number,
  after: (loss: Tensor, step: number) => void = () => {},
): void {
  let step = 0;
  while (step < steps) {
    for (const { x, y } of batches()) {
      if (step === steps) break;
      opt.zeroGrad();
      const loss = nn.functional.crossEntropy(model.forward(x), y);
      loss.backward();
      opt.step();
      after(loss, step++);
    }
  }
}

const sgd = (model: nn.Module) => new optim.SGD(model.parameters(), { lr: 0.05, momentum: 0.9, weightDecay: 5e-4 });

test('the plain loop keeps its memory flat with no spill: each step frees what the step before made', () => {
  manualSeed(0);
  const model = nn.mnistCnn({ deconv: true });
  const opt = sgd(model);
  wasm.setMemoryBudget(wasm.heapStats().usedBytes + 128 * 2 ** 20);
  plainLoop(model, opt, 8); // one whole epoch: no batch made and left behind by a loop cut short
  const before = wasm.heapStats();
  const used: number[] = [];
  plainLoop(model, opt, 304, () => used.push(wasm.heapStats().usedBytes));
  const after = wasm.heapStats();
  assert.is(after.spills, before.spills, 'spills');
  // Batches of 16 from 128 images: every step has the same shapes, so the heap holds the same bytes after each.
  assert.is(Math.max(...used), Math.min(...used), `bytes in use ranged ${Math.min(...used)}–${Math.max(...used)}`);
  assert.is(after.residentStorages, before.residentStorages, 'resident storages');
  assert.ok(
    after.freedByStep - before.freedByStep > 300 * 40,
    `freed by steps: ${after.freedByStep - before.freedByStep}`,
  );
});

test("a step's tensors stay readable until the next step is under way, then name what made and freed them", () => {
  manualSeed(1);
  const model = nn.mnistCnn();
  const opt = sgd(model);
  const losses: Tensor[] = [];
  const values: number[] = [];
  plainLoop(model, opt, 5, (loss) => {
    values.push(loss.item()); // after step(): still readable
    losses.push(loss);
  });
  // The last step's loss is readable; the one before was freed when the last step began.
  assert.is(losses[4].item(), values[4]);
  const message = (() => {
    try {
      losses[3].item();
    } catch (e) {
      return (e as Error).message;
    }
  })();
  const steps = message?.match(
    /a tensor of 1 float \(made by \w+ during training step (\d+)\) was read after it was freed when training step (\d+) began \(optimizer\.zeroGrad\(\)\)/,
  );
  assert.ok(steps, `message: ${message}`);
  assert.is(Number(steps![2]), Number(steps![1]) + 1, 'freed as the next step began');
  assert.throws(() => losses[2].add(1), /wasm binary: a tensor of 1 float .* was read after it was freed/);
  // The first step's loss was made before any step had ended: it belongs to no step and lives on.
  assert.is(losses[0].item(), values[0]);
});

test('zeroGrad() after step(): the loss is still readable after both', () => {
  manualSeed(2);
  const model = nn.mnistCnn();
  const opt = sgd(model);
  const read: number[] = [];
  let kept: Tensor | null = null;
  for (const { x, y } of batches()) {
    const loss = nn.functional.crossEntropy(model.forward(x), y);
    loss.backward();
    opt.step();
    opt.zeroGrad();
    read.push(loss.item());
    kept = loss;
  }
  assert.is(read.length, 8);
  assert.is(kept!.item(), read[7]);
});

test('data and models made before the loop, or between two runs, live on; keep() keeps a step tensor', () => {
  manualSeed(3);
  const raw = tensor(
    Array.from({ length: 16 * 784 }, (_, i) => (i % 7) / 7),
    [16, 1, 28, 28],
  );
  const normalized = raw.sub(0.5).div(0.25); // an op's output, made before any step
  const y = Int32Array.from({ length: 16 }, (_, i) => i % 10);
  const run = (x: Tensor) => {
    const model = nn.mnistCnn();
    const opt = sgd(model);
    const losses: Tensor[] = [];
    for (let s = 0; s < 6; s++) {
      opt.zeroGrad();
      const loss = nn.functional.crossEntropy(model.forward(x), y);
      loss.backward();
      opt.step();
      losses.push(s === 0 ? loss.keep() : loss);
    }
    return losses;
  };
  const first = run(normalized);
  const between = normalized.mul(2); // made after the first run's steps, before the second's
  const second = run(between);
  assert.is(normalized.size, 16 * 784);
  assert.ok(Number.isFinite(normalized.sum().item()));
  assert.ok(Number.isFinite(between.sum().item()), 'a tensor made between two runs lives on');
  assert.ok(Number.isFinite(first[0].item()) && Number.isFinite(second[0].item()), 'kept losses live on');
  assert.throws(() => second[1].item(), /was read after it was freed when training step/);
});

test('optimizer state, late gradients, buffers and clones made during training live on', () => {
  manualSeed(4);
  const model = nn.mnistCnn({ deconv: true });
  const params = model.parameters();
  const last = params[params.length - 1];
  // The last parameter gets no gradient at first (frozen), so its momentum buffer is made during training.
  const opt = new optim.Adam(params, { lr: 1e-3 });
  last.requiresGrad = false;
  let snapshot: nn.Module | null = null;
  plainLoop(model, opt, 10, (_, step) => {
    if (step === 3) last.requiresGrad = true;
    if (step === 5) snapshot = model.clone();
  });
  for (const t of [...model.parameters(), ...model.buffers(), ...opt.stateTensors()])
    assert.ok(t.toArray().every(Number.isFinite));
  for (const t of [...snapshot!.parameters(), ...snapshot!.buffers()]) assert.ok(t.toArray().every(Number.isFinite));
  // Gradients accumulated over steps with no zeroGrad() stay readable.
  const x = data.batches(16).next().value!.x.keep(); // made during training, used over several steps
  for (let s = 0; s < 3; s++) {
    model.forward(x).sum().backward();
    opt.step();
  }
  assert.ok(last.grad!.toArray().every(Number.isFinite));
});

test('the plain loop, a scoped loop and fit() give bit-identical weights', () => {
  const cfg = { ...DEFAULT_TRAIN_CONFIG, epochs: 1, batchSize: 16, schedule: 'none' as const, lr: 0.05 };
  const weights = (m: nn.Module) => m.parameters().flatMap((p) => p.toArray());
  manualSeed(5);
  const viaFit = nn.mnistCnn({ deconv: true });
  fit(viaFit, data, data.subset([0]), cfg);
  const plain = () => {
    manualSeed(5);
    const model = nn.mnistCnn({ deconv: true });
    const opt = new optim.SGD(model.parameters(), { lr: 0.05, momentum: 0.9, weightDecay: cfg.weightDecay });
    return { model, opt };
  };
  const a = plain();
  for (const { x, y } of data.batches(16, { shuffle: true, seed: 0, dropLast: true })) {
    a.opt.zeroGrad();
    nn.functional.crossEntropy(a.model.forward(x), y).backward();
    a.opt.step();
  }
  const b = plain();
  for (const { x, y } of data.batches(16, { shuffle: true, seed: 0, dropLast: true })) {
    scoped(
      () => {
        b.opt.zeroGrad();
        nn.functional.crossEntropy(b.model.forward(x), y).backward();
        b.opt.step();
      },
      () => [],
    );
  }
  const w = weights(viaFit);
  assert.ok(
    weights(a.model).every((v, i) => Object.is(v, w[i])),
    'plain loop vs fit()',
  );
  assert.ok(
    weights(b.model).every((v, i) => Object.is(v, w[i])),
    'scoped loop vs fit()',
  );
});

test('an inference loop under noGrad() needs no scoped() and no spill: each forward frees its intermediates', () => {
  manualSeed(7);
  const model = nn.utils.fuse(nn.mnistCnn({ deconv: true }));
  plainLoop(model, sgd(model), 8); // running statistics to infer with
  model.eval();
  const x = data.batches(64).next().value!.x;
  const recorded = model.forward(x).toArray(); // with the graph recorded: the same kernels, nothing freed early
  // A budget far below what 60 forwards allocate (about 3 MB each), with room for one forward's peak (about 8 MB).
  const start = wasm.heapStats();
  wasm.setMemoryBudget(start.usedBytes + 16 * 2 ** 20);
  const outputs: Tensor[] = [];
  for (let i = 0; i < 60; i++) outputs.push(noGrad(() => model.forward(x)));
  const end = wasm.heapStats();
  wasm.setMemoryBudget(128 * 2 ** 20);
  assert.is(end.spills, start.spills, 'spills');
  assert.ok(
    end.freedByScope - start.freedByScope >= 60 * 8,
    `freed by scopes: ${end.freedByScope - start.freedByScope}`,
  );
  // What stays is the 60 outputs (64 × 10 floats each).
  const grown = end.usedBytes - start.usedBytes;
  assert.ok(grown < 60 * 4096, `heap in use grew by ${grown} bytes`);
  assert.ok(
    outputs.every((o) => o.toArray().every((v, i) => Object.is(v, recorded[i]))),
    'outputs as recorded',
  );
});

/** A module whose forward keeps one intermediate on the side, keep()s another and returns a third. */
class Probe extends nn.Module {
  side: Tensor | null = null;
  kept: Tensor | null = null;
  forward(x: Tensor): Tensor {
    this.side = x.mul(2);
    this.kept = x.add(1).keep();
    return this.side.add(this.kept);
  }
}

test('under noGrad(), a tensor a forward made and did not return is freed: its error says why, keep() keeps it', () => {
  const x = tensor([1, 2, 3]);
  const probe = new Probe();
  const y = noGrad(() => probe.forward(x));
  assert.equal(y.toArray(), [4, 7, 10]);
  assert.equal(probe.kept!.toArray(), [2, 3, 4]);
  assert.throws(
    () => probe.side!.toArray(),
    /made by binary[^)]*\) was read after it was freed when Probe\.forward\(\) returned under noGrad\(\), .*call keep\(\) on a tensor in forward\(\)/,
  );
  // With the graph recorded, nothing is freed when forward returns (backward needs it).
  const z = probe.forward(x.clone().requiresGrad_());
  assert.equal(probe.side!.toArray(), [2, 4, 6]);
  z.sum().backward();
  // Inside a container, the child's output is the container's intermediate: freed when the container returns.
  const inner = new Probe();
  const outer = new nn.Sequential(inner, new nn.ReLU());
  assert.equal(noGrad(() => outer.forward(x)).toArray(), [4, 7, 10]);
  assert.throws(() => inner.side!.toArray(), /freed when Probe\.forward\(\) returned under noGrad/);
});

test('under noGrad(), a forward returning tensors keeps them all; any other result, or an error, frees nothing', () => {
  const x = tensor([1, 2, 3]);
  class Pair extends nn.Module {
    side: Tensor | null = null;
    forward(x: Tensor): Tensor {
      this.side = x.mul(3);
      return [x.add(1), this.side.sub(1)] as unknown as Tensor;
    }
  }
  const [a, b] = noGrad(() => new Pair().forward(x)) as unknown as Tensor[];
  assert.equal(a.toArray(), [2, 3, 4]);
  assert.equal(b.toArray(), [2, 5, 8]);
  class Named extends nn.Module {
    side: Tensor | null = null;
    forward(x: Tensor): Tensor {
      this.side = x.mul(3);
      return { out: this.side.add(1) } as unknown as Tensor;
    }
  }
  const named = new Named();
  const { out } = noGrad(() => named.forward(x)) as unknown as { out: Tensor };
  assert.equal(out.toArray(), [4, 7, 10]);
  assert.equal(named.side!.toArray(), [3, 6, 9], 'an object result: nothing freed');
  class Failing extends nn.Module {
    side: Tensor | null = null;
    forward(x: Tensor): Tensor {
      this.side = x.mul(5);
      throw new Error('failing forward');
    }
  }
  const failing = new Failing();
  assert.throws(() => noGrad(() => failing.forward(x)), /failing forward/);
  assert.equal(failing.side!.toArray(), [5, 10, 15], 'after an error: nothing freed');
  assert.equal(noGrad(() => new Probe().forward(x)).toArray(), [4, 7, 10], 'scopes still balanced');
});

test.run();
