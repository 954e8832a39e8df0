// ONNX export: the exported file runs in onnxruntime-web (wasm, no native download) and reproduces netdeconv's
// eval outputs, deconvolution folded into plain Conv/Gemm.
import * as ort from 'onnxruntime-web';
import * as assert from 'uvu/assert';
import { io, manualSeed, nn, type Tensor, tensor } from '../src/index.js';
import { forEachBackend } from './helpers.js';

ort.env.wasm.numThreads = 1;

function input(shape: number[], seed: number): Tensor {
  return tensor(
    Array.from({ length: shape.reduce((a, b) => a * b, 1) }, (_, i) => Math.sin(i * 0.37 + seed)),
    shape,
  );
}

async function runOnnx(bytes: Uint8Array, x: Tensor): Promise<Float32Array> {
  const session = await ort.InferenceSession.create(bytes);
  const out = await session.run({ input: new ort.Tensor('float32', x.toFloat32Array(), [...x.shape]) });
  return out.output.data as Float32Array;
}

function maxRelDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let scale = 0;
  for (let i = 0; i < b.length; i++) scale = Math.max(scale, Math.abs(b[i]));
  let worst = 0;
  for (let i = 0; i < b.length; i++) worst = Math.max(worst, Math.abs(a[i] - b[i]) / (scale || 1));
  return worst;
}

forEachBackend('onnx', (test) => {
  test('the deconvolution MNIST CNN, after training steps, runs in onnxruntime-web with the same outputs', async () => {
    manualSeed(1);
    const model = nn.mnistCnn({ deconv: true });
    for (let i = 0; i < 3; i++) model.forward(input([8, 1, 28, 28], i)); // non-trivial running statistics
    model.eval();
    const x = input([5, 1, 28, 28], 9);
    const ours = model.forward(x).data;
    const theirs = await runOnnx(io.exportOnnx(model, [5, 1, 28, 28]), x);
    assert.is(theirs.length, ours.length);
    assert.ok(maxRelDiff(theirs, ours) < 1e-4, `max relative difference ${maxRelDiff(theirs, ours)}`);
  });

  test('ResNet (BatchNorm blocks, strided shortcuts) and a grouped, dilated conv export too; the batch is symbolic', async () => {
    manualSeed(2);
    const resnet = nn.resnet18({ inChannels: 2, numClasses: 3, widthMultiplier: 0.125 });
    resnet.forward(input([4, 2, 16, 16], 1));
    resnet.eval();
    const bytes = io.exportOnnx(resnet, [1, 2, 16, 16]);
    const x = input([3, 2, 16, 16], 5); // another batch size than at export
    assert.ok(maxRelDiff(await runOnnx(bytes, x), resnet.forward(x).data) < 1e-4);

    const odd = new nn.Sequential(
      new nn.FastDeconv2d(4, 6, 3, { padding: 2, dilation: 2, groups: 2, stride: 2 }),
      new nn.Tanh(),
      new nn.AvgPool2d(2, { countIncludePad: false }),
      new nn.Flatten(),
      new nn.Delinear(6 * 2 * 2, 2, { block: 8 }),
    );
    odd.forward(input([3, 4, 9, 9], 2));
    odd.eval();
    const y = input([2, 4, 9, 9], 3);
    assert.ok(maxRelDiff(await runOnnx(io.exportOnnx(odd, [2, 4, 9, 9]), y), odd.forward(y).data) < 1e-4);
  });

  test('unsupported layers are named in the error', () => {
    const m = new nn.Sequential(new nn.Linear(4, 4), new nn.ChannelDeconv(2));
    assert.throws(() => io.exportOnnx(m, [1, 4]), /exportOnnx: 1 is a ChannelDeconv, which has no ONNX export/);
  });
});
