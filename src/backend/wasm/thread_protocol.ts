// What the thread pool (thread_pool.ts) and its workers (worker.ts) agree on: the control block's layout in shared
// memory, the slot states, and the message that starts a worker.

/** Worker slot states. */
export const IDLE = 0,
  TASK = 1,
  RUNNING = 2,
  DONE = 3,
  ERROR = 4,
  EXIT = 5,
  READY = 6;
/**
 * The control block: a header (the kernel, the number of threads sharing the calls, whether the caller is running a
 * kernel that found a worker asleep, the address of the calls' failed flag); a slot per worker (state, error length,
 * whether it sleeps, the share it starts with); then a share per thread (its next call, one past its last). Each
 * fills a 64-byte cache line, so a worker polling its slot and threads taking calls do not contend for a line.
 */
export const KERNEL = 0,
  PARTS = 1,
  NUDGING = 2,
  FAILED_FLAG = 3,
  HEADER_INTS = 16,
  SLOT_INTS = 16,
  SHARE_INTS = 16;
/** Offsets in a worker's slot, after its state (at 0). */
export const ERROR_LENGTH = 1,
  ASLEEP = 2,
  OWN_SHARE = 3;
/** Arguments per call (the longest kernel signature). */
export const MAX_ARGS = 16;
/** Calls the shared list holds: a longer list runs on the caller alone. */
export const MAX_CALLS = 4096;
/**
 * Milliseconds a worker polls its slot before it sleeps. Parallel kernels come in bursts with JS between them, and
 * waking a sleeping thread can take milliseconds on a virtualised machine (its core goes idle): a worker that slept
 * between the kernels of a training step made 2 threads barely faster than 1. Polls are counted in time, not
 * iterations, because an iteration's cost varies tenfold between the interpreter and optimised code.
 */
export const WORKER_SPIN_MS = 5;

/** The message that starts a worker: the module and memory to run, and where its part of the control block is. */
export interface WorkerStart {
  module: WebAssembly.Module;
  memory: WebAssembly.Memory;
  control: SharedArrayBuffer;
  /** This worker's index (its slot). */
  index: number;
  controlInts: number;
  sharesOffset: number;
  argsOffset: number;
  errorOffset: number;
  errorBytes: number;
  /** The kernels by number, as the caller names them in the header's KERNEL word. */
  kernels: readonly string[];
}
