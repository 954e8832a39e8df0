// Train a small CNN on the embedded MNIST digits: the same job as `npm start`, written out.
// Run: npx tsx examples/train_mnist.ts
import { evaluate, manualSeed, nn, noGrad, optim } from '../src/index.js';
import { loadEmbeddedMnist } from '../src/node/index.js';

// The wasm backend is the default; `await setBackend('js')` would run the readable reference kernels instead.
manualSeed(0);

// 10,000 real digits: 8,000 to train on, 2,000 held out; normalised with the training set's statistics.
const { train: rawTrain, test: rawTest } = loadEmbeddedMnist().split(2000, 0);
const { mean, std } = rawTrain.channelStats();
const train = rawTrain.normalize(mean, std);
const test = rawTest.normalize(mean, std);

const cnn = new nn.Sequential(
  new nn.Conv2d(1, 8, 3, { padding: 1, bias: false }),
  new nn.BatchNorm2d(8),
  new nn.ReLU(),
  new nn.MaxPool2d(2),
  new nn.Conv2d(8, 16, 3, { padding: 1, bias: false }),
  new nn.BatchNorm2d(16),
  new nn.ReLU(),
  new nn.MaxPool2d(2),
  new nn.Flatten(),
  new nn.Linear(16 * 7 * 7, 10),
);
console.log(cnn.toString());
// The same network with each ReLU inside the kernels of the layer next to it (BatchNormReLU2d, ReLUMaxPool2d):
// the same values and gradients, fewer passes over the activations. It shares cnn's parameters.
const model = nn.utils.fuse(cnn);

const epochs = 2;
const batchSize = 64;
const stepsPerEpoch = train.numBatches(batchSize, true);
const opt = new optim.SGD(model.parameters(), { lr: 0.05, momentum: 0.9, weightDecay: 5e-4 });
const sched = new optim.lrScheduler.OneCycleLR(opt, { maxLr: 0.05, totalSteps: epochs * stepsPerEpoch });

for (let epoch = 0; epoch < epochs; epoch++) {
  model.train();
  let step = 0;
  for (const { x, y } of train.batches(batchSize, { shuffle: true, seed: epoch, dropLast: true })) {
    opt.zeroGrad();
    const loss = nn.functional.crossEntropy(model.forward(x), y);
    loss.backward();
    opt.step();
    sched.step();
    if (step++ % 25 === 0)
      console.log(`epoch ${epoch + 1} step ${step}/${stepsPerEpoch} loss ${loss.item().toFixed(4)}`);
  }
  const { loss, accuracy } = evaluate(model, test);
  console.log(`epoch ${epoch + 1}: test loss ${loss.toFixed(4)}, test accuracy ${accuracy.toFixed(4)}`);
}

// Predictions for a few test digits, without recording a graph.
const { x, y } = test.batches(8).next().value!;
const pred = noGrad(() => model.eval().forward(x).argmax(1).toArray());
console.log('predicted', pred.join(' '), '\nactual   ', [...y].join(' '));
