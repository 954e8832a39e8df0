// Imported first by the benchmarks: lets Node 20 compile the relaxed-SIMD kernels before anything loads them.
import { enableRelaxedSimd } from '../src/node/relaxed_simd.js';

enableRelaxedSimd();
