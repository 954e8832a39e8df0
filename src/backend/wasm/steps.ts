// Chains of small dependent steps on d×d matrices — the Newton–Schulz iteration and its backward pass — written as
// one program that every thread runs together (run_steps_f32, assembly/kernels/steps.ts) instead of one pool call
// per product: at d = 72 a product takes ~20 µs, and each handing-out from JavaScript a few.
//
// A program is a list of phases; the steps of a phase are independent, and each phase reads what the phases before
// it wrote. Products are cut into blocks of columns so that the threads share even a phase's only product. Steps
// name their matrices as (buffer, offset) — buffers are bound to pointers when the program runs — so a program
// depends only on the shapes, and is built once per shape.
import type { Heap } from './heap.js';
import type { KernelExports } from './loader.js';
import type { Threads } from './parallel.js';

// Step kinds, flags and layout, shared with assembly/kernels/steps.ts (assembly/abi.ts).
import {
  COUNTER_WORDS,
  NR,
  PHASE_WORDS,
  PRODUCT_ACCUMULATE as ACCUMULATE,
  PRODUCT_DOT as DOT,
  PRODUCT_TRANS_A as TRANS_A,
  PRODUCT_TRANS_B as TRANS_B,
  PRODUCT_UPPER as UPPER,
  STEP_BINARY as BINARY,
  STEP_COPY as COPY,
  STEP_IDENTITY as IDENTITY,
  STEP_MIRROR as MIRROR,
  STEP_PRODUCT as PRODUCT,
  STEP_SCALE_IDENTITY as SCALE_IDENTITY,
  STEP_SYMMETRIZE as SYMMETRIZE,
  STEP_WORDS,
} from './kernels.abi.js';

/** Word of a BINARY step that holds an immediate scalar operand, and the buffer index that selects it. */
const IMMEDIATE_WORD = STEP_WORDS - 1,
  IMMEDIATE = -1;
/**
 * Below this many multiply-adds per product a program runs on one thread: sharing Newton–Schulz steps took 0.70× the
 * time at d = 16, 1.0× at 36, 1.2–1.4× at 72 (measured).
 */
const MIN_SHARED_WORK = 1 << 17;
/**
 * Columns per chunk of the steps on symmetric matrices (upper products, mirror, symmetrize), whatever the thread
 * count: an upper product computes, for each block of columns, the rows down to the block's bottom edge — at d = 576,
 * 0.56 of the full product in blocks of 64.
 */
export const SYMMETRIC_BLOCK = 64;

/** A float in one of the buffers a program is run with: buffer index, offset in floats. */
export type Ref = readonly [buffer: number, offset: number];

/**
 * C (+)= op(A)·op(B): which operands are transposed, whether C accumulates, and whether only C's upper blocks are
 * made (`upper`: a symmetric C, completed by a mirror step; A not transposed).
 */
export interface ProductOptions {
  transA?: boolean;
  transB?: boolean;
  accumulate?: boolean;
  upper?: boolean;
}

/** A program laid out for some number of threads: its step words (each phase's in order) and phase table. */
export interface Layout {
  steps: Int32Array;
  phases: Int32Array;
}

/**
 * A program's phases as they are built, each the words of its steps (STEP_WORDS a step): `endPhase()` closes a phase (not `then`, which would make the builder a thenable).
 * Every matrix is d×d, every pass over d² floats.
 */
export class StepProgram {
  readonly phases: number[][] = [[]];
  private readonly layouts = new Map<number, Layout>();

  constructor(readonly d: number) {}

  /** A step of these words (the rest 0). */
  private add(words: readonly number[]): this {
    const phase = this.phases[this.phases.length - 1];
    for (let w = 0; w < STEP_WORDS; w++) phase.push(w < words.length ? words[w] : 0);
    return this;
  }

