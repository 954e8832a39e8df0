// A pool of workers that share the kernels' wasm memory, for splitting a GEMM across cores. Each worker
// instantiates the same module on the same shared WebAssembly.Memory and waits on its slot of a shared control
// block; the caller writes a task's arguments, wakes the workers, computes its own share, and waits for theirs.
// Shares are disjoint column blocks of C, each computed exactly as a single-threaded call would compute it, so the
// result is bit-identical whatever the thread count. Works with Node's worker_threads, Web Workers and Deno.

/** Slot states in the control block. */
const IDLE = 0, TASK = 1, DONE = 2, ERROR = 3, EXIT = 4, READY = 5;
const SLOT_INTS = 2; // state, error length
const ARGS = 12; // gemm_f32 arguments
const ERROR_BYTES = 512;

/**
 * The worker's program, as source so that every runtime can start it without a separate file. `nodeApi`: it is
 * started by node:worker_threads (Node, and Deno's implementation of it) rather than as a Web Worker.
 */
const workerSource = (nodeApi: boolean) => `
const IDLE = ${IDLE}, TASK = ${TASK}, DONE = ${DONE}, ERROR = ${ERROR}, EXIT = ${EXIT}, READY = ${READY};
function start(msg) {
  const { module, memory, control, index, slotInts, args, errorBytes } = msg;
  const ctl = new Int32Array(control, 0, slotInts * (index + 1));
  const s = index * slotInts;
  const argv = new Float64Array(control, msg.argsOffset + index * args * 8, args);
  const err = new Uint8Array(control, msg.errorOffset + index * errorBytes, errorBytes);
  const exports = new WebAssembly.Instance(module, { env: { memory } }).exports;
  Atomics.store(ctl, s, READY);
  Atomics.notify(ctl, s);
  for (;;) {
    let st = Atomics.load(ctl, s);
    while (st !== TASK && st !== EXIT) { Atomics.wait(ctl, s, st); st = Atomics.load(ctl, s); }
    if (st === EXIT) return;
    try {
      exports.gemm_f32(...argv);
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

  private constructor(private readonly workers: WorkerHandle[], control: SharedArrayBuffer, argsOffset: number, errorOffset: number) {
    this.ctl = new Int32Array(control, 0, workers.length * SLOT_INTS);
    this.args = new Float64Array(control, argsOffset, workers.length * ARGS);
    this.errors = new Uint8Array(control, errorOffset, workers.length * ERROR_BYTES);
  }

  /** Starts `count` workers on `module` and `memory` (a shared memory); resolves once all are ready. */
  static async create(count: number, module: WebAssembly.Module, memory: WebAssembly.Memory): Promise<ThreadPool> {
    const argsOffset = Math.ceil((count * SLOT_INTS * 4) / 8) * 8;
    const errorOffset = argsOffset + count * ARGS * 8;
    const control = new SharedArrayBuffer(errorOffset + count * ERROR_BYTES);
    const workers = await Promise.all(Array.from({ length: count }, () => spawn()));
    workers.forEach((w, index) => w.postMessage({ module, memory, control, index, slotInts: SLOT_INTS, args: ARGS, argsOffset, errorOffset, errorBytes: ERROR_BYTES }));
    const pool = new ThreadPool(workers, control, argsOffset, errorOffset);
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
   * Runs `gemm_f32` on each worker with its argument list, while the caller runs `own()`; returns when all are
   * done. A worker's failure is rethrown here with its message.
   */
  run(tasks: number[][], own: () => void): void {
    tasks.forEach((argv, i) => {
      this.args.set(argv, i * ARGS);
      Atomics.store(this.ctl, i * SLOT_INTS, TASK);
      Atomics.notify(this.ctl, i * SLOT_INTS);
    });
    let ownError: unknown = null;
    try {
      own();
    } catch (e) {
      ownError = e;
    }
    const failures: string[] = [];
    tasks.forEach((_, i) => {
      const slot = i * SLOT_INTS;
      waitWhile(this.ctl, slot, TASK);
      if (Atomics.load(this.ctl, slot) === ERROR) {
        const len = Atomics.load(this.ctl, slot + 1);
        failures.push(`worker ${i}: ${new TextDecoder().decode(this.errors.slice(i * ERROR_BYTES, i * ERROR_BYTES + len))}`);
      }
      Atomics.store(this.ctl, slot, IDLE);
    });
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
