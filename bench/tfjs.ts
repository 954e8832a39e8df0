// The peer: TensorFlow.js with its wasm backend (XNNPACK, SIMD) — one thread in the benchmark's process, and its
// threaded build in a child process (tfjs_peer_process.ts).
import { fork, type ChildProcess } from 'node:child_process';
import * as tf from '@tensorflow/tfjs-core';
import { getThreadsCount, setThreadsCount } from '@tensorflow/tfjs-backend-wasm';

/** Selects tfjs's wasm backend with `threads` threads; returns the count it runs with. */
export async function initTfjs(threads = 1): Promise<number> {
  setThreadsCount(threads);
  await tf.setBackend('wasm');
  await tf.ready();
  return getThreadsCount();
}

/** The benchmark's cases, as data, so a child process can build them too. */
export type PeerCase =
  | { op: 'matmul'; n: number }
  | { op: 'conv'; kind: 'forward' | 'input' | 'filter'; batch: number; hw: number; cin: number; cout: number }
  | { op: 'newtonSchulz'; d: number };

/** The timed callable of a case, or null where tfjs has no kernel for it. */
export function tfCase(c: PeerCase): (() => void) | null {
  if (c.op === 'matmul') return tfMatmul(c.n);
  if (c.op === 'conv') return tfConv(c.kind, c.batch, c.hw, c.cin, c.cout);
  return tfNewtonSchulz(c.d);
}

/** Milliseconds taken by `burst` calls of a case, made in a row. */
export type BurstTimer = (burst: number) => number | Promise<number>;

/** tfjs's threaded build, running in a child process; `threads` is the count its pool got (0: it did not load). */
export interface ThreadedPeer {
  threads: number;
  /** Builds a case in the child: its timer, or null where tfjs has no kernel for it. */
  build(c: PeerCase): Promise<BurstTimer | null>;
  close(): void;
}

export async function startThreadedPeer(threads: number): Promise<ThreadedPeer> {
  const child: ChildProcess = fork(new URL('./tfjs_peer_process.ts', import.meta.url), [String(threads)], {
    execArgv: ['--import', 'tsx'],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  type Reply = Record<string, number | null>;
  const pending: { resolve: (m: Reply) => void; reject: (e: Error) => void }[] = [];
  child.on('message', (m) => pending.shift()?.resolve(m as Reply));
  child.on('exit', (code) =>
    pending.splice(0).forEach((p) => p.reject(new Error(`tfjs peer process exited (${code})`))),
  );
  const ask = (message?: object) =>
    new Promise<Reply>((resolve, reject) => {
      pending.push({ resolve, reject });
      if (message) child.send(message);
    });
  const ready = await ask().catch(() => ({ threads: 0 }));
  return {
    threads: ready.threads ?? 0,
    async build(c) {
      const { id } = await ask({ build: c });
      return id === null ? null : async (burst) => (await ask({ time: id, burst })).ms!;
    },
    close: () => child.disconnect(),
  };
}

/** A timed callable for a tfjs op: builds inputs once, runs and syncs the result. */
export function tfMatmul(n: number): () => void {
  const a = tf.randomNormal([n, n]);
  const b = tf.randomNormal([n, n]);
  return () => {
    const c = tf.matMul(a, b);
    c.dataSync();
    c.dispose();
  };
}

/** NHWC conv2d, 3×3, 'same' padding, stride 1 — the same arithmetic as netdeconv's NCHW conv. */
export function tfConv(
  kind: 'forward' | 'input' | 'filter',
  n: number,
  hw: number,
  cin: number,
  cout: number,
): (() => void) | null {
  const x = tf.randomNormal([n, hw, hw, cin]) as tf.Tensor4D;
  const w = tf.randomNormal([3, 3, cin, cout]) as tf.Tensor4D;
  const dy = tf.randomNormal([n, hw, hw, cout]) as tf.Tensor4D;
  const run =
    kind === 'forward'
      ? () => tf.conv2d(x, w, 1, 'same')
      : kind === 'input'
        ? () => tf.conv2dTranspose(dy, w, [n, hw, hw, cin], 1, 'same')
        : () => tf.grad((ww: tf.Tensor) => tf.sum(tf.conv2d(x, ww as tf.Tensor4D, 1, 'same')))(w);
  try {
    run().dispose();
  } catch {
    return null; // tfjs-wasm registers no kernel for this (Conv2DBackpropFilter)
  }
  return () => {
    const y = run();
    y.dataSync();
    y.dispose();
  };
}

/** Newton–Schulz inverse square root with tfjs matMul, 5 iterations. */
export function tfNewtonSchulz(d: number): () => void {
  const m = tf.randomNormal([d, d]);
  const A = tf.add(tf.div(tf.matMul(m, m, true, false), d), tf.mul(tf.eye(d), 0.1));
  return () => {
    const out = tf.tidy(() => {
      const norm = tf.sqrt(tf.sum(tf.mul(A, A)));
      let Y = tf.div(A, norm);
      let Z = tf.eye(d);
      const I3 = tf.mul(tf.eye(d), 3);
      for (let i = 0; i < 5; i++) {
        const T = tf.mul(tf.sub(I3, tf.matMul(Z, Y)), 0.5);
        Y = tf.matMul(Y, T);
        Z = tf.matMul(T, Z);
      }
      return tf.div(Z, tf.sqrt(norm));
    });
    out.dataSync();
    out.dispose();
  };
}
