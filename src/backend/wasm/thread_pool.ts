// A pool of workers that share the kernels' wasm memory, for splitting kernels across cores. Each worker
// instantiates the same module on the same shared WebAssembly.Memory and sleeps on its slot of a shared control
// block. A parallel kernel is a list of calls with disjoint outputs (parallel.ts); the caller writes the list to
// shared memory, wakes the workers, and every thread — the caller too — makes the calls of its own share, then
// takes the next call left in the others' shares from their atomic counters until none is left. So a worker that
// wakes late (on a busy or virtualised machine a wake-up can take a millisecond) just takes fewer calls, and the
// caller withdraws a task no worker has started instead of waiting.
// Which thread makes a call never changes its result: outputs are bit-identical whatever the thread count.
// Works with Node's worker_threads, Web Workers and Deno. The workers' program is worker.ts; what both sides agree on
// is thread_protocol.ts.

import { KERNEL_NAMES } from './kernels.abi.js';
import {
  ASLEEP,
  ERROR,
  ERROR_LENGTH,
  EXIT,
  FAILED_FLAG,
  HEADER_INTS,
  IDLE,
  KERNEL,
  MAX_ARGS,
  MAX_CALLS,
  NUDGING,
  OWN_SHARE,
  PARTS,
  READY,
  RUNNING,
  SHARE_INTS,
  SLOT_INTS,
  TASK,
  type WorkerStart,
} from './thread_protocol.js';
import { WORKER_SOURCE } from './worker.bundle.js';

export { MAX_ARGS, WORKER_SPIN_MS } from './thread_protocol.js';
const ERROR_BYTES = 512;
// A sleeping worker gets no share of a short kernel that finds it asleep, only a nudge: measured on this VM, a single
// 128³ product (two calls) after 15 ms of idleness took 0.19 ms on the caller alone but 0.53 ms (p90 2.2 ms) when a
// just-woken worker took half (its core comes back slow), though the wake-up itself takes 0.07 ms. Once up, it polls
// until the caller is done with that kernel, however long it runs, and WORKER_SPIN_MS past: it joins the next one.
/** Polls the caller makes before it sleeps while a worker finishes its last call. */
const CALLER_SPINS = 100_000;
/** Kernels a worker can run: every export of the module. */
export const POOL_KERNELS = KERNEL_NAMES;
export type PoolKernel = (typeof POOL_KERNELS)[number];

interface WorkerHandle {
  postMessage(m: unknown): void;
  terminate(): unknown;
}

/** Whether this runtime can share wasm memory between threads. */
export function threadsSupported(): boolean {
  try {
    return (
      typeof SharedArrayBuffer === 'function' &&
      typeof Atomics === 'object' &&
      new WebAssembly.Memory({ initial: 1, maximum: 1, shared: true }).buffer instanceof SharedArrayBuffer
    );
  } catch {
    return false;
  }
}

/** The number of cores the runtime reports (1 when it reports none). */
export async function availableCores(): Promise<number> {
  const nav = (globalThis as { navigator?: { hardwareConcurrency?: number } }).navigator;
  if (nav?.hardwareConcurrency) return nav.hardwareConcurrency;
  const proc = (globalThis as { process?: { versions?: { node?: string } } }).process;
  if (proc?.versions?.node) {
    const os = await nodeBuiltin<typeof import('node:os')>('os');
    return os.availableParallelism?.() ?? os.cpus().length;
  }
  return 1;
}

/**
 * Imports a Node built-in by a computed name, so that bundlers for the browser neither resolve nor inline it (the
 * call only runs under Node).
 */
function nodeBuiltin<T>(name: string): Promise<T> {
  const specifier = `node:${name}`;
  return import(/* @vite-ignore */ specifier) as Promise<T>;
}

async function spawn(): Promise<WorkerHandle> {
  const proc = (globalThis as { process?: { versions?: { node?: string } } }).process;
  // Deno too: its node:worker_threads can unref a worker, which its Web Workers cannot (they would keep it alive).
  if (proc?.versions?.node || 'Deno' in globalThis) {
    const { Worker } = await nodeBuiltin<typeof import('node:worker_threads')>('worker_threads');
    // A clean worker: no inherited loaders or --input-type (the source runs the same as script or module).
    const w = new Worker(WORKER_SOURCE, { eval: true, execArgv: [] });
    w.unref(); // an idle pool never keeps the process alive
    return w;
  }
  const url = URL.createObjectURL(new Blob([WORKER_SOURCE], { type: 'text/javascript' }));
  return new Worker(url, { type: 'module' });
}

