// A pool of workers that share the kernels' wasm memory, for splitting kernels across cores. Each worker
// instantiates the same module on the same shared WebAssembly.Memory and waits on its slot of a shared control
// block. A task is a share of calls of one kernel (argument lists written to the worker's slot); the caller wakes
// the workers, makes its own share of calls, and waits for theirs. Callers split work into disjoint outputs, each
// computed by exactly the calls a single thread would make, so results are bit-identical whatever the thread count
// (see parallel.ts). Works with Node's worker_threads, Web Workers and Deno.

/** Slot states in the control block. */
const IDLE = 0, TASK = 1, DONE = 2, ERROR = 3, EXIT = 4, READY = 5;
const SLOT_INTS = 4; // state, error length, kernel index, number of calls
/** Arguments per call (the longest kernel signature). */
export const MAX_ARGS = 16;
/** Argument floats a worker's slot holds: a share with more calls runs on the caller. */
const ARG_CAPACITY = 1 << 15;
const ERROR_BYTES = 512;
/** Kernels a worker can run. */
export const POOL_KERNELS = [
  'gemm_f32', 'im2col_f32', 'col2im_f32', 'copy2d_f32', 'binary_f32', 'unary_f32', 'clamp_f32', 'max_pool2d_f32',
  'avg_pool2d_f32', 'avg_pool2d_backward_f32',
] as const;
export type PoolKernel = (typeof POOL_KERNELS)[number];
/** One thread's share of a parallel kernel: the argument lists of its calls, in order. */
export type Share = readonly (readonly number[])[];

/**
 * The worker's program, as source so that every runtime can start it without a separate file. `nodeApi`: it is
 * started by node:worker_threads (Node, and Deno's implementation of it) rather than as a Web Worker.
 */
const workerSource = (nodeApi: boolean) => `
const IDLE = ${IDLE}, TASK = ${TASK}, DONE = ${DONE}, ERROR = ${ERROR}, EXIT = ${EXIT}, READY = ${READY};
function start(msg) {
  const { module, memory, control, index, slotInts, capacity, errorBytes, kernels } = msg;
  const ctl = new Int32Array(control, 0, slotInts * (index + 1));
  const s = index * slotInts;
  const a = new Float64Array(control, msg.argsOffset + index * capacity * 8, capacity);
  const err = new Uint8Array(control, msg.errorOffset + index * errorBytes, errorBytes);
  const exports = new WebAssembly.Instance(module, { env: { memory } }).exports;
  const fns = kernels.map((name) => exports[name]);
  Atomics.store(ctl, s, READY);
  Atomics.notify(ctl, s);
  for (;;) {
    let st = Atomics.load(ctl, s);
    // Spin briefly before sleeping: tasks come in bursts, and waking a sleeping thread costs tens of microseconds.
    for (let spin = 0; spin < 20000 && st !== TASK && st !== EXIT; spin++) st = Atomics.load(ctl, s);
    while (st !== TASK && st !== EXIT) { Atomics.wait(ctl, s, st); st = Atomics.load(ctl, s); }
    if (st === EXIT) return;
    try {
      const fn = fns[ctl[s + 2]];
      const calls = ctl[s + 3];
      for (let c = 0, o = 0; c < calls; c++, o += ${MAX_ARGS}) {
        fn(a[o], a[o + 1], a[o + 2], a[o + 3], a[o + 4], a[o + 5], a[o + 6], a[o + 7], a[o + 8], a[o + 9], a[o + 10], a[o + 11], a[o + 12], a[o + 13], a[o + 14], a[o + 15]);
      }
      Atomics.store(ctl, s, DONE);
    } catch (e) {
      const text = new TextEncoder().encode(String(e && e.message || e)).subarray(0, errorBytes);
      err.set(text);
      Atomics.store(ctl, s + 1, text.length);
      Atomics.store(ctl, s, ERROR);
    }
    Atomics.notify(ctl, s);
  }
}
${nodeApi ? "import('node:worker_threads').then(({ parentPort }) => parentPort.once('message', start));" : 'self.onmessage = (e) => start(e.data);'}
`;

interface WorkerHandle {
  postMessage(m: unknown): void;
  terminate(): unknown;
}

