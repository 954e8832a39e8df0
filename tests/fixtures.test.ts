// Every PyTorch reference fixture in tests/fixtures/pytorch, on every backend. Each kind has a runner that follows the
// procedure in the fixture folder's README; a kind without a runner fails loudly instead of being skipped.
import * as assert from 'uvu/assert';
import { linalg, nn, optim, type Tensor, tensor, zeros } from '../src/index.js';
import { assertClose, assertExact, type Fixture, forEachBackend, loadFixtures, t, type Tol } from './helpers.js';

const F = nn.functional;

/** Compares each named expectation (a path into fx.expected) with the actual data at the fixture's tolerance. */
function check(fx: Fixture, path: string, actual: ArrayLike<number>): void {
  const expected = path.split('/').reduce((o, k) => o[k], fx.expected as any);
  assert.ok(expected, `${fx.name}: no expectation '${path}'`);
  const tol: Tol = fx.tolerance.float32_per_tensor[path] ?? fx.tolerance.float32;
  if (expected.dtype === 'int64') assertExact(actual, expected.data, `${fx.name} ${path}`);
  else assertClose(actual, expected, tol, `${fx.name} ${path}`);
}

/** Backpropagates sum(y ∘ G). */
function backpropWith(y: Tensor, g: Tensor): void {
  y.mul(g).sum().backward();
}

const runConv2d = (fx: Fixture) => {
  const c = fx.config;
  const x = t(fx.inputs.x, true);
  const w = t(fx.inputs.weight, true);
  const b = c.bias ? t(fx.inputs.bias, true) : null;
  const y = F.conv2d(x, w, b, { stride: c.stride, padding: c.padding, dilation: c.dilation, groups: c.groups });
  check(fx, 'y', y.data);
  backpropWith(y, t(fx.inputs.grad_y));
  check(fx, 'grad_x', x.grad!.data);
  check(fx, 'grad_weight', w.grad!.data);
  if (b) check(fx, 'grad_bias', b.grad!.data);
};

const runPool = (fx: Fixture) => {
  const c = fx.config;
  const x = t(fx.inputs.x, true);
  let y: Tensor;
  if (c.op === 'max_pool2d') {
    const r = F.maxPool2dWithIndices(x, c.kernel_size, { stride: c.stride, padding: c.padding });
    y = r.values;
    check(fx, 'indices', r.indices);
  } else if (c.op === 'avg_pool2d') {
    y = F.avgPool2d(x, c.kernel_size, { stride: c.stride, padding: c.padding, countIncludePad: c.count_include_pad });
  } else if (c.op === 'global_avg_pool2d') {
    y = F.globalAvgPool2d(x);
  } else throw new Error(`unknown pool op ${c.op}`);
  check(fx, 'y', y.data);
  backpropWith(y, t(fx.inputs.grad_y));
  check(fx, 'grad_x', x.grad!.data);
};

function loadBn(fx: Fixture): nn.BatchNorm2d {
  const m = new nn.BatchNorm2d(fx.config.num_features, { eps: fx.config.eps, momentum: fx.config.momentum });
  m.loadStateDict(fx.inputs.state);
  return m;
}

const runBatchnorm = (fx: Fixture) => {
  const gy = t(fx.inputs.grad_y);
  const m = loadBn(fx).train();
  const x = t(fx.inputs.x, true);
  const y = m.forward(x);
  check(fx, 'y_train', y.data);
  backpropWith(y, gy);
  check(fx, 'grad_x', x.grad!.data);
  check(fx, 'grad_weight', m.weight!.grad!.data);
  check(fx, 'grad_bias', m.bias!.grad!.data);
  check(fx, 'state_after_train/running_mean', m.running_mean.data);
  check(fx, 'state_after_train/running_var', m.running_var.data);
  check(fx, 'state_after_train/num_batches_tracked', m.num_batches_tracked.data);

  const e = loadBn(fx).eval();
  const xe = t(fx.inputs.x, true);
  const ye = e.forward(xe);
  check(fx, 'y_eval', ye.data);
  backpropWith(ye, gy);
  check(fx, 'grad_x_eval', xe.grad!.data);
  check(fx, 'grad_weight_eval', e.weight!.grad!.data);
  check(fx, 'grad_bias_eval', e.bias!.grad!.data);
  assertClose(
    e.running_mean.data,
    fx.inputs.state.running_mean,
    fx.tolerance.float32,
    `${fx.name} eval leaves running_mean`,
  );
};

