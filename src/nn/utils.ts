// Model surgery: turn a BatchNorm network into its deconvolution twin (as the official repository builds its
// models), fold a trained deconvolution network into plain Conv2d/Linear layers for inference and export, and fuse
// layers (fuse.ts).
import { noGrad } from '../autograd/engine.js';
import { Identity, ReLU } from './layers/activation.js';
import { BatchNorm2d } from './layers/batchnorm.js';
import { Conv2d } from './layers/conv.js';
import { BatchNormReLU2d } from './layers/fused.js';
import { Linear } from './layers/linear.js';
import { Delinear } from './deconv/delinear.js';
import { FastDeconv2d, type FastDeconv2dOptions } from './deconv/fast_deconv.js';
import type { Module } from './module.js';

export { fuse } from './fuse.js';

/** Options of `convertToDeconv`. */
export interface ConvertOptions {
  /** Options for every FastDeconv2d (block, nIter, eps, samplingStride, …). */
  deconv?: Omit<FastDeconv2dOptions, 'stride' | 'padding' | 'dilation' | 'groups' | 'bias'>;
  /** Options for the stem, the first converted layer (the official VGG/ImageNet stems use freeze and nIter 15). */
  stem?: Omit<FastDeconv2dOptions, 'stride' | 'padding' | 'dilation' | 'groups' | 'bias'>;
  /** Block of the classifier's Delinear (official `--block-fc`); 0 keeps a plain Linear. Default 512. */
  blockFc?: number;
}

function square(name: string, v: readonly [number, number]): number {
  if (v[0] !== v[1]) throw new Error(`convertToDeconv: FastDeconv2d needs a square ${name}, got (${v.join(', ')})`);
  return v[0];
}

/** A FastDeconv2d that starts from the conv's weight (and bias, if any). */
function deconvFrom(conv: Conv2d, opts: ConvertOptions['deconv']): FastDeconv2d {
  const d = new FastDeconv2d(conv.inChannels, conv.outChannels, square('kernel', conv.kernelSize), {
    ...opts,
    stride: square('stride', conv.stride),
    padding: square('padding', conv.padding),
    dilation: square('dilation', conv.dilation),
    groups: conv.groups,
    bias: true,
  });
  noGrad(() => {
    d.weight.data.set(conv.weight.data);
    if (conv.bias) d.bias!.data.set(conv.bias.data);
  });
  return d;
}

/**
 * The deconvolution twin of a BatchNorm network, as a new model (the input is not changed): every Conv2d that is
 * followed by a BatchNorm2d in its parent becomes a FastDeconv2d (bias on, starting from the conv's weight) and the
 * BatchNorm2d an Identity; the last Linear becomes a Delinear with the same weights.
 */
export function convertToDeconv<M extends Module>(model: M, opts: ConvertOptions = {}): M {
  const twin = model.clone();
  let stemDone = false;
  for (const [, parent] of twin.namedModules()) {
    const kids = parent.namedChildren();
    kids.forEach(([name, child], i) => {
      const next = kids[i + 1]?.[1];
      if (child instanceof Conv2d && next instanceof BatchNorm2d && next.numFeatures === child.outChannels) {
        parent.registerModule(name, deconvFrom(child, stemDone ? opts.deconv : { ...opts.deconv, ...opts.stem }));
        // A fused BatchNorm2d → ReLU keeps its ReLU.
        parent.registerModule(kids[i + 1][0], next instanceof BatchNormReLU2d ? new ReLU() : new Identity());
        stemDone = true;
      }
    });
  }
  const blockFc = opts.blockFc ?? 512;
  const linears = twin.namedModules().filter(([, m]) => m instanceof Linear);
  if (blockFc > 0 && linears.length) {
    const [path, lin] = linears[linears.length - 1] as [string, Linear];
    const de = new Delinear(lin.inFeatures, lin.outFeatures, { bias: Boolean(lin.bias), block: blockFc });
    noGrad(() => {
      de.weight.data.set(lin.weight.data);
      if (lin.bias) de.bias!.data.set(lin.bias.data);
    });
    replaceAt(twin, path, de);
  }
  return twin;
}

function replaceAt(root: Module, path: string, m: Module): void {
  const parts = path.split('.');
  const last = parts.pop()!;
  const parent = parts.length ? root.namedModules().find(([p]) => p === parts.join('.'))![1] : root;
  parent.registerModule(last, m);
}

/**
 * An equivalent inference model (eval mode) in which every FastDeconv2d is a Conv2d and every Delinear a Linear,
 * with the whitening from the running statistics folded into the weights. The input model is not changed.
 */
export function foldDeconv<M extends Module>(model: M): M {
  const folded = model.clone().eval();
  for (const [path, m] of folded.namedModules()) {
    if (m instanceof FastDeconv2d) {
      const { weight, bias } = noGrad(() => m.foldedWeights(m.running_mean.detach(), m.running_deconv.detach()));
      const conv = new Conv2d(m.inChannels, m.outChannels, m.kernelSize, {
        stride: m.stride,
        padding: m.padding,
        dilation: m.dilation,
        groups: m.groups,
      });
      conv.weight.data.set(weight.data);
      conv.bias!.data.set(bias.data);
      replaceAt(folded, path, conv.eval());
    } else if (m instanceof Delinear) {
      const { weight, bias } = noGrad(() => m.foldedWeights(m.running_mean.detach(), m.running_deconv.detach()));
      const lin = new Linear(m.inFeatures, m.outFeatures);
      lin.weight.data.set(weight.data);
      lin.bias!.data.set(bias.data);
      replaceAt(folded, path, lin.eval());
    }
  }
  return folded;
}
