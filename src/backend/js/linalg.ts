// The deconvolution's matrix kernels, reference versions, written out step by step: the wasm kernels make the same
// steps with GEMM calls (../wasm/linalg.ts).
import { allocArray, type DType, type FloatArray } from '../dtype.js';
import { checkNewtonSchulzNorm, NewtonSchulzLayout } from '../shape_info.js';
import { gemm, matmul } from './matmul.js';

/** For each of `batch` (d, d) matrices: c ← alpha·c + beta·I, in place. */
function scaleAddIdentity(c: FloatArray, batch: number, d: number, alpha: number, beta: number): FloatArray {
  for (let i = 0; i < c.length; i++) c[i] *= alpha;
  for (let b = 0; b < batch; b++) for (let i = 0; i < d; i++) c[(b * d + i) * d + i] += beta;
  return c;
}

/** XᵀX/n + eps·I for each of `batch` matrices X (n, d). */
export function covariance(x: FloatArray, batch: number, n: number, d: number, eps: number, dtype: DType): FloatArray {
  return scaleAddIdentity(matmul(x, x, batch, d, n, d, true, false, dtype), batch, d, 1 / n, eps);
}

/** Σ a[aOff + j]·b[bOff + j] for j < n. */
function dot(a: FloatArray, aOff: number, b: FloatArray, bOff: number, n: number): number {
  let s = 0;
  for (let j = 0; j < n; j++) s += a[aOff + j] * b[bOff + j];
  return s;
}

/** x rounded to the precision `like` stores (a scalar that the wasm kernels keep as an f32). */
function roundAs(like: FloatArray, x: number): number {
  return like instanceof Float32Array ? Math.fround(x) : x;
}

/** out[oOff + j] = x[xOff + j]·alpha for j < n (alpha rounded to the storage's precision first). */
function scaled(out: FloatArray, oOff: number, x: FloatArray, xOff: number, n: number, alpha: number): void {
  const a = roundAs(out, alpha);
  for (let j = 0; j < n; j++) out[oOff + j] = x[xOff + j] * a;
}

/** c[off + i·(d+1)] = 1 for i < d: the identity, written into zeros. */
function setIdentity(c: FloatArray, off: number, d: number): void {
  for (let i = 0; i < d; i++) c[off + i * d + i] = 1;
}

/** out = A^(−1/2) ≈ Z_N/√‖A‖ by coupled Newton–Schulz steps (see Kernels.newtonSchulz), and the iterates. */
export function newtonSchulz(
  a: FloatArray,
  batch: number,
  d: number,
  nIter: number,
  dtype: DType,
): { out: FloatArray; iterates: FloatArray } {
  const dd = d * d;
  const at = new NewtonSchulzLayout(batch, d, nIter);
  const it = allocArray(at.size, dtype); // zeros: gemm adds into its output
  const out = allocArray(batch * dd, dtype);
  const zN = allocArray(dd, dtype);
  for (let b = 0; b < batch; b++) {
    const norm = roundAs(a, Math.sqrt(dot(a, b * dd, a, b * dd, dd))); // ‖A‖_F
    checkNewtonSchulzNorm(norm, b);
    it[at.norm(b)] = norm;
    zN.fill(0);
    if (nIter === 0) setIdentity(zN, 0, d);
    else {
      for (let j = 0; j < dd; j++) it[at.y(b, 0) + j] = a[b * dd + j] / norm;
      setIdentity(it, at.z(b, 0), d);
    }
    for (let i = 0; i < nIter; i++) {
      const last = i === nIter - 1;
      // T = (3I − Z·Y)/2; Y ← Y·T (not needed after the last step); Z ← T·Z.
      const t = it.subarray(at.t(b, i), at.t(b, i) + dd);
      gemm(t, 0, it, at.z(b, i), it, at.y(b, i), d, d, d, false, false);
      scaleAddIdentity(t, 1, d, -0.5, 1.5);
      if (!last) gemm(it, at.y(b, i + 1), it, at.y(b, i), t, 0, d, d, d, false, false);
      if (last) gemm(zN, 0, t, 0, it, at.z(b, i), d, d, d, false, false);
      else gemm(it, at.z(b, i + 1), t, 0, it, at.z(b, i), d, d, d, false, false);
    }
    const s = roundAs(a, Math.sqrt(norm));
    for (let j = 0; j < dd; j++) out[b * dd + j] = zN[j] / s;
  }
  return { out, iterates: it };
}

/**
 * The gradient wrt A of newtonSchulz's out, by the chain rule through the steps in reverse. With G_X for ∂L/∂X:
 *   out = Z_N/√n          G_Z_N = g/√n,  G_n = −½·Σ(g⊙out)/n
 *   Y_{i+1} = Y_i·T_i     G_Y_i += G_Y_{i+1}·T_iᵀ,  G_T_i += Y_iᵀ·G_Y_{i+1}
 *   Z_{i+1} = T_i·Z_i     G_Z_i += T_iᵀ·G_Z_{i+1},  G_T_i += G_Z_{i+1}·Z_iᵀ
 *   T_i = (3I − Z_i·Y_i)/2  G_Z_i += −½·G_T_i·Y_iᵀ,  G_Y_i += −½·Z_iᵀ·G_T_i
 *   Y_0 = A/n, n = ‖A‖    G_A = G_Y_0/n + (G_n − Σ(G_Y_0⊙A)/n²)·A/n
 */
