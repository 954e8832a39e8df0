// The values both sides of the TypeScript ↔ AssemblyScript boundary read: operation codes, memory layouts, the
// GEMM's register tile. The kernels import them from here; scripts/gen-abi.mjs copies this file into
// src/backend/wasm/kernels.abi.ts for the wrappers. Integer constants only, in the subset both languages share.

/** The GEMM's register tile, rows × columns: packed panels, and thread blocks of rows or columns, are multiples. */
export const MR = 4, NR = 8;

/** binary_f32's operations. */
export const BINARY_ADD = 0, BINARY_SUB = 1, BINARY_MUL = 2, BINARY_DIV = 3, BINARY_MAXIMUM = 4, BINARY_MINIMUM = 5, BINARY_EQ = 6, BINARY_GT = 7, BINARY_GE = 8, BINARY_POW = 9;
/** unary_f32's operations. */
export const UNARY_NEG = 0, UNARY_EXP = 1, UNARY_LOG = 2, UNARY_SQRT = 3, UNARY_ABS = 4, UNARY_SIGN = 5, UNARY_RELU = 6, UNARY_SIGMOID = 7, UNARY_TANH = 8;

/**
 * A convolution's geometry, i32 words in memory in this order (too many values for the thread pool's argument slots):
 * the convolution kernels read all of them, im2col and col2im the first 13.
 */
export const GEO_C = 0, GEO_H = 1, GEO_W = 2, GEO_KH = 3, GEO_KW = 4, GEO_SH = 5, GEO_SW = 6, GEO_PH = 7, GEO_PW = 8, GEO_DH = 9, GEO_DW = 10, GEO_HO = 11, GEO_WO = 12, GEO_COUT = 13, GEO_GROUPS = 14, GEOMETRY_INTS = 15;

/**
 * run_steps_f32's programs: a step is STEP_WORDS words (its kind first, its chunks second, a product's block width
 * or a binary step's immediate operand last); a phase, PHASE_WORDS (its first step, its chunks); the counters, a
 * line of COUNTER_WORDS per phase after one line of [threads entered, failed].
 */
export const STEP_PRODUCT = 1, STEP_SCALE_IDENTITY = 2, STEP_IDENTITY = 3, STEP_BINARY = 4, STEP_COPY = 5, STEP_MIRROR = 6, STEP_SYMMETRIZE = 7;
export const STEP_WORDS = 16, PHASE_WORDS = 2, COUNTER_WORDS = 16;
/** A product step's flags; PRODUCT_UPPER: only the blocks on and above the diagonal (a symmetric result). */
export const PRODUCT_TRANS_A = 1, PRODUCT_TRANS_B = 2, PRODUCT_ACCUMULATE = 4, PRODUCT_DOT = 8, PRODUCT_UPPER = 16;
