// A chain of dependent small steps run by every thread together: the Newton–Schulz iteration and its backward pass,
// whose d×d products (d = 72: ~20 µs each) are too short to hand out one by one from JavaScript.
//
// The caller (src/backend/wasm/steps.ts) writes the program: steps of 16 words — a product, a pass over d² values,
// each matrix named by a buffer (an index into a table of pointers) and an offset — grouped in phases whose steps
// are independent. Each step is cut into chunks (a product into blocks of columns of C; a pass is one chunk). Every
// thread that calls run_steps_f32 takes chunks of the current phase from atomic counters, counts those it finished
// on another, and when none is left to take waits until all are finished before it moves to the next phase.
// A thread that starts late finds the phases before empty and joins where the others are; one alone runs
// everything. Which thread computes a chunk never changes its bits.

import { copyFloats, fill_f32 } from './copy';
import { binary_f32 } from './elementwise';
import { gemm_either_f32 } from './gemm';
import { mirror_upper_f32, scale_add_identity_f32, symmetrize_f32 } from './linalg';

// Step kinds and layout (../abi.ts). Word 0: kind; word 1: chunks; then arguments (a product's block width in the
// last word). A phase: its first step and its chunks; its counters (finished, then each share's taken) fill a line.
import {
  STEP_PRODUCT as PRODUCT, STEP_SCALE_IDENTITY as SCALE_IDENTITY, STEP_IDENTITY as IDENTITY, STEP_BINARY as BINARY,
  STEP_COPY as COPY, STEP_MIRROR as MIRROR, STEP_SYMMETRIZE as SYMMETRIZE, STEP_WORDS, PHASE_WORDS, COUNTER_WORDS,
  PRODUCT_TRANS_B, PRODUCT_ACCUMULATE, PRODUCT_DOT, PRODUCT_TRANS_A, PRODUCT_UPPER,
} from '../abi';
const STEP_BYTES: usize = <usize>STEP_WORDS << 2;
const PHASE_BYTES: usize = <usize>PHASE_WORDS << 2, COUNTER_BYTES: usize = <usize>COUNTER_WORDS << 2;
/** Counter block: [threads entered, failed] then a line per phase. */
const FAILED: usize = 4;

/** *p += 1, returning the old value: atomically in the shared-memory builds (a single thread in the others). */
// @ts-ignore: decorator
@inline function fetchIncrement(p: usize): i32 {
  if (ASC_FEATURE_THREADS) return atomic.add<i32>(p, 1);
  const v = load<i32>(p);
  store<i32>(p, v + 1);
  return v;
}

// @ts-ignore: decorator
@inline function loadShared(p: usize): i32 {
  if (ASC_FEATURE_THREADS) return atomic.load<i32>(p);
  return load<i32>(p);
}

/** Words w, w+1 of a step name a float: a buffer (its pointer is in `bases`), an offset; buffer −1: the last word. */
// @ts-ignore: decorator
@inline function pointer(step: usize, w: usize, bases: usize): usize {
  const buffer = load<i32>(step + (w << 2));
  if (buffer < 0) return step + STEP_BYTES - 4;
  return load<usize>(bases + (<usize>buffer << 2)) + (<usize>load<i32>(step + (w << 2), 4) << 2);
}

/**
 * Chunk j of the step at `step`. A product C (+)= op(A)·op(B) of d×d matrices (flags: transA 1, transB 2,
 * accumulate 4, dot-product kernel 8, upper 16) computes columns [j·width, (j+1)·width) of C, exactly as the whole
 * product computes them — with `upper` (A not transposed), only their rows above the block's bottom edge, the
 * blocks a symmetric C needs; `scratch` is the thread's GEMM packing area. A mirror or symmetrize step's chunk j is
 * the same block of columns.
 */