  /**
   * C (+)= op(A)·op(B). A·Bᵀ takes the dot-product kernel, as Gemm.run does at these sizes, so the results are
   * those of the product made on its own. Its chunk count and block width are set by the layout.
   */
  product(
    c: Ref,
    a: Ref,
    b: Ref,
    { transA = false, transB = false, accumulate = false, upper = false }: ProductOptions = {},
  ): this {
    if (upper && transA) throw new Error('StepProgram.product: an upper product reads A as stored (no transA)');
    const flags =
      (transA ? TRANS_A : 0) |
      (transB ? TRANS_B : 0) |
      (accumulate ? ACCUMULATE : 0) |
      (transB && !transA ? DOT : 0) |
      (upper ? UPPER : 0);
    return this.add([PRODUCT, 0, ...c, ...a, ...b, this.d, flags, 0]);
  }

  /** C's blocks below the diagonal ← the transposed blocks above it (after upper products). */
  mirror(c: Ref): this {
    return this.add([MIRROR, 0, ...c, this.d]);
  }

  /** dst ← alpha·(src + srcᵀ) (dst ≠ src). */
  symmetrize(dst: Ref, src: Ref, alpha: number): this {
    return this.add([SYMMETRIZE, 0, ...dst, ...src, this.d, f32Bits(alpha)]);
  }

  /** dst ← alpha·src + beta·I. */
  scaleIdentity(dst: Ref, src: Ref, alpha: number, beta: number): this {
    return this.add([SCALE_IDENTITY, 1, ...dst, ...src, this.d, f32Bits(alpha), f32Bits(beta)]);
  }

  /** dst ← I. */
  identity(dst: Ref): this {
    return this.add([IDENTITY, 1, ...dst, this.d]);
  }

  /**
   * out ← x (op) y elementwise (op: a BINARY_CODE). y: a matrix, `{ scalar: ref }` for one float in memory, or
   * `{ scalar: number }` for a constant.
   */
  binary(code: number, out: Ref, x: Ref, y: Ref | { scalar: Ref | number }): this {
    const n = this.d * this.d;
    if (!('scalar' in y)) return this.add([BINARY, 1, code, ...out, ...x, ...y, 1, n]);
    if (typeof y.scalar !== 'number') return this.add([BINARY, 1, code, ...out, ...x, ...y.scalar, 0, n]);
    this.add([BINARY, 1, code, ...out, ...x, IMMEDIATE, 0, 0, n]);
    const phase = this.phases[this.phases.length - 1];
    phase[phase.length - STEP_WORDS + IMMEDIATE_WORD] = f32Bits(y.scalar);
    return this;
  }

  /** dst ← src. */
  copy(dst: Ref, src: Ref): this {
    return this.add([COPY, 1, ...dst, ...src, this.d * this.d]);
  }

  /** Closes the phase: the steps after read what the steps before wrote. */
  endPhase(): this {
    if (this.phases[this.phases.length - 1].length > 0) this.phases.push([]);
    return this;
  }

  /** Independent programs of the same phases (a batch of chains) as one: phase p holds every program's phase p. */
  static zip(programs: readonly StepProgram[]): StepProgram {
    if (programs.length === 1) return programs[0];
    const zipped = new StepProgram(programs[0].d);
    const phases = Math.max(...programs.map((p) => p.phases.length));
    zipped.phases.length = 0;
    for (let i = 0; i < phases; i++) zipped.phases.push(programs.flatMap((p) => p.phases[i] ?? []));
    return zipped;
  }

  /** The program laid out for `threads` threads: products in blocks of columns, enough for each thread to have one. */
  layout(threads: number): Layout {
    let layout = this.layouts.get(threads);
    if (layout) return layout;
    const { d } = this;
    const phases = this.phases.filter((p) => p.length > 0);
    layout = { steps: new Int32Array(phases.flat()), phases: new Int32Array(phases.length * PHASE_WORDS) };
    let s = 0;
    phases.forEach((phase, p) => {
      const first = s;
      let products = 0;
      for (let w = 0; w < phase.length; w += STEP_WORDS) products += +(phase[w] === PRODUCT);
      const width = Math.ceil(d / Math.ceil(threads / Math.max(1, products)) / NR) * NR;
      let chunks = 0;
      for (; s < first + phase.length / STEP_WORDS; s++) {
        const step = layout.steps.subarray(s * STEP_WORDS, (s + 1) * STEP_WORDS);
        const symmetric = step[0] === MIRROR || step[0] === SYMMETRIZE || (step[0] === PRODUCT && step[9] & UPPER);
        const w = symmetric ? SYMMETRIC_BLOCK : width;
        if (step[0] === PRODUCT || symmetric) [step[1], step[STEP_WORDS - 1]] = [Math.ceil(d / w), w];
        chunks += step[1];
      }
      layout.phases.set([first, chunks], p * PHASE_WORDS);
    });
    this.layouts.set(threads, layout);
    return layout;
  }
}

