// nn: registration, PyTorch state-dict names, loading with checks, modes, printing, initialisation.
import * as assert from 'uvu/assert';
import { manualSeed, nn, ones, type Tensor, tensor } from '../src/index.js';
import { forEachBackend } from './helpers.js';

forEachBackend('nn', (test) => {
  const net = () =>
    new nn.Sequential(
      new nn.Conv2d(1, 4, 3, { padding: 1, bias: false }),
      new nn.BatchNorm2d(4),
      new nn.ReLU(),
      new nn.GlobalAvgPool2d(),
      new nn.Linear(4, 3),
    );

  test('stateDict keys are PyTorch dotted names, in PyTorch order', () => {
    assert.equal(Object.keys(net().stateDict()), [
      '0.weight',
      '1.weight',
      '1.bias',
      '1.running_mean',
      '1.running_var',
      '1.num_batches_tracked',
      '4.weight',
      '4.bias',
    ]);
    assert.equal(
      net()
        .namedParameters()
        .map(([k]) => k),
      ['0.weight', '1.weight', '1.bias', '4.weight', '4.bias'],
    );
  });

  test('layers expose weight and bias; bias: false registers none', () => {
    const c = new nn.Conv2d(2, 6, [3, 1], { groups: 2, bias: false });
    assert.equal([...c.weight.shape], [6, 1, 3, 1]);
    assert.is(c.bias, null);
    assert.ok(c.weight.requiresGrad);
    const l = new nn.Linear(5, 2);
    assert.equal([...l.weight.shape], [2, 5]);
    assert.equal([...l.bias!.shape], [2]);
  });

  test('default initialisation follows PyTorch bounds (U(±1/√fan_in))', () => {
    manualSeed(1);
    const c = new nn.Conv2d(3, 8, 3);
    const bound = 1 / Math.sqrt(27);
    const w = c.weight.toArray();
    assert.ok(w.every((v) => Math.abs(v) <= bound));
    assert.ok(Math.max(...w.map(Math.abs)) > 0.8 * bound, 'the range is used');
    manualSeed(1);
    assert.equal(new nn.Conv2d(3, 8, 3).weight.toArray(), w, 'seeded initialisation is reproducible');
  });

  test('loadStateDict copies in place and round-trips', () => {
    const a = net();
    const b = net();
    const ref = b.parameters()[0];
    b.loadStateDict(a.stateDict());
    assert.is(b.parameters()[0], ref, 'parameters keep their identity');
    assert.equal(b.parameters()[0].toArray(), a.parameters()[0].toArray());
    const x = ones([2, 1, 5, 5]);
    a.eval();
    b.eval();
    assert.equal(b.forward(x).toArray(), a.forward(x).toArray());
  });

  test('loadStateDict reports missing, unexpected and mismatched keys by name', () => {
    const m = net();
    const sd: Record<string, any> = { ...m.stateDict() };
    delete sd['1.bias'];
    sd['9.weight'] = ones([1]);
    sd['4.weight'] = ones([3, 5]);
    try {
      m.loadStateDict(sd);
      assert.unreachable();
    } catch (e) {
      const msg = (e as Error).message;
      assert.match(msg, /size mismatch for 4\.weight: checkpoint \(3, 5\) vs model \(3, 4\)/);
      assert.match(msg, /missing keys: 1\.bias/);
      assert.match(msg, /unexpected keys: 9\.weight/);
    }
    delete sd['4.weight'];
    const r = m.loadStateDict(sd, { strict: false });
    assert.equal(r, { missingKeys: ['1.bias', '4.weight'], unexpectedKeys: ['9.weight'] });
  });

  test('train() and eval() reach every submodule; BatchNorm updates buffers only in training', () => {
    const m = net();
    m.eval();
    assert.ok(m.namedModules().every(([, x]) => !x.training));
    const bn = m.at(1) as nn.BatchNorm2d;
    m.forward(
      tensor(
        Array.from({ length: 50 }, (_, i) => i / 10),
        [2, 1, 5, 5],
      ),
    );
    assert.is(bn.num_batches_tracked.item(), 0);
    m.train();
    m.forward(
      tensor(
        Array.from({ length: 50 }, (_, i) => i / 10),
        [2, 1, 5, 5],
      ),
    );
    assert.is(bn.num_batches_tracked.item(), 1);
    assert.ok(bn.running_var.toArray().some((v) => v !== 1));
  });

  test('toString reads like PyTorch', () => {
    const s = net().toString();
    assert.match(
      s,
      /^Sequential\(\n {2}\(0\): Conv2d\(1, 4, kernel_size=\(3, 3\), stride=\(1, 1\), padding=\(1, 1\), bias=False\)/,
    );
    assert.match(s, /\(1\): BatchNorm2d\(4, eps=0\.00001, momentum=0\.1, affine=True, track_running_stats=True\)/);
    assert.match(s, /\(4\): Linear\(in_features=4, out_features=3, bias=True\)\n\)$/);
  });

  test('constructor errors name the values at fault', () => {
    assert.throws(
      () => new nn.Conv2d(3, 4, 3, { groups: 2 }),
      /in channels 3 and out channels 4 must be divisible by groups 2/,
    );
    assert.throws(() => new nn.Dropout(1), /p must be in \[0, 1\)/);
    assert.throws(
      () => new nn.BatchNorm2d(3).forward(ones([2, 4, 2, 2])),
      /BatchNorm2d\(3\): expected input \(N, 3, H, W\), got \(2, 4, 2, 2\)/,
    );
    assert.throws(() => new nn.BatchNorm2d(2).forward(ones([1, 2, 1, 1])), /more than 1 value per channel/);
  });

  test('Dropout zeroes and rescales in training, passes through in eval', () => {
    const d = new nn.Dropout(0.5);
    const y = d.forward(ones([1000])).toArray();
    assert.ok(y.every((v) => v === 0 || v === 2));
    const kept = y.filter((v) => v === 2).length;
    assert.ok(kept > 400 && kept < 600, `kept ${kept}`);
    d.eval();
    assert.equal(d.forward(ones([3])).toArray(), [1, 1, 1]);
  });

  test('Sequential of named layers: state dict under those names, in order, and the same forward', () => {
    const [lin, relu, out] = [new nn.Linear(2, 3), new nn.ReLU(), new nn.Linear(3, 1)];
    const named = new nn.Sequential({ hidden: lin, relu, head: out });
    assert.equal(Object.keys(named.stateDict()), ['hidden.weight', 'hidden.bias', 'head.weight', 'head.bias']);
    const x = ones([2, 2]);
    assert.equal(named.forward(x).toArray(), new nn.Sequential(lin, relu, out).forward(x).toArray());
    assert.throws(
      () => new nn.Sequential({ a: lin, b: 3 as unknown as nn.Module }),
      /Sequential: layer 'b' is not a Module/,
    );
  });

  test('zeroGrad clears gradients; parameters() lists shared tensors once', () => {
    const l = new nn.Linear(2, 2);
    const s = new nn.Sequential(l, l);
    assert.is(s.parameters().length, 2);
    s.forward(ones([1, 2]))
      .sum()
      .backward();
    assert.ok(l.weight.grad);
    s.zeroGrad();
    assert.is(l.weight.grad, null);
  });

  test('a BatchNorm2d and the ReLU after it run as one op: outputs, gradients and running statistics bit for bit as apart', () => {
    // Small integers, a constant channel and a zero bias: y is exactly 0 in places (the ReLU's tie), and ties in x.
    const values = Array.from({ length: 5 * 3 * 4 * 3 }, (_, i) =>
      Math.floor(i / 12) % 3 === 1 ? 2 : ((i * 7) % 5) - 2,
    );
    const weights = [
      [1, 0, 0.5],
      [-1.5, 0, 0.25],
    ] as const;
    const run = (fused: boolean) => {
      const bn = new nn.BatchNorm2d(3);
      bn.weight!.data.set(weights[0]);
      bn.bias!.data.set(weights[1]);
      const x = tensor(values, [5, 3, 4, 3], { requiresGrad: true });
      const out = fused ? nn.utils.fuse(new nn.Sequential(bn, new nn.ReLU())).forward(x) : bn.forward(x).relu();
      const op = out.gradFn?.name; // backward() frees the graph
      out
        .mul(
          tensor(
            Array.from({ length: out.size }, (_, i) => Math.sin(i)),
            out.shape,
          ),
        )
        .sum()
        .backward();
      return {
        op,
        out: out.toArray(),
        grads: [x, bn.weight!, bn.bias!].map((t) => t.grad!.toArray()),
        stats: [bn.running_mean, bn.running_var].map((t) => t.toArray()),
      };
    };
    const [fused, apart] = [run(true), run(false)];
    assert.is(fused.op, 'fusedBatchNormRelu');
    assert.is(apart.op, 'relu');
    assert.ok(
      apart.out.some((v) => v === 0) && apart.out.some((v) => v > 0),
      'the ReLU clamps some values and passes others',
    );
    const same = (a: number[], b: number[]) => a.length === b.length && a.every((v, i) => Object.is(v, b[i]));
    assert.ok(same(fused.out, apart.out), 'outputs');
    fused.grads.forEach((g, i) => assert.ok(same(g, apart.grads[i]), `gradient ${['x', 'weight', 'bias'][i]}`));
    fused.stats.forEach((st, i) => assert.ok(same(st, apart.stats[i]), `running statistic ${i}`));
  });

  test('nn.utils.fuse fuses only exact pairs, shares the weights, leaves the model alone; eval runs the pair apart', () => {
    class Leaky extends nn.ReLU {
      forward(x: Tensor): Tensor {
        return x.relu().add(x.mul(0.1));
      }
    }
    const x = tensor(
      Array.from({ length: 2 * 2 * 3 * 3 }, (_, i) => Math.cos(i)),
      [2, 2, 3, 3],
      { requiresGrad: true },
    );
    assert.is(
      nn.utils.fuse(new nn.Sequential(new nn.BatchNorm2d(2), new Leaky())).forward(x).gradFn?.name,
      'add',
      'a ReLU subclass runs its own forward',
    );
    const model = new nn.Sequential(new nn.BatchNorm2d(2), new nn.ReLU(), new nn.MaxPool2d(2));
    const fused = nn.utils.fuse(model);
    const three = fused.forward(x);
    assert.equal(
      [three.gradFn?.name, three.gradFn?.inputs[0].gradFn?.name],
      ['fusedReluMaxPool2d', 'batchNorm'],
      'BatchNorm2d → ReLU → MaxPool2d: the pool takes the ReLU',
    );
    assert.is(
      model.toString(),
      'Sequential(\n  (0): BatchNorm2d(2, eps=0.00001, momentum=0.1, affine=True, track_running_stats=True)\n  (1): ReLU()\n  (2): MaxPool2d(kernel_size=(2, 2), stride=(2, 2), padding=(0, 0))\n)',
    );
    assert.match(fused.toString(), /\(1\): ReLUMaxPool2d\(kernel_size=\(2, 2\).*\n {2}\(2\): Identity\(\)/);
    assert.equal(Object.keys(fused.stateDict()), Object.keys(model.stateDict()));
    assert.ok(
      Object.entries(fused.stateDict()).every(([k, t]) => t === model.stateDict()[k]),
      'the same tensors: training the fused model trains the model',
    );
    const bn = new nn.BatchNorm2d(2);
    bn.running_mean.data.set([0.5, -0.5]);
    bn.eval();
    const y = nn.utils.fuse(new nn.Sequential(bn, new nn.ReLU())).forward(x);
    assert.equal(y.toArray(), bn.forward(x).relu().toArray());
    assert.is(y.gradFn?.name, 'relu');
    // A ResNet block's bn1 → relu fuses; its toString and state dict keep torchvision's names.
    const block = new nn.BasicBlock(2, 2);
    const fusedBlock = nn.utils.fuse(block);
    assert.is(fusedBlock.bn1.constructor.name, 'BatchNormReLU2d');
    assert.equal(Object.keys(fusedBlock.stateDict()), Object.keys(block.stateDict()));
    assert.equal(fusedBlock.forward(x).toArray(), block.forward(x).toArray());
  });

  test('a ReLU and the MaxPool2d after it run as one op: outputs and gradients bit for bit as apart, in the deconvolution twin too', () => {
    // Windows with every value ≤ 0 (the ReLU passes nothing), ties at 0 and between positives, overlapping windows.
    // The first two rows of each 5×6 plane are ≤ 0.
    const values = Array.from({ length: 2 * 3 * 5 * 6 }, (_, i) => (i % 30 < 12 ? -((i * 7) % 3) : ((i * 7) % 9) - 5));
    for (const pool of [new nn.MaxPool2d(2), new nn.MaxPool2d(3, { stride: 2, padding: 1 })]) {
      const run = (fused: boolean) => {
        const x = tensor(values, [2, 3, 5, 6], { requiresGrad: true });
        const out = fused ? nn.utils.fuse(new nn.Sequential(new nn.ReLU(), pool)).forward(x) : pool.forward(x.relu());
        const op = out.gradFn?.name; // backward() frees the graph
        out
          .mul(
            tensor(
              Array.from({ length: out.size }, (_, i) => Math.cos(i)),
              out.shape,
            ),
          )
          .sum()
          .backward();
        return { op, out: out.toArray(), grad: x.grad!.toArray() };
      };
      const [fused, apart] = [run(true), run(false)];
      assert.equal([fused.op, apart.op], ['fusedReluMaxPool2d', 'maxPool2d']);
      assert.ok(
        apart.out.some((v) => v === 0) && apart.out.some((v) => v > 0),
        'windows the ReLU zeroes and windows it passes',
      );
      const same = (a: number[], b: number[]) => a.length === b.length && a.every((v, i) => Object.is(v, b[i]));
      assert.ok(same(fused.out, apart.out), `outputs ${pool}`);
      assert.ok(same(fused.grad, apart.grad), `gradients ${pool}`);
    }
    const twin = nn.mnistCnn({ deconv: true });
    const x = tensor(
      Array.from({ length: 2 * 28 * 28 }, (_, i) => Math.sin(i)),
      [2, 1, 28, 28],
    );
    const after = (n: number) =>
      twin
        .children()
        .slice(0, n)
        .reduce((h, m) => m.forward(h), x);
    assert.is(twin.at(2).constructor.name, 'ReLU');
    assert.is(twin.at(3).constructor.name, 'MaxPool2d');
    const fused = nn.utils.fuse(new nn.Sequential(...twin.children().slice(0, 4)));
    assert.is(fused.at(2).constructor.name, 'ReLUMaxPool2d');
    assert.equal(fused.forward(x).toArray(), after(4).toArray());
  });
});