/** Blocks until the slot leaves `state` (Atomics.wait where the thread may block, a spin elsewhere). */
function waitWhile(ctl: Int32Array, slot: number, state: number): void {
  for (let spin = 0; spin < CALLER_SPINS; spin++) if (Atomics.load(ctl, slot) !== state) return;
  for (;;) {
    const st = Atomics.load(ctl, slot);
    if (st !== state) return;
    try {
      Atomics.wait(ctl, slot, state, 1000);
    } catch {
      // a browser's main thread may not block: spin instead
    }
  }
}

export class ThreadPool {
  private readonly ctl: Int32Array;
  private readonly args: Float64Array;
  private readonly errors: Uint8Array;

  private constructor(
    private readonly workers: WorkerHandle[],
    control: SharedArrayBuffer,
    private readonly sharesOffset: number,
    argsOffset: number,
    errorOffset: number,
    private readonly exports: Record<string, unknown>,
    private readonly memory: WebAssembly.Memory,
  ) {
    this.ctl = new Int32Array(control, 0, sharesOffset + (workers.length + 1) * SHARE_INTS);
    this.args = new Float64Array(control, argsOffset, MAX_CALLS * MAX_ARGS);
    this.errors = new Uint8Array(control, errorOffset, workers.length * ERROR_BYTES);
  }

  /** Starts `count` workers on `module` and `memory` (a shared memory); resolves once all are ready. */
  static async create(
    count: number,
    module: WebAssembly.Module,
    memory: WebAssembly.Memory,
    exports: object,
  ): Promise<ThreadPool> {
    const sharesOffset = HEADER_INTS + count * SLOT_INTS;
    const controlInts = sharesOffset + (count + 1) * SHARE_INTS;
    const argsOffset = Math.ceil((controlInts * 4) / 8) * 8;
    const errorOffset = argsOffset + MAX_CALLS * MAX_ARGS * 8;
    const control = new SharedArrayBuffer(errorOffset + count * ERROR_BYTES);
    const workers = await Promise.all(Array.from({ length: count }, () => spawn()));
    workers.forEach((w, index) => {
      const start: WorkerStart = {
        module,
        memory,
        control,
        index,
        controlInts,
        sharesOffset,
        argsOffset,
        errorOffset,
        errorBytes: ERROR_BYTES,
        kernels: POOL_KERNELS,
      };
      w.postMessage(start);
    });
    const pool = new ThreadPool(
      workers,
      control,
      sharesOffset,
      argsOffset,
      errorOffset,
      exports as Record<string, unknown>,
      memory,
    );
    const deadline = Date.now() + 30_000;
    for (let i = 0; i < count; i++) {
      while (Atomics.load(pool.ctl, pool.slot(i)) !== READY) {
        if (Date.now() > deadline) {
          pool.close();
          throw new Error(`thread pool: worker ${i} did not start within 30 s`);
        }
        await new Promise((r) => setTimeout(r, 5));
      }
    }
    return pool;
  }

  get size(): number {
    return this.workers.length;
  }

  private slot(worker: number): number {
    return HEADER_INTS + worker * SLOT_INTS;
  }

  private share(thread: number): number {
    return this.sharesOffset + thread * SHARE_INTS;
  }

  /**
   * Makes every call of `kernel` (argument lists), sharing them with up to `helpers` workers; returns when all are
   * done. A worker's failure is rethrown here with its message.
   *
   * A sleeping worker is woken, but takes part only in a kernel of at least two calls per thread (see
   * WORKER_SPIN_MS): woken late and slow, it then takes one call of several instead of half of a short kernel.
   *
   * `together`: calls that run one program together (run_steps_f32), which a thread that comes late joins where the
   * others are: a sleeping worker takes part whatever the number of calls, and a thread whose call fails sets the
   * int32 at byte offset `failedFlag` of wasm memory to 1, so that the others stop waiting for it.
   *
   * `alone`: one call that does the work of all `calls`, made instead of them when the caller is left with every
   * call (a GEMM's column blocks each pack the whole other operand: one call packs it once).
   */
  run(
    kernel: PoolKernel,
    calls: readonly (readonly number[])[],
    helpers: number,
    together?: { failedFlag: number },
    alone?: readonly number[],
  ): void {
    const fn = this.exports[kernel] as (...args: number[]) => void;
    const n = calls.length;
    const candidates = n > 1 && n <= MAX_CALLS ? Math.min(helpers, this.workers.length) : 0;
    const sleepersHelp = together !== undefined || n >= 2 * (candidates + 1);
    const helping: number[] = [];
    let nudging = false;
    for (let w = 0; w < candidates; w++) {
      const asleep = Atomics.load(this.ctl, this.slot(w) + ASLEEP) !== 0;
      if (asleep) {
        if (!nudging) Atomics.store(this.ctl, NUDGING, 1);
        nudging = true;
        Atomics.notify(this.ctl, this.slot(w));
      }
      if ((sleepersHelp || !asleep) && helping.length < n - 1) helping.push(w);
    }
    try {
      if (helping.length > 0) this.shareCalls(fn, kernel, calls, helping, together?.failedFlag ?? 0);
      else if (alone) fn(...alone);
      else for (const argv of calls) fn(...argv);
    } finally {
      if (nudging) Atomics.store(this.ctl, NUDGING, 0);
    }
  }

