// Loads the kernel module: the relaxed-SIMD build where the runtime validates it (fused multiply-add), otherwise
// the baseline SIMD build. JS owns the memory (imported), so it can grow it and re-derive views.
import { MAX_PAGES } from './heap.js';
import {
  RELAXED_SHARED_WASM_BASE64,
  RELAXED_WASM_BASE64,
  SIMD_SHARED_WASM_BASE64,
  SIMD_WASM_BASE64,
} from './kernels.bytes.js';

type Ptr = number;

/** The exports of assembly/index.ts: pointer-and-size kernels that never allocate (see assembly/kernels). */
export interface KernelExports {
  gemm_f32(
    c: Ptr,
    ldc: number,
    a: Ptr,
    b: Ptr,
    ldb: number,
    m: number,
    n: number,
    k: number,
    transA: number,
    transB: number,
    accumulate: number,
    scratch: Ptr,
  ): void;
  gemm_nt_f32(
    c: Ptr,
    ldc: number,
    a: Ptr,
    lda: number,
    b: Ptr,
    ldb: number,
    m: number,
    n: number,
    k: number,
    accumulate: number,
  ): void;
  gemm_scratch_floats(n: number, k: number): number;
  gemm_depth_slice(): number;
  heap_base(): Ptr;
  /** Byte steps between images; the geometry at `geometry` (assembly/kernels/im2col.ts). */
  im2col_images_f32(cols: Ptr, colStep: number, ld: number, x: Ptr, xStep: number, count: number, geometry: Ptr): void;
  col2im_images_f32(x: Ptr, xStep: number, cols: Ptr, colStep: number, ld: number, count: number, geometry: Ptr): void;
  conv2d_images_f32(
    y: Ptr,
    x: Ptr,
    w: Ptr,
    bias: Ptr,
    geometry: Ptr,
    first: number,
    count: number,
    sub: number,
    cols: Ptr,
    wide: Ptr,
    scratch: Ptr,
    scratchFloats: number,
  ): void;
  conv2d_backward_input_images_f32(
    dx: Ptr,
    dy: Ptr,
    w: Ptr,
    geometry: Ptr,
    first: number,
    count: number,
    sub: number,
    cols: Ptr,
    wide: Ptr,
    scratch: Ptr,
    scratchFloats: number,
  ): void;
  conv2d_backward_filter_images_f32(
    parts: Ptr,
    x: Ptr,
    dy: Ptr,
    geometry: Ptr,
    first: number,
    count: number,
    sub: number,
    cols: Ptr,
    wide: Ptr,
  ): void;
  unwiden_f32(y: Ptr, wide: Ptr, bias: Ptr, images: number, cout: number, L: number, width: number): void;
  copy2d_f32(
    dst: Ptr,
    d1: number,
    d2: number,
    src: Ptr,
    s1: number,
    s2: number,
    n1: number,
    n2: number,
    len: number,
  ): void;
  copy_runs_f32(dst: Ptr, rd: number, dd: number, src: Ptr, rs: number, ds: number, rows: number, cols: number): void;
  fill_f32(dst: Ptr, n: number, value: number): void;
  /** −1, or the position of the first out-of-range index. */
  scatter_add_f32(out: Ptr, outSize: number, values: Ptr, indices: Ptr, n: number): number;
  binary_f32(
    op: number,
    out: Ptr,
    ro: number,
    a: Ptr,
    ra: number,
    sa: number,
    b: Ptr,
    rb: number,
    sb: number,
    rows: number,
    cols: number,
  ): void;
  unary_f32(op: number, out: Ptr, x: Ptr, n: number): void;
  relu_backward_f32(out: Ptr, dy: Ptr, x: Ptr, n: number): void;
  clamp_f32(out: Ptr, x: Ptr, n: number, lo: number, hi: number): void;
  sum_runs_f32(
    acc: Ptr,
    racc: number,
    sacc: number,
    x: Ptr,
    rx: number,
    sx: number,
    rows: number,
    cols: number,
    planes: number,
    pacc: number,
    px: number,
  ): void;
  max_pool2d_f32(
    out: Ptr,
    indices: Ptr,
    x: Ptr,
    p0: number,
    p1: number,
    H: number,
    W: number,
    Ho: number,
    Wo: number,
    kh: number,
    kw: number,
    sh: number,
    sw: number,
    ph: number,
    pw: number,
    relu: number,
  ): void;
  max_pool2d_backward_writes_all(kh: number, kw: number, sh: number, sw: number, ph: number, pw: number): number;
  max_pool2d_backward_f32(
    dx: Ptr,
    dy: Ptr,
    x: Ptr,
    p0: number,
    p1: number,
    H: number,
    W: number,
    Ho: number,
    Wo: number,
    kh: number,
    kw: number,
    sh: number,
    sw: number,
    ph: number,
    pw: number,
    relu: number,
  ): void;
  avg_pool2d_f32(
    out: Ptr,
    x: Ptr,
    p0: number,
    p1: number,
    H: number,
    W: number,
    Ho: number,
    Wo: number,
    kh: number,
    kw: number,
    sh: number,
    sw: number,
    ph: number,
    pw: number,
    countIncludePad: number,
  ): void;
  channel_moments_parts_f32(
    sums: Ptr,
    squares: Ptr,
    x: Ptr,
    N: number,
    C: number,
    L: number,
    p0: number,
    p1: number,
    partImages: number,
  ): void;
  channel_moments_combine_f32(
    mean: Ptr,
    variance: Ptr,
    sums: Ptr,
    squares: Ptr,
    parts: number,
    partImages: number,
    N: number,
    C: number,
    L: number,
  ): void;
  batch_norm_apply_f32(
    y: Ptr,
    x: Ptr,
    mean: Ptr,
    invstd: Ptr,
    scale: Ptr,
    shift: Ptr,
    images: number,
    C: number,
    L: number,
    relu: number,
  ): void;
  batch_norm_backward_parts_f32(
    sumDy: Ptr,
    sumDyCentred: Ptr,
    dy: Ptr,
    x: Ptr,
    mean: Ptr,
    y: Ptr,
    N: number,
    C: number,
    L: number,
    p0: number,
    p1: number,
    partImages: number,
  ): void;
  batch_norm_backward_combine_f32(
    sumDy: Ptr,
    sumDyXhat: Ptr,
    partsDy: Ptr,
    partsDyCentred: Ptr,
    invstd: Ptr,
    parts: number,
    C: number,
  ): void;
  batch_norm_backward_dx_f32(
    dx: Ptr,
    dy: Ptr,
    x: Ptr,
    mean: Ptr,
    invstd: Ptr,
    scale: Ptr,
    y: Ptr,
    sumDy: Ptr,
    sumDyXhat: Ptr,
    images: number,
    C: number,
    L: number,
    M: number,
  ): void;
  sgd_f32(
    p: Ptr,
    grad: Ptr,
    buf: Ptr,
    n: number,
    lr: number,
    mu: number,
    oneMinusDampening: number,
    wd: number,
    nesterov: number,
    first: number,
  ): void;
  adam_f32(
    p: Ptr,
    grad: Ptr,
    m: Ptr,
    v: Ptr,
    vmax: Ptr,
    n: number,
    b1: number,
    oneMinusB1: number,
    b2: number,
    oneMinusB2: number,
    eps: number,
    wd: number,
    decay: number,
    decoupled: number,
    stepSize: number,
    c2: number,
  ): void;
  log_softmax_f32(y: Ptr, x: Ptr, cols: number, r0: number, r1: number): void;
  log_softmax_backward_f32(dx: Ptr, g: Ptr, y: Ptr, cols: number, r0: number, r1: number): void;
  scale_add_identity_f32(c: Ptr, d: number, batch: number, alpha: number, beta: number): void;
  dot_f32(a: Ptr, b: Ptr, n: number): number;
  covariance_small_f32(c: Ptr, x: Ptr, n: number, d: number, i0: number, i1: number): void;
  /** A program of dependent steps (src/backend/wasm/steps.ts), run by every thread that calls it together. */
  run_steps_f32(
    steps: Ptr,
    phases: Ptr,
    phaseCount: number,
    bases: Ptr,
    counters: Ptr,
    scratch: Ptr,
    scratchBytes: number,
    threads: number,
  ): void;
  avg_pool2d_backward_f32(
    dx: Ptr,
    dy: Ptr,
    p0: number,
    p1: number,
    H: number,
    W: number,
    Ho: number,
    Wo: number,
    kh: number,
    kw: number,
    sh: number,
    sw: number,
    ph: number,
    pw: number,
    countIncludePad: number,
  ): void;
}

