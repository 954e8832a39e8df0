// The native column of the training table: the same step run by PyTorch (bench/torch_peer.py) in a child process,
// where the machine has Debian's python3-torch. OpenBLAS and OpenMP get the thread count through the environment,
// as a user running PyTorch on this many threads would set it.
import { spawnSync } from 'node:child_process';
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

/** Images per second of PyTorch's training step on `threads` threads (median step after a warm-up). */
export function nativeImagesPerSecond(
  c: NativeCase,
  threads: number,
  timing: { warmSeconds: number; measureSeconds: number; minSteps: number },
): number {
  const n = String(threads);
  const r = spawnSync(python, [script, JSON.stringify({ ...c, threads, ...timing })], {
    encoding: 'utf8',
    env: { ...process.env, OPENBLAS_NUM_THREADS: n, OMP_NUM_THREADS: n, MKL_NUM_THREADS: n },
  });
  if (r.status !== 0) throw new Error(`bench: PyTorch's step failed (${c.model}): ${r.stderr.trim().slice(-500)}`);
  return (JSON.parse(r.stdout.trim().split('\n').pop()!) as { imagesPerSecond: number }).imagesPerSecond;
}