  /**
   * Makes `calls` with the `helping` workers. Thread t's share is the t-th contiguous run of calls; each thread makes
   * its own share's calls first, then takes what is left of the others' (from an atomic counter per share). So from
   * one kernel to the next the same thread tends to touch the same memory — the images it unfolded are the columns
   * it multiplies, the rows it normalised are the rows it activates — and finds them in its own cache, while a late
   * worker still just takes fewer calls.
   */
  private shareCalls(
    fn: (...args: number[]) => void,
    kernel: PoolKernel,
    calls: readonly (readonly number[])[],
    helping: readonly number[],
    failedFlag: number,
  ): void {
    const n = calls.length;
    const parts = helping.length + 1;
    calls.forEach((argv, c) => this.args.set(argv, c * MAX_ARGS));
    this.ctl[KERNEL] = POOL_KERNELS.indexOf(kernel);
    this.ctl[PARTS] = parts;
    this.ctl[FAILED_FLAG] = failedFlag;
    for (let t = 0; t < parts; t++) {
      this.ctl[this.share(t) + 1] = Math.floor(((t + 1) * n) / parts);
      Atomics.store(this.ctl, this.share(t), Math.floor((t * n) / parts));
    }
    helping.forEach((w, i) => {
      this.ctl[this.slot(w) + OWN_SHARE] = i + 1; // the caller is thread 0
      Atomics.store(this.ctl, this.slot(w), TASK);
      Atomics.notify(this.ctl, this.slot(w));
    });
    let ownError: unknown = null;
    try {
      for (let t = 0; t < parts; t++) {
        const share = this.share(t);
        const end = this.ctl[share + 1];
        for (let c = Atomics.add(this.ctl, share, 1); c < end; c = Atomics.add(this.ctl, share, 1)) fn(...calls[c]);
      }
    } catch (e) {
      ownError = e;
      // No one starts another call, or waits for this one.
      for (let t = 0; t < parts; t++) Atomics.store(this.ctl, this.share(t), this.ctl[this.share(t) + 1]);
      if (failedFlag) Atomics.store(new Int32Array(this.memory.buffer), failedFlag >>> 2, 1);
    }
    const failures: string[] = [];
    for (const w of helping) {
      const slot = this.slot(w);
      // Withdraw the task from a worker that has not started it; otherwise wait for its last call.
      if (Atomics.compareExchange(this.ctl, slot, TASK, IDLE) === TASK) continue;
      waitWhile(this.ctl, slot, RUNNING);
      if (Atomics.load(this.ctl, slot) === ERROR) {
        const len = Atomics.load(this.ctl, slot + ERROR_LENGTH);
        failures.push(
          `worker ${w}: ${new TextDecoder().decode(this.errors.slice(w * ERROR_BYTES, w * ERROR_BYTES + len))}`,
        );
      }
      Atomics.store(this.ctl, slot, IDLE);
    }
    if (ownError) throw ownError;
    if (failures.length) throw new Error(`wasm kernel failed in a worker thread: ${failures.join('; ')}`);
  }

  /** Workers asleep now (the next kernel wakes them, as does wake()). */
  sleeping(): number {
    let count = 0;
    for (let w = 0; w < this.workers.length; w++) count += Atomics.load(this.ctl, this.slot(w) + ASLEEP);
    return count;
  }

  /** Wakes every sleeping worker, so that it takes part in the next kernel; returns at once. */
  wake(): void {
    for (let w = 0; w < this.workers.length; w++)
      if (Atomics.load(this.ctl, this.slot(w) + ASLEEP)) Atomics.notify(this.ctl, this.slot(w));
  }

  /** Stops every worker. */
  close(): void {
    for (let i = 0; i < this.workers.length; i++) {
      Atomics.store(this.ctl, this.slot(i), EXIT);
      Atomics.notify(this.ctl, this.slot(i));
      void this.workers[i].terminate();
    }
  }
}