export function newtonSchulzBackward(
  g: FloatArray,
  a: FloatArray,
  out: FloatArray,
  it: FloatArray,
  batch: number,
  d: number,
  nIter: number,
  dtype: DType,
): FloatArray {
  return eachGradient(g, a, out, it, batch, d, nIter, dtype, (b, s, at, buf) => {
    const dd = d * d;
    let gZ = buf();
    for (let j = 0; j < dd; j++) gZ[j] = g[b * dd + j] / s;
    let gY = buf(); // G_Y_N = 0: Y_N is not used
    for (let i = nIter - 1; i >= 0; i--) {
      const [y, z, t] = [at.y(b, i), at.z(b, i), at.t(b, i)];
      const gT = buf();
      gemm(gT, 0, it, y, gY, 0, d, d, d, true, false);
      gemm(gT, 0, gZ, 0, it, z, d, d, d, false, true);
      scaled(gT, 0, gT, 0, dd, -0.5);
      const gYi = buf();
      gemm(gYi, 0, gY, 0, it, t, d, d, d, false, true);
      gemm(gYi, 0, it, z, gT, 0, d, d, d, true, false);
      const gZi = buf();
      if (i > 0) {
        gemm(gZi, 0, it, t, gZ, 0, d, d, d, true, false);
        gemm(gZi, 0, gT, 0, it, y, d, d, d, false, true);
      }
      [gY, gZ] = [gYi, gZi];
    }
    return gY;
  });
}

/**
 * G_A of each of the `batch` matrices: `gradientY(b, √n, layout, buf)` makes matrix b's G_Y_0 (buf allocates a d×d
 * work matrix), then the norm's terms of newtonSchulzBackward's last line are added.
 */
function eachGradient(
  g: FloatArray,
  a: FloatArray,
  out: FloatArray,
  it: FloatArray,
  batch: number,
  d: number,
  nIter: number,
  dtype: DType,
  gradientY: (b: number, s: number, at: NewtonSchulzLayout, buf: () => FloatArray) => FloatArray,
): FloatArray {
  const dd = d * d;
  const at = new NewtonSchulzLayout(batch, d, nIter);
  const ga = allocArray(batch * dd, dtype);
  const buf = () => allocArray(dd, dtype);
  for (let b = 0; b < batch; b++) {
    const norm = it[at.norm(b)];
    addNormTerms(ga, g, a, out, gradientY(b, roundAs(a, Math.sqrt(norm)), at, buf), b, dd, norm, dtype);
  }
  return ga;
}

/** Matrix b of G_A from G_Y_0 and the norm's terms (the last line of newtonSchulzBackward's table). */
function addNormTerms(
  ga: FloatArray,
  g: FloatArray,
  a: FloatArray,
  out: FloatArray,
  gY: FloatArray,
  b: number,
  dd: number,
  norm: number,
  dtype: DType,
): void {
  const gNorm = (-0.5 * dot(g, b * dd, out, b * dd, dd)) / norm - dot(gY, 0, a, b * dd, dd) / (norm * norm);
  for (let j = 0; j < dd; j++) ga[b * dd + j] = gY[j] / norm;
  const tmp = allocArray(dd, dtype);
  scaled(tmp, 0, a, b * dd, dd, gNorm / norm);
  for (let j = 0; j < dd; j++) ga[b * dd + j] += tmp[j];
}

/**
 * newtonSchulzBackward's symmetric part (G_A + G_Aᵀ)/2 for a symmetric A, by the forward-mode derivative: at a
 * symmetric A the iteration's derivative is self-adjoint, so the symmetric part of the gradient is the derivative of
 * Z_N in the direction S = (g + gᵀ)/2. With dX for that derivative of X (Z₀ = I, so dZ₀ = 0):
 *   dY_0 = S/√n                                   (then as in newtonSchulzBackward, G_Y_0 = dZ_N)
 *   dT_i = −½·(dZ_i·Y_i + Z_i·dY_i)
 *   dY_{i+1} = dY_i·T_i + Y_i·dT_i,  dZ_{i+1} = dT_i·Z_i + T_i·dZ_i
 */
export function newtonSchulzSymmetricBackward(
  g: FloatArray,
  a: FloatArray,
  out: FloatArray,
  it: FloatArray,
  batch: number,
  d: number,
  nIter: number,
  dtype: DType,
): FloatArray {
  return eachGradient(g, a, out, it, batch, d, nIter, dtype, (b, s, at, buf) => {
    const dd = d * d;
    let dY = buf();
    for (let i = 0; i < d; i++)
      for (let j = 0; j < d; j++) dY[i * d + j] = 0.5 * (g[b * dd + i * d + j] + g[b * dd + j * d + i]);
    for (let j = 0; j < dd; j++) dY[j] /= s;
    let dZ = buf();
    for (let i = 0; i < nIter; i++) {
      const [y, z, t] = [at.y(b, i), at.z(b, i), at.t(b, i)];
      const dT = buf();
      if (i === 0) scaled(dT, 0, dY, 0, dd, -0.5);
      else {
        gemm(dT, 0, dZ, 0, it, y, d, d, d, false, false);
        gemm(dT, 0, it, z, dY, 0, d, d, d, false, false);
        scaled(dT, 0, dT, 0, dd, -0.5);
      }
      const dYn = buf();
      if (i < nIter - 1) {
        gemm(dYn, 0, dY, 0, it, t, d, d, d, false, false);
        gemm(dYn, 0, it, y, dT, 0, d, d, d, false, false);
      }
      let dZn = dT;
      if (i > 0) {
        dZn = buf();
        gemm(dZn, 0, dT, 0, it, z, d, d, d, false, false);
        gemm(dZn, 0, it, t, dZ, 0, d, d, d, false, false);
      }
      [dY, dZ] = [dYn, dZn];
    }
    return dZ;
  });
}
