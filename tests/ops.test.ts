// Forward behaviour, broadcasting, autograd mechanics and error messages, on every backend.
import * as assert from 'uvu/assert';
import { concat, getBackend, nn, noGrad, ones, setBackend, tensor, where, zeros } from '../src/index.js';
import { forEachBackend } from './helpers.js';

const F = nn.functional;

function throwsMatching(fn: () => unknown, pattern: RegExp): void {
  try {
    fn();
  } catch (e) {
    assert.match((e as Error).message, pattern);
    return;
  }
  assert.unreachable(`expected an error matching ${pattern}`);
}

forEachBackend('ops', (test, backend) => {
  test('backend is active', () => {
    assert.is(getBackend(), backend);
  });

  test('0-d tensors broadcast and get 0-d gradients', () => {
    const s = tensor(2, [], { requiresGrad: true });
    const a = tensor([1, 2, 3, 4, 5, 6], [2, 3], { requiresGrad: true });
    const y = a.mul(s).sum();
    assert.equal([...y.shape], []);
    y.backward();
    assert.equal([...s.grad!.shape], []);
    assert.is(s.grad!.item(), 21);
    assert.equal(a.grad!.toArray(), [2, 2, 2, 2, 2, 2]);
  });

  test('gradients accumulate across backward calls and reuse of a tensor', () => {
    const x = tensor([1, 2], [2], { requiresGrad: true });
    x.mul(x).sum().backward(); // 2x
    x.mul(3).sum().backward(); // + 3
    assert.equal(x.grad!.toArray(), [5, 7]);
  });

  test('backward frees the graph; a second backward through it is an error', () => {
    const x = tensor([1, 2], [2], { requiresGrad: true });
    const y = x.exp().sum();
    y.backward();
    assert.is(y.gradFn, null);
    throwsMatching(() => y.backward(), /already freed/);
  });

  test('noGrad records nothing; detach cuts the graph', () => {
    const x = tensor([1, 2], [2], { requiresGrad: true });
    const y = noGrad(() => x.mul(2));
    assert.not.ok(y.requiresGrad);
    assert.is(y.gradFn, null);
    const z = x.detach().mul(2);
    assert.not.ok(z.requiresGrad);
    throwsMatching(() => z.sum().backward(), /does not require grad/);
  });

  test('grad is assignable, as in PyTorch', () => {
    const x = tensor([1, 2], [2], { requiresGrad: true });
    x.grad = tensor([10, 10], [2]);
    x.sum().backward();
    assert.equal(x.grad.toArray(), [11, 11]);
  });

  test('backward with an explicit gradient for a non-scalar', () => {
    const x = tensor([1, 2, 3], [3], { requiresGrad: true });
    x.mul(x).backward(tensor([1, 0, 2], [3]));
    assert.equal(x.grad!.toArray(), [2, 0, 12]);
    throwsMatching(() => x.mul(2).backward(), /implicit gradient needs a one-element tensor/);
  });

  test('relu of NaN is NaN and passes its gradient, alone and fused into BatchNorm and max pooling', () => {
    // PyTorch: relu(NaN) = NaN, and threshold_backward passes dy where the input is NaN.
    const x = tensor([NaN, -1, 2, -0], [4], { requiresGrad: true });
    const y = x.relu();
    assert.equal(y.toArray().map(String), ['NaN', '0', '2', '0']);
    y.sum().backward();
    assert.equal(x.grad!.toArray(), [1, 0, 1, 0]);
    // The fused BatchNorm2d → ReLU → MaxPool2d and the same modules one by one agree.
    const model = new nn.Sequential(new nn.BatchNorm2d(1), new nn.ReLU(), new nn.MaxPool2d(2));
    model.eval(); // running statistics: a NaN in one pixel stays in that pixel
    const input = tensor([1, NaN, -3, 4, 5, -6, 7, -8, 9, 10, -11, 12, -13, 14, 15, -16], [1, 1, 4, 4]);
    const fused = nn.utils.fuse(model).forward(input).toArray();
    const [bn, relu, pool] = model.children();
    const stepwise = pool.forward(relu.forward(bn.forward(input))).toArray();
    assert.equal(fused.map(String), stepwise.map(String));
    assert.ok(Number.isNaN(fused[0]), `the window holding the NaN pools to NaN: ${fused}`);
    const xg = tensor([NaN, -1, 2, 3], [1, 1, 2, 2], { requiresGrad: true });
    nn.utils
      .fuse(new nn.Sequential(new nn.ReLU(), new nn.MaxPool2d(2)))
      .forward(xg)
      .sum()
      .backward();
    assert.equal(xg.grad!.toArray(), [1, 0, 0, 0], 'the NaN wins the window and takes its gradient');
  });

  test('elementwise forward values', () => {
    const a = tensor([-2, -0.5, 0, 0.5, 2], [5]);
    assert.equal(a.relu().toArray(), [0, 0, 0, 0.5, 2]);
    assert.equal(a.abs().toArray(), [2, 0.5, 0, 0.5, 2]);
    assert.equal(a.clamp(-1, 1).toArray(), [-1, -0.5, 0, 0.5, 1]);
    assert.equal(a.maximum(0.25).toArray(), [0.25, 0.25, 0.25, 0.5, 2]);
    assert.equal(a.minimum(0).toArray(), [-2, -0.5, 0, 0, 0]);
    assert.equal(where(tensor([1, 0, 1, 0, 1], [5]), a, 9).toArray(), [-2, 9, 0, 9, 2]);
    const s = tensor([-1000, 0, 1000], [3]).sigmoid().toArray();
    assert.equal(s, [0, 0.5, 1]);
  });

  test('reductions: keepdim, negative dims, lists, var correction', () => {
    const x = tensor([1, 2, 3, 4, 5, 6], [2, 3]);
    assert.equal(x.sum(-1).toArray(), [6, 15]);
    assert.equal([...x.sum(0, { keepdim: true }).shape], [1, 3]);
    assert.equal(x.mean([0, 1]).item(), 3.5);
    assert.equal(x.max(1).toArray(), [3, 6]);
    assert.equal(x.argmax(1).toArray(), [2, 2]);
    assert.is(x.var().item(), 3.5);
    assert.ok(Math.abs(x.var(undefined, { unbiased: false }).item() - 35 / 12) < 1e-6);
  });

  test('matmul shapes follow PyTorch broadcasting', () => {
    assert.equal([...ones([2, 1, 3, 4]).matmul(ones([3, 4, 2])).shape], [2, 3, 3, 2]);
    assert.equal([...ones([4]).matmul(ones([4, 3])).shape], [3]);
    assert.equal([...ones([3, 4]).matmul(ones([4])).shape], [3]);
    const m = tensor([1, 2, 3, 4], [2, 2]).matmul(tensor([5, 6, 7, 8], [2, 2]));
    assert.equal(m.toArray(), [19, 22, 43, 50]);
  });

  test('conv2d matches a hand computation', () => {
    const x = tensor([1, 2, 3, 4, 5, 6, 7, 8, 9], [1, 1, 3, 3]);
    const w = tensor([1, 0, 0, -1], [1, 1, 2, 2]);
    assert.equal(F.conv2d(x, w, tensor([10], [1])).toArray(), [6, 6, 6, 6]);
  });

  test('max pooling pads with −∞', () => {
    const x = tensor([-5, -4, -3, -2], [1, 1, 2, 2]);
    assert.equal(F.maxPool2d(x, 2, { stride: 1, padding: 1 }).toArray(), [-5, -4, -4, -3, -2, -2, -3, -2, -2]);
  });

  test('softmax is stable for large logits', () => {
    const p = F.softmax(tensor([1000, 1001, 1002], [1, 3]), 1).toArray();
    assert.ok(p.every(Number.isFinite));
    assert.ok(Math.abs(p.reduce((a, b) => a + b) - 1) < 1e-6);
  });

  test('a permute that moves only size-1 axes is a reshape sharing storage; others copy', () => {
    const x = tensor([1, 2, 3, 4, 5, 6], [2, 3, 1], { requiresGrad: true });
    const y = x.permute(0, 2, 1);
    assert.equal(y.shape, [2, 1, 3]);
    assert.equal(y.toArray(), [1, 2, 3, 4, 5, 6]);
    assert.ok(y.storage === x.storage, 'no copy');
    y.mul(tensor([1, 2, 3], [1, 1, 3]))
      .sum()
      .backward();
    assert.equal(x.grad!.shape, [2, 3, 1]);
    assert.equal(x.grad!.toArray(), [1, 2, 3, 1, 2, 3]);
    const t = x.permute(1, 0, 2);
    assert.equal(t.toArray(), [1, 4, 2, 5, 3, 6]);
    assert.ok(t.storage !== x.storage, 'a real permutation copies');
  });

  test('concat, slice and pad round-trip', () => {
    const a = tensor([1, 2, 3, 4], [2, 2]);
    const b = tensor([5, 6], [2, 1]);
    const c = concat([a, b], 1);
    assert.equal(c.toArray(), [1, 2, 5, 3, 4, 6]);
    assert.equal(c.slice(1, 2).toArray(), [5, 6]);
    assert.equal(F.pad(b, [1, 0]).toArray(), [0, 5, 0, 6]);
  });

  test('bad input gives clear errors', () => {
    throwsMatching(() => ones([2, 3]).add(ones([4])), /add: shapes \(2, 3\) and \(4\) do not broadcast/);
    throwsMatching(() => ones([2, 3]).matmul(ones([2, 3])), /matmul: inner dimensions differ: \(2, 3\) @ \(2, 3\)/);
    throwsMatching(() => F.conv2d(ones([1, 3, 5, 5]), ones([4, 2, 3, 3])), /expects 2 input channels.*has 3/);
    throwsMatching(() => F.conv2d(ones([3, 5, 5]), ones([4, 3, 3, 3])), /conv2d: input must be 4-D/);
    throwsMatching(() => F.conv2d(ones([1, 1, 2, 2]), ones([1, 1, 3, 3])), /does not fit input 2x2/);
    throwsMatching(() => F.maxPool2d(ones([1, 1, 4, 4]), 2, { padding: 2 }), /padding 2x2 must be at most half/);
    throwsMatching(() => F.crossEntropy(ones([2, 3]), [0, 3]), /label 3 at index 1 is outside \[0, 3\)/);
    throwsMatching(() => F.crossEntropy(ones([2, 3]), [0]), /1 labels for a batch of 2/);
    throwsMatching(() => F.crossEntropy(tensor([0, NaN, 0], [1, 3]), [0]), /logits \(1, 3\) holds NaN at flat index 1/);
    throwsMatching(() => F.mseLoss(ones([2]), tensor([1, Infinity], [2])), /target \(2\) holds Infinity/);
    throwsMatching(() => F.mseLoss(ones([2]), ones([3])), /mseLoss: shapes \(2\) and \(3\) must be equal/);
    throwsMatching(() => ones([2, 3]).sum(2), /sum: dim 2 is out of range for a tensor of rank 2/);
    throwsMatching(() => ones([2, 3]).reshape(4, 2), /cannot view 6 elements of \(2, 3\) as \(4, 2\)/);
    throwsMatching(() => tensor([1, 2, 3], [2, 2]), /3 values do not fill shape \(2, 2\)/);
    throwsMatching(() => ones([1, 2]).var(0), /leaves no degrees of freedom/);
  });

  test('tensors created on one backend are usable on the other', async () => {
    const other = backend === 'js' ? 'wasm' : 'js';
    const a = tensor([1, 2, 3, 4], [2, 2], { requiresGrad: true });
    await setBackend(other);
    const y = a.matmul(a).sum();
    y.backward();
    await setBackend(backend);
    assert.equal(a.grad!.toArray(), [7, 11, 9, 13]);
    assert.equal(zeros([2]).toArray(), [0, 0]);
  });
});

forEachBackend('setBackend', (test) => {
  test('unknown backend names are rejected with the list of valid ones', async () => {
    try {
      await setBackend('gpu');
      assert.unreachable();
    } catch (e) {
      assert.match((e as Error).message, /unknown backend 'gpu' \(available: 'js', 'wasm'\)/);
    }
  });
});
