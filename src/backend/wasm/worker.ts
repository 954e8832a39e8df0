// A thread pool worker (thread_pool.ts): instantiates the kernels on the shared memory, then makes the calls of each
// task it is given until told to exit. The build bundles this file into a string (worker.bundle.ts), from which every
// runtime starts it: node:worker_threads (Node, Bun, Deno) as an eval'd script, a browser as a Blob URL.
import {
  ASLEEP,
  DONE,
  ERROR,
  ERROR_LENGTH,
  EXIT,
  FAILED_FLAG,
  HEADER_INTS,
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
  WORKER_SPIN_MS,
  type WorkerStart,
} from './thread_protocol.js';

type Kernel = (...args: number[]) => void;

function serve(msg: WorkerStart): void {
  const { module, memory, control, index, errorBytes, kernels, sharesOffset } = msg;
  const ctl = new Int32Array(control, 0, msg.controlInts);
  const s = HEADER_INTS + index * SLOT_INTS;
  const a = new Float64Array(control, msg.argsOffset, MAX_CALLS * MAX_ARGS);
  const err = new Uint8Array(control, msg.errorOffset + index * errorBytes, errorBytes);
  const exports = new WebAssembly.Instance(module, { env: { memory } }).exports;
  const fns = kernels.map((name) => exports[name] as Kernel);
  Atomics.store(ctl, s, READY);
  Atomics.notify(ctl, s);
  for (;;) {
    let st = Atomics.load(ctl, s);
    for (let until = performance.now() + WORKER_SPIN_MS; st !== TASK && st !== EXIT; ) {
      for (let spin = 0; spin < 64 && st !== TASK && st !== EXIT; spin++) st = Atomics.load(ctl, s);
      const now = performance.now();
      if (Atomics.load(ctl, NUDGING)) until = now + WORKER_SPIN_MS;
      else if (now >= until) break;
    }
    if (st !== TASK && st !== EXIT) {
      // Sleep until a task or a nudge comes, then poll again.
      Atomics.store(ctl, s + ASLEEP, 1);
      Atomics.wait(ctl, s, st);
      Atomics.store(ctl, s + ASLEEP, 0);
      continue;
    }
    if (st === EXIT) return;
    // The caller may have withdrawn the task (it made every call itself): then sleep again.
    if (Atomics.compareExchange(ctl, s, TASK, RUNNING) !== TASK) continue;
    try {
      const fn = fns[ctl[KERNEL]];
      const parts = ctl[PARTS];
      const me = ctl[s + OWN_SHARE];
      // Its own share first, then whatever is left of the others'.
      for (let k = 0; k < parts; k++) {
        const share = sharesOffset + ((me + k) % parts) * SHARE_INTS;
        const end = ctl[share + 1];
        for (let c = Atomics.add(ctl, share, 1); c < end; c = Atomics.add(ctl, share, 1)) {
          const o = c * MAX_ARGS;
          // biome-ignore format: one argument list, as the kernels take it
          fn(a[o], a[o + 1], a[o + 2], a[o + 3], a[o + 4], a[o + 5], a[o + 6], a[o + 7], a[o + 8], a[o + 9], a[o + 10], a[o + 11], a[o + 12], a[o + 13], a[o + 14], a[o + 15]);
        }
      }
      Atomics.store(ctl, s, DONE);
    } catch (e) {
      const flag = ctl[FAILED_FLAG];
      if (flag) Atomics.store(new Int32Array(memory.buffer), flag >>> 2, 1);
      const text = new TextEncoder().encode(String((e as Error)?.message ?? e)).subarray(0, errorBytes);
      err.set(text);
      Atomics.store(ctl, s + ERROR_LENGTH, text.length);
      Atomics.store(ctl, s, ERROR);
    }
    Atomics.notify(ctl, s);
  }
}

// Started by node:worker_threads where the runtime has it (thread_pool.ts spawns it so), else as a Web Worker.
const proc = (globalThis as { process?: { versions?: { node?: string } } }).process;
if (proc?.versions?.node || 'Deno' in globalThis) {
  const specifier = 'node:worker_threads';
  (import(specifier) as Promise<typeof import('node:worker_threads')>).then(({ parentPort }) =>
    parentPort?.once('message', serve),
  );
} else {
  (globalThis as unknown as { onmessage: (e: MessageEvent<WorkerStart>) => void }).onmessage = (e) => serve(e.data);
}