const runLosses = (fx: Fixture) => {
  const c = fx.config;
  if (c.op === 'cross_entropy') {
    const logits = t(fx.inputs.logits, true);
    const loss = F.crossEntropy(logits, Int32Array.from(fx.inputs.labels.data));
    check(fx, 'loss', loss.data);
    loss.backward();
    check(fx, 'grad_logits', logits.grad!.data);
  } else if (c.op === 'mse_loss') {
    const a = t(fx.inputs.input, true);
    const b = t(fx.inputs.target, true);
    const loss = F.mseLoss(a, b);
    check(fx, 'loss', loss.data);
    loss.backward();
    check(fx, 'grad_input', a.grad!.data);
    check(fx, 'grad_target', b.grad!.data);
  } else if (c.op === 'softmax' || c.op === 'log_softmax') {
    const x = t(fx.inputs.x, true);
    const y = c.op === 'softmax' ? F.softmax(x, c.dim) : F.logSoftmax(x, c.dim);
    check(fx, 'y', y.data);
    backpropWith(y, t(fx.inputs.grad_y));
    check(fx, 'grad_x', x.grad!.data);
  } else throw new Error(`unknown loss op ${c.op}`);
};

const runBroadcastOps = (fx: Fixture) => {
  const c = fx.config;
  const a = t(fx.inputs.a, true);
  const b = fx.inputs.b ? t(fx.inputs.b, true) : null;
  let out: Tensor;
  switch (c.category) {
    case 'binary':
    case 'matmul': {
      const op = c.op as 'add' | 'sub' | 'mul' | 'div' | 'pow' | 'maximum' | 'matmul';
      out = a[op](b!);
      break;
    }
    case 'unary':
      out = c.op === 'clamp' ? a.clamp(c.min, c.max) : a[c.op as 'exp']();
      break;
    case 'reduction': {
      const opts = { keepdim: c.keepdim };
      if (c.op === 'var') out = a.var(c.dim, { ...opts, unbiased: c.unbiased });
      else out = a[c.op as 'sum' | 'mean' | 'max'](c.dim, opts);
      if (c.op === 'max' && typeof c.dim === 'number') check(fx, 'indices', a.argmax(c.dim, opts).data);
      break;
    }
    default:
      throw new Error(`unknown category ${c.category}`);
  }
  assert.equal([...out.shape], c.out_shape, `${fx.name}: output shape`);
  check(fx, 'out', out.data);
  backpropWith(out, t(fx.inputs.grad_out));
  check(fx, 'grad_a', a.grad!.data);
  if (b) check(fx, 'grad_b', b.grad!.data);
};

const runOptimizers = (fx: Fixture) => {
  const c = fx.config;
  const h = c.hyper;
  const names: string[] = c.param_names;
  const params = names.map((n) => t(fx.inputs.params[n], true));
  const opt =
    c.optimizer === 'SGD'
      ? new optim.SGD(params, {
          lr: h.lr,
          momentum: h.momentum,
          dampening: h.dampening,
          nesterov: h.nesterov,
          weightDecay: h.weight_decay,
        })
      : new (c.optimizer === 'Adam' ? optim.Adam : optim.AdamW)(params, {
          lr: h.lr,
          betas: h.betas,
          eps: h.eps,
          weightDecay: h.weight_decay,
          amsgrad: h.amsgrad,
        });
  const after = names.map(() => [] as number[]);
  const deltas = names.map(() => [] as number[]);
  for (let s = 0; s < c.steps; s++) {
    const before = params.map((p) => p.toArray());
    params.forEach((p, k) => {
      const grads = fx.inputs.grads[names[k]];
      const per = p.size;
      p.grad = tensor(Float32Array.from(grads.data.slice(s * per, (s + 1) * per)), p.shape);
    });
    opt.step();
    params.forEach((p, k) => {
      after[k].push(...p.toArray());
      deltas[k].push(...p.toArray().map((v, i) => v - before[k][i]));
    });
  }
  names.forEach((n, k) => {
    check(fx, `params_after/${n}`, after[k]);
    check(fx, `deltas/${n}`, deltas[k]);
    const st = opt.state.get(params[k])!;
    for (const buf of Object.keys(fx.expected.state_after[n]))
      check(fx, `state_after/${n}/${buf}`, (st[buf] as Tensor).data);
  });
};

