// Per-kernel time of a training step (npm run bench -- --profile): every kernel of the active backend is wrapped in a
// timer while the steps run, so the table shows where a step's time goes — in each kernel, and outside all of them
// (autograd, the optimizer's loop, allocation). Convolutions are split by shape, with their rate, since a step's
// rate is bounded by its convolutions'.
import type { Backend } from '../src/backend/backend.js';
import type { Conv2dInfo } from '../src/backend/shape_info.js';

interface Entry {
  ms: number;
  calls: number;
  flop: number;
}

const convKernels = new Set(['conv2d', 'conv2dBackwardInput', 'conv2dBackwardFilter']);

function convFlop(i: Conv2dInfo): number {
  return (
    2 * i.batch * i.outChannels * i.outHeight * i.outWidth * (i.inChannels / i.groups) * i.kernelH * i.kernelW || 0
  );
}

/** The table row a call is counted in: the kernel, and for a convolution its shape. */
function key(name: string, args: unknown[]): [string, number] {
  if (convKernels.has(name)) {
    const i = args[name === 'conv2d' ? 3 : 2] as Conv2dInfo;
    const shape = `${i.inChannels}→${i.outChannels} ${i.kernelH}x${i.kernelW}/${i.strideH} on ${i.inHeight}x${i.inWidth}`;
    return [`${name} ${shape}`, convFlop(i)];
  }
  if (name === 'matmul') {
    const [, , batch, m, k, n, transA, transB] = args as number[];
    const op = (t: unknown, s: string) => (t ? `${s}ᵀ` : s);
    return [
      `matmul ${batch > 1 ? `${batch}× ` : ''}${op(transA, 'A')}·${op(transB, 'B')} ${m}×${k}×${n}`,
      2 * batch * m * k * n,
    ];
  }
  if (name === 'covariance' || name.startsWith('newtonSchulz')) {
    const [batch, n, d] = (
      name === 'covariance'
        ? args.slice(1, 4)
        : [args[name === 'newtonSchulz' ? 1 : 4], 0, args[name === 'newtonSchulz' ? 2 : 5]]
    ) as number[];
    return [
      `${name} ${batch > 1 ? `${batch}× ` : ''}d=${d}${n ? ` over ${n} rows` : ''}`,
      name === 'covariance' ? 2 * batch * n * d * d : 0,
    ];
  }
  if (name === 'unary' || name === 'binary') return [`${name} ${args[0]}`, 0];
  return [name, 0];
}

/**
 * Runs `step` `steps` times with every kernel method of `backend` timed, and returns the table (markdown) with the
 * step's time per kernel, the share of the step, and GFLOP/s where the kernel's work is known.
 */
export function profileSteps(backend: Backend, step: () => void, steps: number): string {
  const entries = new Map<string, Entry>();
  const target = backend as unknown as Record<string, unknown>;
  const originals = new Map<string, (...args: unknown[]) => unknown>();
  let depth = 0; // a kernel that calls another (float64 fallbacks, fused kernels) is counted once, at the outside
  for (const [name, f] of Object.entries(target)) {
    if (typeof f !== 'function' || !isKernel(name)) continue;
    const original = f as (...args: unknown[]) => unknown;
    originals.set(name, original);
    target[name] = (...args: unknown[]) => {
      if (depth > 0) return original(...args);
      depth++;
      const t0 = performance.now();
      try {
        return original(...args);
      } finally {
        const ms = performance.now() - t0;
        depth--;
        const [k, flop] = key(name, args);
        const e = entries.get(k) ?? { ms: 0, calls: 0, flop: 0 };
        e.ms += ms;
        e.calls++;
        e.flop += flop;
        entries.set(k, e);
      }
    };
  }
  let total: number;
  try {
    const t0 = performance.now();
    for (let s = 0; s < steps; s++) step();
    total = performance.now() - t0;
  } finally {
    for (const [name, f] of originals) target[name] = f;
  }
  const inKernels = [...entries.values()].reduce((s, e) => s + e.ms, 0);
  const conv = [...entries.entries()].filter(([k]) => convKernels.has(k.split(' ')[0]));
  const convMs = conv.reduce((s, [, e]) => s + e.ms, 0);
  const convFlops = conv.reduce((s, [, e]) => s + e.flop, 0);
  const allFlops = [...entries.values()].reduce((s, e) => s + e.flop, 0);
  const lines = [
    '| kernel | calls/step | ms/step | share of step | GFLOP/s |',
    '|---|---|---|---|---|',
    ...[...entries.entries()]
      .sort((a, b) => b[1].ms - a[1].ms)
      .map(
        ([k, e]) =>
          `| ${k} | ${(e.calls / steps).toFixed(0)} | ${(e.ms / steps).toFixed(2)} | ${pct(e.ms / total)} | ${
            e.flop ? (e.flop / e.ms / 1e6).toFixed(1) : ''
          } |`,
      ),
    `| outside kernels (autograd, optimizer loop, allocation) | | ${((total - inKernels) / steps).toFixed(2)} | ${pct(
      (total - inKernels) / total,
    )} | |`,
    `| **step** | | **${(total / steps).toFixed(2)}** | 100 % | ${(allFlops / total / 1e6).toFixed(1)} |`,
    '',
    `Convolutions: ${(convFlops / convMs / 1e6).toFixed(1)} GFLOP/s in their kernels, ${pct(convMs / total)} of the step; the step runs at ${pct(
      convFlops / total / (convFlops / convMs),
    )} of their rate (convolution FLOP / step time over their kernels' GFLOP/s).`,
  ];
  return lines.join('\n');
}

const pct = (x: number) => `${(100 * x).toFixed(1)} %`;

/** Backend methods that run kernels (not allocation, views or lifetimes). */
function isKernel(name: string): boolean {
  return ![
    'alloc',
    'fromArray',
    'view',
    'threads',
    'setThreads',
    'heapStats',
    'setMemoryBudget',
    'wasmMemoryBytes',
    'openScope',
    'closeScope',
    'abandonScope',
    'freeNow',
    'dispose',
    'keep',
    'beginStep',
    'endStep',
  ].includes(name);
}
