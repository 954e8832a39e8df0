// The peer: TensorFlow.js with its wasm backend (XNNPACK, SIMD), one thread, in the same process.
import * as tf from '@tensorflow/tfjs-core';
import { setThreadsCount } from '@tensorflow/tfjs-backend-wasm';

export async function initTfjs(): Promise<void> {
  setThreadsCount(1);
  await tf.setBackend('wasm');
  await tf.ready();
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
export function tfConv(kind: 'forward' | 'input' | 'filter', n: number, hw: number, cin: number, cout: number): (() => void) | null {
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