const runSchedules = (fx: Fixture) => {
  const c = fx.config;
  const a = c.args;
  const p = zeros([3], { requiresGrad: true });
  const opt =
    c.optimizer.type === 'SGD'
      ? new optim.SGD([p], { lr: c.optimizer.lr, momentum: c.optimizer.momentum })
      : new optim.Adam([p], { lr: c.optimizer.lr, betas: c.optimizer.betas });
  const S = optim.lrScheduler;
  const make: Record<string, () => optim.lrScheduler.LRScheduler> = {
    OneCycleLR: () =>
      new S.OneCycleLR(opt, {
        maxLr: a.max_lr,
        totalSteps: a.total_steps,
        pctStart: a.pct_start,
        annealStrategy: a.anneal_strategy,
        cycleMomentum: a.cycle_momentum,
        baseMomentum: a.base_momentum,
        maxMomentum: a.max_momentum,
        divFactor: a.div_factor,
        finalDivFactor: a.final_div_factor,
        threePhase: a.three_phase,
      }),
    CosineAnnealingLR: () => new S.CosineAnnealingLR(opt, { tMax: a.T_max, etaMin: a.eta_min }),
    StepLR: () => new S.StepLR(opt, { stepSize: a.step_size, gamma: a.gamma }),
    MultiStepLR: () => new S.MultiStepLR(opt, { milestones: a.milestones, gamma: a.gamma }),
    ExponentialLR: () => new S.ExponentialLR(opt, { gamma: a.gamma }),
  };
  assert.ok(make[c.scheduler], `no scheduler ${c.scheduler}`);
  const sched = make[c.scheduler]();
  const g = opt.paramGroups[0];
  const rec: Record<string, number[]> = { lr: [], momentum: [], beta1: [] };
  const record = () => {
    rec.lr.push(g.lr);
    rec.momentum.push(g.momentum as number);
    rec.beta1.push((g.betas as number[] | undefined)?.[0] as number);
  };
  for (let s = 0; s < c.steps; s++) {
    record();
    p.grad = zeros([3]);
    opt.step();
    sched.step();
  }
  record();
  for (const key of c.record as string[]) {
    check(fx, key, rec[key].slice(0, c.steps));
    check(fx, `${key}_after_loop`, rec[key].slice(c.steps));
  }
};

function buildTrainNet(layers: [string, Record<string, any>][]): nn.Sequential {
  const make = ([type, kw]: [string, Record<string, any>]): nn.Module => {
    switch (type) {
      case 'Conv2d':
        return new nn.Conv2d(kw.in_channels, kw.out_channels, kw.kernel_size, { padding: kw.padding, bias: kw.bias });
      case 'BatchNorm2d':
        return new nn.BatchNorm2d(kw.num_features);
      case 'ReLU':
        return new nn.ReLU();
      case 'MaxPool2d':
        return new nn.MaxPool2d(kw.kernel_size);
      case 'GlobalAvgPool':
        return new nn.GlobalAvgPool2d();
      case 'Linear':
        return new nn.Linear(kw.in_features, kw.out_features);
      case 'FastDeconv2d':
        return fastDeconvFrom(kw);
      case 'Delinear':
        return new nn.Delinear(kw.in_features, kw.out_features, {
          block: kw.block,
          bias: kw.bias,
          eps: kw.eps,
          nIter: kw.n_iter,
          momentum: kw.momentum,
        });
      default:
        throw new Error(`train_steps: layer ${type} is not implemented yet`);
    }
  };
  return new nn.Sequential(...layers.map(make));
}