/** Whether this runtime can share wasm memory between threads. */
export function threadsSupported(): boolean {
  try {
    return typeof SharedArrayBuffer === 'function' && typeof Atomics === 'object' && new WebAssembly.Memory({ initial: 1, maximum: 1, shared: true }).buffer instanceof SharedArrayBuffer;
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
    const w = new Worker(workerSource(true), { eval: true, execArgv: [] });
    w.unref(); // an idle pool never keeps the process alive
    return w;
  }
  const url = URL.createObjectURL(new Blob([workerSource(false)], { type: 'text/javascript' }));
  return new Worker(url, { type: 'module' });
}

/** Blocks until the slot leaves `state` (Atomics.wait where the thread may block, a spin elsewhere). */
function waitWhile(ctl: Int32Array, slot: number, state: number): void {
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

  private constructor(private readonly workers: WorkerHandle[], control: SharedArrayBuffer, argsOffset: number, errorOffset: number, private readonly exports: Record<string, unknown>) {
    this.ctl = new Int32Array(control, 0, workers.length * SLOT_INTS);
    this.args = new Float64Array(control, argsOffset, workers.length * ARG_CAPACITY);
    this.errors = new Uint8Array(control, errorOffset, workers.length * ERROR_BYTES);
  }

  /** Starts `count` workers on `module` and `memory` (a shared memory); resolves once all are ready. */
  static async create(count: number, module: WebAssembly.Module, memory: WebAssembly.Memory, exports: object): Promise<ThreadPool> {
    const argsOffset = Math.ceil((count * SLOT_INTS * 4) / 8) * 8;
    const errorOffset = argsOffset + count * ARG_CAPACITY * 8;
    const control = new SharedArrayBuffer(errorOffset + count * ERROR_BYTES);
    const workers = await Promise.all(Array.from({ length: count }, () => spawn()));
    workers.forEach((w, index) => w.postMessage({ module, memory, control, index, slotInts: SLOT_INTS, capacity: ARG_CAPACITY, argsOffset, errorOffset, errorBytes: ERROR_BYTES, kernels: POOL_KERNELS }));
    const pool = new ThreadPool(workers, control, argsOffset, errorOffset, exports as Record<string, unknown>);
    const deadline = Date.now() + 30_000;
    for (let i = 0; i < count; i++) {
      while (Atomics.load(pool.ctl, i * SLOT_INTS) !== READY) {
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

  /**
   * Makes the calls of `kernel`: `shares[0]` on the caller, `shares[1 + i]` on worker i, all at once; returns when
   * all are done. A worker's failure is rethrown here with its message. A share too long for a worker's slot
   * runs on the caller instead.
   */
  run(kernel: PoolKernel, shares: readonly Share[]): void {
    const fn = this.exports[kernel] as (...args: number[]) => void;
    const sent: number[] = [];
    for (let t = 1; t < shares.length; t++) {
      const i = t - 1;
      const calls = shares[t];
      if (i >= this.workers.length || calls.length * MAX_ARGS > ARG_CAPACITY) continue;
      calls.forEach((argv, c) => this.args.set(argv, i * ARG_CAPACITY + c * MAX_ARGS));
      this.ctl[i * SLOT_INTS + 2] = POOL_KERNELS.indexOf(kernel);
      this.ctl[i * SLOT_INTS + 3] = calls.length;
      Atomics.store(this.ctl, i * SLOT_INTS, TASK);
      Atomics.notify(this.ctl, i * SLOT_INTS);
      sent.push(t);
    }
    let ownError: unknown = null;
    try {
      for (let t = 0; t < shares.length; t++) if (t === 0 || !sent.includes(t)) for (const argv of shares[t]) fn(...argv);
    } catch (e) {
      ownError = e;
    }
    const failures: string[] = [];
    for (const t of sent) {
      const slot = (t - 1) * SLOT_INTS;
      waitWhile(this.ctl, slot, TASK);
      if (Atomics.load(this.ctl, slot) === ERROR) {
        const len = Atomics.load(this.ctl, slot + 1);
        failures.push(`worker ${t - 1}: ${new TextDecoder().decode(this.errors.slice((t - 1) * ERROR_BYTES, (t - 1) * ERROR_BYTES + len))}`);
      }
      Atomics.store(this.ctl, slot, IDLE);
    }
    if (ownError) throw ownError;
    if (failures.length) throw new Error(`wasm kernel failed in a worker thread: ${failures.join('; ')}`);
  }

  /** Stops every worker. */
  close(): void {
    for (let i = 0; i < this.workers.length; i++) {
      Atomics.store(this.ctl, i * SLOT_INTS, EXIT);
      Atomics.notify(this.ctl, i * SLOT_INTS);
      void this.workers[i].terminate();
    }
  }
}
