// BatchNorm versus network deconvolution on the embedded MNIST digits: the same CNN, the same seed, the same
// batches; only the normalisation differs. Run: npx tsx examples/bn_vs_deconv.ts
import { fit, manualSeed, nn } from '../src/index.js';
import { loadEmbeddedMnist } from '../src/node/index.js';

// The wasm backend is the default; `await setBackend('js')` would run the readable reference kernels instead.
const { train: rawTrain, test: rawTest } = loadEmbeddedMnist().split(2000, 0);
const { mean, std } = rawTrain.channelStats();
const train = rawTrain.normalize(mean, std);
const test = rawTest.normalize(mean, std);

for (const deconv of [false, true]) {
  manualSeed(0); // both models start from the same random draws
  const model = nn.mnistCnn({ deconv }); // deconv: FastDeconv2d instead of Conv2d+BatchNorm2d, Delinear instead of Linear
  if (deconv) console.log(model.toString());
  const r = fit(model, train, test, {
    epochs: 1,
    batchSize: 64,
    lr: 0.05,
    optimizer: 'sgd',
    schedule: 'onecycle',
    momentum: 0.9,
    weightDecay: 5e-4,
    seed: 0,
  });
  console.log(
    `${deconv ? 'deconvolution' : 'BatchNorm    '}: test accuracy ${r.test.accuracy.toFixed(4)}, ${r.imagesPerSecond.toFixed(0)} images/s`,
  );

  if (deconv) {
    // For inference, fold the whitening into plain convolutions: same outputs, no statistics.
    const plain = nn.utils.foldDeconv(model);
    console.log(plain.toString());
  }
}