const runTrainSteps = (fx: Fixture) => {
  const c = fx.config;
  const net = buildTrainNet(c.layers);
  net.loadStateDict(fx.inputs.state);
  const o = c.optimizer;
  const opt = new optim.SGD(net.parameters(), {
    lr: o.lr,
    momentum: o.momentum,
    weightDecay: o.weight_decay,
    dampening: o.dampening,
    nesterov: o.nesterov,
  });
  const x = t(fx.inputs.x);
  const labels = Int32Array.from(fx.inputs.labels.data);
  const losses: number[] = [];
  net.train();
  for (let s = 0; s < c.steps; s++) {
    opt.zeroGrad();
    const logits = net.forward(x);
    const loss = F.crossEntropy(logits, labels);
    losses.push(loss.item());
    loss.backward();
    if (s === 0) {
      check(fx, 'logits_step1', logits.data);
      for (const [name, p] of net.namedParameters()) check(fx, `grads_step1/${name}`, p.grad!.data);
    }
    opt.step();
  }
  check(fx, 'losses', losses);
  const state = net.stateDict();
  for (const key of Object.keys(fx.expected.state_after)) check(fx, `state_after/${key}`, state[key].data);
};

/** A FastDeconv2d from the official constructor's keyword arguments (absent ones keep their defaults). */
function fastDeconvFrom(kw: Record<string, any>): nn.FastDeconv2d {
  return new nn.FastDeconv2d(kw.in_channels, kw.out_channels, kw.kernel_size, {
    stride: kw.stride,
    padding: kw.padding,
    dilation: kw.dilation,
    groups: kw.groups,
    bias: kw.bias,
    eps: kw.eps,
    nIter: kw.n_iter,
    momentum: kw.momentum,
    block: kw.block,
    samplingStride: kw.sampling_stride,
    freeze: kw.freeze,
    freezeIter: kw.freeze_iter,
  });
}

const runIsqrt = (fx: Fixture) => {
  const A = t(fx.inputs.A, true);
  const D = linalg.isqrtNewtonSchulz(A, fx.config.n_iter);
  check(fx, 'D', D.data);
  backpropWith(D, t(fx.inputs.G));
  check(fx, 'grad_A', A.grad!.data);
};

/**
 * The procedure shared by fast_deconv2d and delinear: load the state, eval on x (buffers unchanged), then one
 * training step on x, backpropagating sum(y ∘ grad_y), and the running buffers after it.
 */
function evalThenTrainStep(fx: Fixture, m: nn.FastDeconv2d | nn.Delinear): void {
  m.loadStateDict(fx.inputs.state);
  m.eval();
  check(fx, 'y_eval', m.forward(t(fx.inputs.x)).data);
  m.train();
  const x = t(fx.inputs.x, true);
  const y = m.forward(x);
  check(fx, 'y_train', y.data);
  backpropWith(y, t(fx.inputs.grad_y));
  check(fx, 'grad_x', x.grad!.data);
  check(fx, 'grad_weight', m.weight.grad!.data);
  if (fx.config.bias) check(fx, 'grad_bias', m.bias!.grad!.data);
  check(fx, 'state_after_train/running_mean', m.running_mean.data);
  check(fx, 'state_after_train/running_deconv', m.running_deconv.data);
}

const runFastDeconv = (fx: Fixture) => evalThenTrainStep(fx, fastDeconvFrom(fx.config));

