// Train a network-deconvolution CNN on the embedded MNIST digits (the README's example; npx tsx examples/quickstart.ts).
import { evaluate, manualSeed, nn, optim } from 'netdeconv';
import { loadEmbeddedMnist } from 'netdeconv/node';

manualSeed(0);
const { train, test } = loadEmbeddedMnist().split(2000, 0); // 8,000 digits to train on, 2,000 held out
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
const twin = nn.utils.convertToDeconv(cnn); // Conv2d + BatchNorm2d → FastDeconv2d, the last Linear → Delinear
const model = nn.utils.fuse(twin); // each ReLU runs inside the max pool after it: the same results, fewer passes
const opt = new optim.SGD(model.parameters(), { lr: 0.05, momentum: 0.9, weightDecay: 5e-4 });

for (const { x, y } of train.batches(64, { shuffle: true, seed: 0 })) {
  opt.zeroGrad();
  const loss = nn.functional.crossEntropy(model.forward(x), y);
  loss.backward();
  opt.step();
}
console.log(evaluate(model, test)); // { loss: …, accuracy: … }