function runChunk(step: usize, j: i32, bases: usize, scratch: usize): void {
  const kind = load<i32>(step);
  if (kind == PRODUCT) {
    const c = pointer(step, 2, bases), a = pointer(step, 4, bases), b = pointer(step, 6, bases);
    const d = load<i32>(step, 32), flags = load<i32>(step, 36), width = load<i32>(step, 60);
    const j0 = j * width;
    const rows = flags & PRODUCT_UPPER ? min(d, j0 + width) : d;
    const transB = i32((flags & PRODUCT_TRANS_B) != 0);
    const bBlock = b + (<usize>(transB ? j0 * d : j0) << 2);
    gemm_either_f32(i32((flags & PRODUCT_DOT) != 0), c + (<usize>j0 << 2), d, a, bBlock, d, rows, min(width, d - j0), d, i32((flags & PRODUCT_TRANS_A) != 0), transB, i32((flags & PRODUCT_ACCUMULATE) != 0), scratch);
  } else if (kind == MIRROR) {
    const width = load<i32>(step, 60), d = load<i32>(step, 16), j0 = j * width;
    mirror_upper_f32(pointer(step, 2, bases), d, j0, min(d, j0 + width));
  } else if (kind == SYMMETRIZE) {
    const width = load<i32>(step, 60), d = load<i32>(step, 24), j0 = j * width;
    symmetrize_f32(pointer(step, 2, bases), pointer(step, 4, bases), d, load<f32>(step, 28), j0, min(d, j0 + width));
  } else if (kind == SCALE_IDENTITY) {
    // dst ← alpha·src + beta·I
    const dst = pointer(step, 2, bases), src = pointer(step, 4, bases), d = load<i32>(step, 24);
    if (dst != src) copyFloats(dst, src, d * d);
    scale_add_identity_f32(dst, d, 1, load<f32>(step, 28), load<f32>(step, 32));
  } else if (kind == IDENTITY) {
    const dst = pointer(step, 2, bases), d = load<i32>(step, 16);
    fill_f32(dst, d * d, 0);
    scale_add_identity_f32(dst, d, 1, 1, 1);
  } else if (kind == BINARY) {
    // out ← x (op) y over n floats; y read with stride 0 (a scalar) or 1.
    const y = pointer(step, 7, bases);
    binary_f32(load<i32>(step, 8), pointer(step, 3, bases), 0, pointer(step, 5, bases), 0, 1, y, 0, load<i32>(step, 36), 1, load<i32>(step, 40));
  } else if (kind == COPY) {
    copyFloats(pointer(step, 2, bases), pointer(step, 4, bases), load<i32>(step, 24));
  } else unreachable();
}

/**
 * Runs the program's `phaseCount` phases (records at `phases`, steps at `steps`; its buffers' pointers at `bases`)
 * together with the other calls on the same program, `threads` in all. `counters`: (phaseCount + 1)·16 zeroed
 * words; `scratch`: a packing area of `scratchBytes` per call. A phase's chunks are cut into a contiguous share per
 * thread; a thread makes its own share's chunks first, then takes what is left of the others' — so from one phase to
 * the next the same thread tends to make the same products, and the first thread (the caller) the passes, as the
 * pool's calls did — and waits until the phase's chunks are all finished. A thread that fails (a trap) cannot count
 * its chunk finished: the JavaScript around it then sets the failed word, and the others stop waiting.
 */
export function run_steps_f32(steps: usize, phases: usize, phaseCount: i32, bases: usize, counters: usize, scratch: usize, scratchBytes: i32, threads: i32): void {
  const slot = fetchIncrement(counters);
  const own = scratch + <usize>slot * <usize>scratchBytes;
  threads = max(threads, 1);
  for (let p = 0; p < phaseCount; p++) {
    const phase = phases + <usize>p * PHASE_BYTES;
    const first = steps + <usize>load<i32>(phase) * STEP_BYTES;
    const chunks = load<i32>(phase, 4);
    // The phase's line: chunks finished, then each share's count of chunks taken.
    const line = counters + (<usize>(p + 1)) * COUNTER_BYTES;
    for (let k = 0; k < threads; k++) {
      const share = (slot + k) % threads;
      // Shares [⌈t·chunks/threads⌉, ⌈(t+1)·chunks/threads⌉): a lone chunk (a pass) is the first thread's.
      const start = (share * chunks + threads - 1) / threads, end = ((share + 1) * chunks + threads - 1) / threads;
      const taken = line + 4 + (<usize>share << 2);
      for (let c = start + fetchIncrement(taken); c < end; c = start + fetchIncrement(taken)) {
        // The step holding chunk c: steps in order, each with its count of chunks.
        let step = first;
        let j = c;
        for (let n = load<i32>(step, 4); j >= n; n = load<i32>(step, 4)) {
          j -= n;
          step += STEP_BYTES;
        }
        runChunk(step, j, bases, own);
        fetchIncrement(line);
      }
    }
    while (loadShared(line) < chunks) if (loadShared(counters + FAILED)) return;
  }
}