const runFastDeconvFreeze = (fx: Fixture) => {
  const c = fx.config;
  const m = fastDeconvFrom(c);
  m.loadStateDict(fx.inputs.state);
  m.train();
  const xs = fx.inputs.xs;
  const per = xs.data.length / c.steps;
  const updated: boolean[] = [];
  const counters: number[] = [];
  const sumsq: number[] = [];
  for (let step = 0; step < c.steps; step++) {
    const before = m.running_deconv.toArray().concat(m.running_mean.toArray());
    const x = tensor(Float32Array.from(xs.data.slice(step * per, (step + 1) * per)), xs.shape.slice(1), {
      requiresGrad: step === c.steps - 1,
    });
    const y = m.forward(x);
    const after = m.running_deconv.toArray().concat(m.running_mean.toArray());
    updated.push(after.some((v, i) => v !== before[i]));
    counters.push(m.counter);
    sumsq.push(y.mul(y).sum().item());
    if (step === c.steps - 1) {
      check(fx, 'y_last', y.data);
      backpropWith(y, t(fx.inputs.grad_y_last));
      check(fx, 'grad_x_last', x.grad!.data);
      check(fx, 'grad_weight_last', m.weight.grad!.data);
      if (c.bias) check(fx, 'grad_bias_last', m.bias!.grad!.data);
    }
  }
  assert.equal(updated, fx.expected.buffers_updated, `${fx.name}: buffers_updated`);
  assert.equal(counters, fx.expected.counter_after, `${fx.name}: counter_after`);
  check(fx, 'y_sumsq_per_step', sumsq);
  check(fx, 'state_after/running_mean', m.running_mean.data);
  check(fx, 'state_after/running_deconv', m.running_deconv.data);
};

const runChannelDeconv = (fx: Fixture) => {
  const c = fx.config;
  const m = new nn.ChannelDeconv(c.block, {
    eps: c.eps,
    nIter: c.n_iter,
    momentum: c.momentum,
    samplingStride: c.sampling_stride,
  });
  m.loadStateDict(fx.inputs.state);
  const checkState = (prefix: string) => {
    for (const [k, v] of Object.entries(m.stateDict())) check(fx, `${prefix}/${k}`, v.data);
  };
  m.train();
  const x1 = t(fx.inputs.x1, true);
  const y1 = m.forward(x1);
  check(fx, 'y1_train', y1.data);
  backpropWith(y1, t(fx.inputs.grad_y1));
  check(fx, 'grad_x1', x1.grad!.data);
  checkState('state_after_step1');
  check(fx, 'y2_train', m.forward(t(fx.inputs.x2)).data);
  checkState('state_after_step2');
  m.eval();
  check(fx, 'y3_eval', m.forward(t(fx.inputs.x3)).data);
};

const runDelinear = (fx: Fixture) => {
  const c = fx.config;
  evalThenTrainStep(
    fx,
    new nn.Delinear(c.in_features, c.out_features, {
      bias: c.bias,
      eps: c.eps,
      nIter: c.n_iter,
      momentum: c.momentum,
      block: c.block,
    }),
  );
};

const RUNNERS: Record<string, (fx: Fixture) => void> = {
  isqrt_newton_schulz: runIsqrt,
  fast_deconv2d: runFastDeconv,
  fast_deconv2d_freeze: runFastDeconvFreeze,
  channel_deconv: runChannelDeconv,
  delinear: runDelinear,
  conv2d: runConv2d,
  pool: runPool,
  batchnorm2d: runBatchnorm,
  losses: runLosses,
  broadcast_ops: runBroadcastOps,
  optimizers: runOptimizers,
  schedules: runSchedules,
  train_steps: runTrainSteps,
};

const ops = loadFixtures('ops');
const deconv = loadFixtures('deconv');
const all = [...ops, ...deconv];

forEachBackend('fixtures', (test) => {
  test('every fixture in both folders is known to a runner', () => {
    assert.ok(ops.length >= 90 && deconv.length >= 47, `found ${ops.length} ops and ${deconv.length} deconv fixtures`);
    for (const fx of all) assert.ok(RUNNERS[fx.kind], `no runner for kind ${fx.kind}`);
  });
  for (const fx of all) {
    test(fx.name, () => RUNNERS[fx.kind](fx));
  }
});