export interface LoadedKernels {
  exports: KernelExports;
  memory: WebAssembly.Memory;
  /** The compiled module, for worker threads to instantiate on the same (shared) memory. */
  module: WebAssembly.Module;
  /** Which binary was picked. */
  flavour: 'relaxed-simd' | 'simd';
  /** Whether the memory is shared (the threaded build). */
  shared: boolean;
}

function decodeBase64(s: string): Uint8Array<ArrayBuffer> {
  const bin = atob(s);
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

/** Loads the kernels; with `shared`, the build whose memory is a shared WebAssembly.Memory (for threads). */
export async function loadKernels(shared = false): Promise<LoadedKernels> {
  const relaxed = decodeBase64(shared ? RELAXED_SHARED_WASM_BASE64 : RELAXED_WASM_BASE64);
  const useRelaxed = WebAssembly.validate(relaxed);
  const bytes = useRelaxed ? relaxed : decodeBase64(shared ? SIMD_SHARED_WASM_BASE64 : SIMD_WASM_BASE64);
  if (!useRelaxed && !WebAssembly.validate(bytes)) throw new Error('this runtime does not support WebAssembly SIMD');
  const memory = new WebAssembly.Memory({ initial: 16, maximum: MAX_PAGES, shared });
  const module = await WebAssembly.compile(bytes);
  const instance = await WebAssembly.instantiate(module, { env: { memory } });
  return {
    exports: instance.exports as unknown as KernelExports,
    memory,
    module,
    flavour: useRelaxed ? 'relaxed-simd' : 'simd',
    shared,
  };
}
