// The native column of the training table: the same step run by PyTorch (bench/torch_peer.py) in a child process,
// where the machine has Debian's python3-torch, sampled between netdeconv's own samples of the row. OpenBLAS and
// OpenMP get the thread count through the environment, as a user running PyTorch on this many threads would set it.
import { spawn, spawnSync } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

const python = '/usr/bin/python3';
const script = fileURLToPath(new URL('./torch_peer.py', import.meta.url));

/** A training row as torch_peer.py builds it. */
export interface NativeCase {
  model: 'mnist-cnn' | 'resnet18';
  width: number;
  deconv: boolean;
  block: number;
  nIter: number;
  samplingStride: number;
  blockFc: number;
  batch: number;
  inShape: number[];
}

/** PyTorch's version where `/usr/bin/python3 -c 'import torch'` works, else null (with the reason in `why`). */
export function nativeTorch(): { version: string | null; why: string } {
  const r = spawnSync(python, ['-c', 'import torch; print(torch.__version__)'], { encoding: 'utf8' });
  if (r.status === 0) return { version: r.stdout.trim(), why: '' };
  return {
    version: null,
    why: r.error ? `${python} not found` : `${python} cannot import torch (apt-get install python3-torch)`,
  };
}

/** PyTorch's training step for one row, in a child process that takes its samples when asked. */
export interface NativeStepper {
  /** Seconds per step over `steps` steps in a row. */
  time(steps: number): Promise<number>;
  close(): void;
}

/**
 * Starts PyTorch's step for a row on `threads` threads (bench/torch_peer.py), resolving once the model is built. Its
 * samples are taken between netdeconv's, so both see the machine in the same state (this VM's speed drifts by up to
 * 2× over minutes).
 */
export function startNativeStepper(c: NativeCase, threads: number): Promise<NativeStepper> {
  const n = String(threads);
  const child = spawn(python, [script, JSON.stringify({ ...c, threads })], {
    env: { ...process.env, OPENBLAS_NUM_THREADS: n, OMP_NUM_THREADS: n, MKL_NUM_THREADS: n },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (d) => {
    stderr = (stderr + d).slice(-2000);
  });
  const waiting: { resolve: (line: string) => void; reject: (e: Error) => void }[] = [];
  const failed = () => new Error(`bench: PyTorch's step failed (${c.model}): ${stderr.trim().slice(-500)}`);
  createInterface({ input: child.stdout }).on('line', (line) => waiting.shift()?.resolve(line));
  child.on('exit', () => {
    for (const w of waiting.splice(0)) w.reject(failed());
  });
  const next = () => new Promise<string>((resolve, reject) => waiting.push({ resolve, reject }));
  return next().then(() => ({
    async time(steps) {
      const reply = next();
      child.stdin.write(`${steps}\n`);
      return (JSON.parse(await reply) as { seconds: number }).seconds / steps;
    },
    close: () => void child.kill(),
  }));
}
