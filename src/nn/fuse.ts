// nn.utils.fuse: the one place where layers are fused. A model rewrite, as torch.ao.quantization.fuse_modules: where
// a module's forward feeds one layer into the next (the children of a Sequential, a ResNet block's bn1 → relu), a
// pair that a fused layer computes in fewer passes is replaced by that layer and an Identity. The rewrite shares
// every parameter and buffer with the model it was given, so training the fused model trains that one.
import { Identity, ReLU } from './layers/activation.js';
import { BatchNorm2d } from './layers/batchnorm.js';
import { Sequential } from './layers/container.js';
import { BatchNormReLU2d, ReLUMaxPool2d } from './layers/fused.js';
import { MaxPool2d } from './layers/pooling.js';
import { BasicBlock } from './models/resnet.js';
import { isExactly, type Module } from './module.js';

/**
 * The model with fused layers wherever a ReLU follows a BatchNorm2d or precedes a MaxPool2d: the same values and
 * gradients, fewer passes over the activations. It shares its parameters and buffers with `model` (state-dict names
 * unchanged); `model` itself is left as it is. fit() trains the fused model.
 */
export function fuse<M extends Module>(model: M): M {
  return fuseModule(model) as M;
}

/** Chains of children, by name, that the module's forward runs one into the next. */
function chainsOf(m: Module): string[][] {
  if (isExactly(m, Sequential)) return [m.namedChildren().map(([name]) => name)];
  if (isExactly(m, BasicBlock)) return [['bn1', 'relu']];
  return [];
}

function fuseModule(m: Module): Module {
  const before = new Map(m.namedChildren());
  const kids = new Map([...before].map(([name, child]) => [name, fuseModule(child)]));
  for (const chain of chainsOf(m)) {
    for (let i = 0; i + 1 < chain.length; i++) {
      const [a, b, after] = [kids.get(chain[i]), kids.get(chain[i + 1]), kids.get(chain[i + 2])];
      // Between BatchNorm2d → ReLU → MaxPool2d the pool takes the ReLU: its backward pass already picks cells, so
      // BatchNorm's backward passes then read two full streams, not three.
      const fused =
        isExactly(a, ReLU) && isExactly(b, MaxPool2d)
          ? ReLUMaxPool2d.of(b as MaxPool2d)
          : isExactly(a, BatchNorm2d) && isExactly(b, ReLU) && !isExactly(after, MaxPool2d)
            ? BatchNormReLU2d.of(a as BatchNorm2d)
            : null;
      if (!fused) continue;
      kids.set(chain[i], fused);
      kids.set(chain[i + 1], new Identity());
      i++;
    }
  }
  const changed = [...kids].some(([name, child]) => child !== before.get(name));
  return changed ? m.sharedTwin(Object.getPrototypeOf(m), [...kids]) : m;
}