const bitsOfFloat = new Float32Array(1);
const floatBits = new Int32Array(bitsOfFloat.buffer);

/** The bits of a float32, for a word of a program. */
function f32Bits(v: number): number {
  bitsOfFloat[0] = v;
  return floatBits[0];
}

/** Bytes of a thread's GEMM packing area for d×d products (a multiple of 16). */
export function packingBytes(k: Pick<KernelExports, 'gemm_scratch_floats'>, d: number): number {
  return 16 * Math.ceil(k.gemm_scratch_floats(d, d) / 4);
}

/**
 * Where the parts of a program's scratch lie (byte offsets, from `start`): the counters (a 64-byte line per phase,
 * and one for the threads), the steps, a packing area of `packingBytes` per thread, the phase table, the pointers of
 * its `buffers` buffers; and the scratch's size in floats.
 */
export function stepRegions(layout: Layout, threads: number, packingBytes: number, buffers: number, start = 0) {
  const counters = start;
  const steps = counters + 4 * (layout.phases.length / PHASE_WORDS + 1) * COUNTER_WORDS;
  const packing = steps + 4 * layout.steps.length;
  const phases = packing + threads * packingBytes;
  const bases = phases + 4 * layout.phases.length;
  return { counters, steps, packing, phases, bases, floats: (bases + 4 * buffers - start) / 4 };
}

/** Runs StepPrograms: `scratchFloats` sizes the scratch a program needs, `run` lays it out there and runs it. */
export class StepRunner {
  constructor(
    private readonly k: KernelExports,
    private readonly heap: Heap,
    private readonly threads: Threads,
  ) {}

  /** Threads a program on d×d matrices runs on: one when its products are too small to share. */
  private threadsFor(d: number): number {
    return d * d * d >= MIN_SHARED_WORK ? this.threads.count : 1;
  }

  /** The parts of `program`'s scratch (stepRegions), from `start`, with `buffers` buffers. */
  private regions(program: StepProgram, buffers: number, start = 0) {
    const threads = this.threadsFor(program.d);
    const layout = program.layout(threads);
    const packing = packingBytes(this.k, program.d);
    return { threads, layout, packingBytes: packing, ...stepRegions(layout, threads, packing, buffers, start) };
  }

  /** Floats of scratch `program` runs in, with `buffers` buffers. */
  scratchFloats(program: StepProgram, buffers: number): number {
    return this.regions(program, buffers).floats;
  }

  /**
   * Runs `program` in `scratch` (scratchFloats of it) with its buffers at `pointers` (byte offsets): each phase's
   * chunks all end before the next phase starts.
   */
  run(program: StepProgram, scratch: number, pointers: readonly number[]): void {
    const { threads, layout, packingBytes, counters, steps, packing, phases, bases } = this.regions(
      program,
      pointers.length,
      scratch,
    );
    const words = new Int32Array(this.heap.memory.buffer);
    words.fill(0, counters >>> 2, steps >>> 2);
    words.set(layout.steps, steps >>> 2);
    words.set(layout.phases, phases >>> 2);
    words.set(pointers, bases >>> 2);
    const args = [steps, phases, layout.phases.length / PHASE_WORDS, bases, counters, packing, packingBytes, threads];
    // A thread that fails sets the counters' second word, so that the others stop waiting for its chunks.
    this.threads.calls(
      'run_steps_f32',
      Array.from({ length: threads }, () => args),
      threads > 1,
      { failedFlag: counters + 4 },
    );
  }
}
