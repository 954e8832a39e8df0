// Whitening as properties, over generated layers and data, on every backend: the whitened covariance is the
// identity (FastDeconv2d, ChannelDeconv, Delinear), Newton–Schulz's spectral bound, the structure of grouped and
// batched whitening, its gradients, eval = train and the running averages. Statistics are recomputed here in
// float64 from the layer's input, independently of the layer's own code: only F.unfold (tested against PyTorch)
// is shared. Tolerances follow float32 rounding (u = 2⁻²⁴) scaled by the sizes and the conditioning.
import fc from 'fast-check';
import * as assert from 'uvu/assert';
import { Generator, getBackend, gradcheck, linalg, nn, noGrad, setBackend, type Tensor, tensor } from '../src/index.js';
import { forEachBackend } from './helpers.js';

const F = nn.functional;
const U = 2 ** -24;

type Matrix = Float64Array; // row-major, square unless said otherwise

/** Eigenvalues of a symmetric d×d matrix (cyclic Jacobi, float64). */
function eigenvalues(a: ArrayLike<number>, d: number): number[] {
  const m = Float64Array.from(a);
  for (let sweep = 0; sweep < 100; sweep++) {
    let off = 0;
    for (let p = 0; p < d; p++) for (let q = p + 1; q < d; q++) off += m[p * d + q] ** 2;
    if (off < 1e-30) break;
    for (let p = 0; p < d; p++) {
      for (let q = p + 1; q < d; q++) {
        const apq = m[p * d + q];
        if (Math.abs(apq) < 1e-300) continue;
        const theta = (m[q * d + q] - m[p * d + p]) / (2 * apq);
        const t = Math.sign(theta || 1) / (Math.abs(theta) + Math.sqrt(theta * theta + 1));
        const c = 1 / Math.sqrt(t * t + 1);
        const s = t * c;
        for (let k = 0; k < d; k++) {
          const akp = m[k * d + p];
          const akq = m[k * d + q];
          m[k * d + p] = c * akp - s * akq;
          m[k * d + q] = s * akp + c * akq;
        }
        for (let k = 0; k < d; k++) {
          const apk = m[p * d + k];
          const aqk = m[q * d + k];
          m[p * d + k] = c * apk - s * aqk;
          m[q * d + k] = s * apk + c * aqk;
        }
      }
    }
  }
  return Array.from({ length: d }, (_, i) => m[i * d + i]).sort((x, y) => x - y);
}

function matmul(a: ArrayLike<number>, b: ArrayLike<number>, d: number): Matrix {
  const out = new Float64Array(d * d);
  for (let i = 0; i < d; i++)
    for (let k = 0; k < d; k++) {
      const v = a[i * d + k];
      for (let j = 0; j < d; j++) out[i * d + j] += v * b[k * d + j];
    }
  return out;
}

/** (1/n)·Σ (r − μ)(r − μ)ᵀ over the rows of a (n, d) matrix, centred or not, and the mean. */
function covariance(
  rows: ArrayLike<number>,
  n: number,
  d: number,
  centred = true,
): { cov: Matrix; mean: Float64Array } {
  const mean = new Float64Array(d);
  if (centred) for (let r = 0; r < n; r++) for (let j = 0; j < d; j++) mean[j] += rows[r * d + j] / n;
  const cov = new Float64Array(d * d);
  for (let r = 0; r < n; r++)
    for (let i = 0; i < d; i++) {
      const vi = rows[r * d + i] - mean[i];
      for (let j = 0; j < d; j++) cov[i * d + j] += (vi * (rows[r * d + j] - mean[j])) / n;
    }
  return { cov, mean };
}

function plusEps(cov: Matrix, d: number, eps: number): Matrix {
  const a = Float64Array.from(cov);
  for (let i = 0; i < d; i++) a[i * d + i] += eps;
  return a;
}

/** max |D·A·D − I|. */
function residual(D: ArrayLike<number>, A: ArrayLike<number>, d: number): number {
  const r = matmul(matmul(D, A, d), D, d);
  let worst = 0;
  for (let i = 0; i < d * d; i++) worst = Math.max(worst, Math.abs(r[i] - (i % (d + 1) === 0 ? 1 : 0)));
  return worst;
}

/** ‖A‖_F / λ_min(A): how far Newton–Schulz's first iterate puts A's smallest eigenvalue below 1. */
function spread(A: Matrix, d: number): number {
  const frob = Math.sqrt(A.reduce((s, v) => s + v * v, 0));
  return frob / eigenvalues(A, d)[0];
}

/**
 * Iterations of Newton–Schulz that bring every eigenvalue of D·A·D within float32 rounding of 1: an eigenvalue p
 * of the first iterate grows by (3 − p)²/4 → 9/4 per step while small, then converges quadratically (≤ 6 steps).
 */
function itersFor(A: Matrix, d: number): number {
  return Math.ceil(Math.log(spread(A, d)) / Math.log(9 / 4)) + 6;
}

/**
 * float32 images whose channels have covariance with condition number `kappa`: independent N(0, 1) pixels mixed
 * across channels by a random rotation with singular values from 1 down to 1/√kappa.
 */
function conditionedImages(shape: number[], kappa: number, seed: number): Tensor {
  const [n, c, h, w] = shape.length === 4 ? shape : [shape[0], shape[1], 1, 1];
  const g = new Generator(seed);
  const q = randomRotation(c, g);
  const sv = Array.from({ length: c }, (_, i) => (c === 1 ? 1 : kappa ** (-i / (2 * (c - 1)))));
  const out = new Float32Array(n * c * h * w);
  const z = new Float64Array(c);
  for (let img = 0; img < n; img++)
    for (let p = 0; p < h * w; p++) {
      for (let j = 0; j < c; j++) z[j] = g.normal() * sv[j];
      for (let i = 0; i < c; i++) {
        let v = 0.3;
        for (let j = 0; j < c; j++) v += q[i * c + j] * z[j];
        out[(img * c + i) * h * w + p] = v;
      }
    }
  return tensor(out, shape);
}

function randomRotation(d: number, g: Generator): Matrix {
  const q = Float64Array.from({ length: d * d }, () => g.normal());
  for (let i = 0; i < d; i++) {
    for (let k = 0; k < i; k++) {
      let dot = 0;
      for (let j = 0; j < d; j++) dot += q[i * d + j] * q[k * d + j];
      for (let j = 0; j < d; j++) q[i * d + j] -= dot * q[k * d + j];
    }
    const norm = Math.sqrt(q.slice(i * d, i * d + d).reduce((s, v) => s + v * v, 0));
    for (let j = 0; j < d; j++) q[i * d + j] /= norm;
  }
  return q;
}

interface ConvConfig {
  c: number;
  k: number;
  stride: number;
  padding: number;
  dilation: number;
  groups: number;
  block: number;
  samplingStride: number;
  n: number;
  kappa: number;
  seed: number;
}

const GROUPINGS = (c: number) => [1, ...[2, 3, 4].filter((g) => c % g === 0 && g < c), ...(c > 1 ? [c] : [])];

const convConfigs: fc.Arbitrary<ConvConfig> = fc
  .record({
    c: fc.integer({ min: 1, max: 8 }),
    k: fc.integer({ min: 1, max: 5 }),
    stride: fc.integer({ min: 1, max: 2 }),
    padding: fc.integer({ min: 0, max: 2 }),
    dilation: fc.integer({ min: 1, max: 2 }),
    groupPick: fc.nat(),
    block: fc.constantFrom(1, 2, 3, 4, 5, 6, 64),
    samplingStride: fc.integer({ min: 1, max: 3 }),
    n: fc.integer({ min: 1, max: 3 }),
    kappa: fc.constantFrom(1, 10, 100, 1000),
    seed: fc.integer({ min: 0, max: 1e6 }),
  })
  .map(({ groupPick, ...o }) => {
    const options = GROUPINGS(o.c);
    return { ...o, groups: options[groupPick % options.length] };
  })
  .filter((o) => o.k * o.k * blockOf(o) <= 45);

/** The official block rule, restated: B = C if block > C, gcd(block, C) if block does not divide C; C/groups. */
function blockOf(o: { c: number; block: number; groups: number }): number {
  if (o.groups > 1) return o.c / o.groups;
  if (o.block > o.c) return o.c;
  let [a, b] = [o.block, o.c];
  while (b) [a, b] = [b, a % b];
  return o.c % o.block === 0 ? o.block : a;
}

/** A square image side for which the layer samples at least 3·d statistics rows per block. */
function sideFor(o: ConvConfig): number {
  const d = o.k * o.k * blockOf(o);
  const s = o.samplingStride * o.stride;
  const G = o.groups === 1 ? o.c / blockOf(o) : 1;
  const reach = o.dilation * (o.k - 1) + 1;
  for (let side = Math.max(reach, 2); ; side++) {
    const rows =
      o.k === 1
        ? Math.ceil((o.n * side * side) / (s * s)) * G
        : o.n * (Math.floor((side + 2 * o.padding - reach) / s) + 1) ** 2 * G;
    if (rows >= 3 * d && side + 2 * o.padding >= reach) return side;
  }
}

/**
 * The statistics of a FastDeconv2d's training batch, recomputed from the documented semantics: sampled patch rows
 * (unfold with stride samplingStride·stride; for k = 1 every s²-th pixel), split into blocks (interleaved columns
 * p % G for groups = 1; contiguous channels per group otherwise), then mean and covariance per whitening matrix.
 */
function convStatistics(x: Tensor, o: ConvConfig): { cov: Matrix; mean: Float64Array; d: number }[] {
  const s = o.samplingStride * o.stride;
  const c = o.c;
  const k2 = o.k * o.k;
  let rows: number[];
  let n: number;
  if (o.k === 1) {
    const all = x.permute(0, 2, 3, 1).reshape(-1, c).toArray();
    const total = all.length / c;
    rows = [];
    for (let r = 0; r < total; r += s * s) rows.push(...all.slice(r * c, r * c + c));
    n = rows.length / c;
  } else {
    const cols = F.unfold(x, o.k, { dilation: o.dilation, padding: o.padding, stride: s }).permute(0, 2, 1);
    rows = cols.reshape(-1, c * k2).toArray();
    n = cols.shape[0] * cols.shape[1];
  }
  const B = blockOf(o);
  const d = k2 * B;
  const width = c * k2;
  if (o.groups === 1) {
    const G = c / B;
    const X = new Float64Array(n * G * d);
    for (let r = 0; r < n; r++)
      for (let p = 0; p < width; p++) X[(r * G + (p % G)) * d + Math.floor(p / G)] = rows[r * width + p];
    return [{ ...covariance(X, n * G, d), d }];
  }
  return Array.from({ length: o.groups }, (_, g) => {
    const X = new Float64Array(n * d);
    for (let r = 0; r < n; r++) for (let i = 0; i < d; i++) X[r * d + i] = rows[r * width + g * d + i];
    return { ...covariance(X, n, d), d };
  });
}

function makeDeconv(o: ConvConfig, nIter: number, momentum = 1): nn.FastDeconv2d {
  return new nn.FastDeconv2d(o.c, 2 * o.groups, o.k, {
    stride: o.stride,
    padding: o.padding,
    dilation: o.dilation,
    groups: o.groups,
    block: o.block,
    samplingStride: o.samplingStride,
    nIter,
    momentum,
  });
}

/** Each whitening matrix of a FastDeconv2d's running_deconv, (d, d) or (groups, d, d). */
function matrices(D: Tensor, count: number): number[][] {
  const all = D.toArray();
  const per = all.length / count;
  return Array.from({ length: count }, (_, g) => all.slice(g * per, (g + 1) * per));
}

const describe = (o: object) => JSON.stringify(o);

forEachBackend('whitening', (test) => {
  test('FastDeconv2d: the whitened covariance is the identity, over generated layers, data and conditioning', () => {
    fc.assert(
      fc.property(convConfigs, (o) => {
        const side = sideFor(o);
        const x = conditionedImages([o.n, o.c, side, side], o.kappa, o.seed);
        const stats = convStatistics(x, o);
        const eps = 1e-5;
        const As = stats.map((s) => plusEps(s.cov, s.d, eps));
        const nIter = Math.max(...As.map((A, i) => itersFor(A, stats[i].d)));
        const m = makeDeconv(o, nIter);
        m.forward(x); // momentum 1: the running buffers are this batch's statistics
        assert.is(m.numFeatures, stats[0].d, `numFeatures of ${describe(o)}`);
        const Ds = matrices(m.running_deconv, stats.length);
        const rows = stats[0].cov.length; // unused by the bound but kept for the message
        stats.forEach((s, g) => {
          const kappa = spread(As[g], s.d);
          const r = residual(Ds[g], As[g], s.d);
          const tol = 64 * U * kappa * s.d;
          assert.ok(r <= tol, `${describe(o)} matrix ${g}: |DAD − I| = ${r} > ${tol} (spread ${kappa}, ${rows})`);
          const mu = m.running_mean.toArray().slice(g * s.d, (g + 1) * s.d);
          const scale = Math.max(...s.mean.map(Math.abs), 1);
          for (let i = 0; i < s.d; i++)
            assert.ok(
              Math.abs(mu[i] - s.mean[i]) <= 64 * U * scale,
              `${describe(o)} mean ${i}: ${mu[i]} vs ${s.mean[i]}`,
            );
        });
      }),
      { numRuns: 150 },
    );
  });

  test('ChannelDeconv: the uncentred subsample covariance is whitened, over generated blocks and shapes', () => {
    fc.assert(
      fc.property(
        fc.record({
          c: fc.integer({ min: 1, max: 9 }),
          block: fc.integer({ min: 1, max: 9 }),
          n: fc.integer({ min: 6, max: 12 }),
          side: fc.constantFrom(1, 2, 3, 4, 5),
          samplingStride: fc.integer({ min: 1, max: 3 }),
          kappa: fc.constantFrom(1, 10, 100, 1000),
          seed: fc.integer({ min: 0, max: 1e6 }),
        }),
        (o) => {
          fc.pre(o.block <= o.c);
          const shape = o.side === 1 ? [o.n, o.c] : [o.n, o.c, o.side, o.side];
          const x = conditionedImages(shape, o.kappa, o.seed);
          const B = o.block;
          const cw = Math.floor(o.c / B) * B;
          // Rows of the official layout: channels 0..cw−1 permuted to the front, viewed as (B, cw/B·N·H·W).
          const flat = noGrad(() => (o.side === 1 ? x.reshape(o.n, o.c, 1, 1) : x))
            .slice(1, 0, cw)
            .permute(1, 0, 2, 3)
            .reshape(B, -1)
            .toArray();
          const cols = flat.length / B;
          const s = o.samplingStride;
          const step = s > 1 && o.side >= s ? s * s : 1;
          const keep = Math.ceil(cols / step);
          const sample = new Float64Array(keep * B);
          for (let j = 0; j < keep; j++) for (let r = 0; r < B; r++) sample[j * B + r] = flat[r * cols + j * step];
          fc.pre(keep >= 3 * B);
          const eps = 1e-2;
          const A = plusEps(covariance(sample, keep, B, false).cov, B, eps);
          const m = new nn.ChannelDeconv(B, { samplingStride: s, nIter: itersFor(A, B), eps });
          m.forward(x); // the first batch seeds the running buffers
          const r = residual(m.running_deconv.toArray(), A, B);
          const tol = 64 * U * spread(A, B) * B;
          assert.ok(r <= tol, `${describe(o)}: |DAD − I| = ${r} > ${tol}`);
        },
      ),
      { numRuns: 120 },
    );
  });

  test('Delinear: each contiguous block of features is whitened with one shared matrix', () => {
    fc.assert(
      fc.property(
        fc.record({
          features: fc.integer({ min: 1, max: 24 }),
          block: fc.constantFrom(1, 2, 3, 4, 5, 8, 512),
          kappa: fc.constantFrom(1, 10, 100, 1000),
          seed: fc.integer({ min: 0, max: 1e6 }),
        }),
        (o) => {
          const B = blockOf({ c: o.features, block: o.block, groups: 1 });
          const rows = Math.max(4, Math.ceil((4 * B * B) / o.features));
          const x = conditionedImages([rows, o.features], o.kappa, o.seed);
          const X = x.reshape(-1, B).toArray();
          const { cov, mean } = covariance(X, X.length / B, B);
          const A = plusEps(cov, B, 1e-5);
          const m = new nn.Delinear(o.features, 3, { block: o.block, nIter: itersFor(A, B), momentum: 1 });
          m.forward(x);
          assert.is(m.running_deconv.shape[0], B, `block of ${describe(o)}`);
          const r = residual(m.running_deconv.toArray(), A, B);
          const tol = 64 * U * spread(A, B) * B;
          assert.ok(r <= tol, `${describe(o)}: |DAD − I| = ${r} > ${tol}`);
          const mu = m.running_mean.toArray();
          mean.forEach((v, i) => assert.ok(Math.abs(mu[i] - v) <= 1e-5 * (1 + Math.abs(v)), `mean ${i}`));
        },
      ),
      { numRuns: 120 },
    );
  });

  test('Newton–Schulz: D·A·D ≼ I for every nIter ≥ 1, D is SPD, and the residual never grows with nIter', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 12 }),
        fc.constantFrom(1, 10, 100, 1000),
        fc.integer({ min: 0, max: 1e6 }),
        (d, kappa, seed) => {
          const g = new Generator(seed);
          const q = randomRotation(d, g);
          const eig = Array.from({ length: d }, (_, i) => (d === 1 ? 1 : kappa ** (-i / (d - 1))) * (0.5 + g.random()));
          const A = new Float64Array(d * d);
          for (let i = 0; i < d; i++)
            for (let j = 0; j < d; j++)
              for (let k = 0; k < d; k++) A[i * d + j] += q[i * d + k] * eig[k] * q[j * d + k];
          for (let i = 0; i < d; i++) for (let j = 0; j < i; j++) A[i * d + j] = A[j * d + i];
          const A32 = Float32Array.from(A);
          const At = tensor(A32, [d, d]);
          const tol = 64 * U * spread(Float64Array.from(A32), d) * d;
          let last = Number.POSITIVE_INFINITY;
          for (const nIter of [1, 2, 3, 5, 8, 13, 21]) {
            const D = linalg.isqrtNewtonSchulz(At, nIter).toArray();
            const sym = D.map((v, i) => (v + D[(i % d) * d + Math.floor(i / d)]) / 2);
            const dad = matmul(matmul(sym, A32, d), sym, d);
            const ev = eigenvalues(dad, d);
            assert.ok(ev[d - 1] <= 1 + tol, `d ${d} κ ${kappa} nIter ${nIter}: λmax(DAD) = ${ev[d - 1]}`);
            assert.ok(eigenvalues(sym, d)[0] > 0, `d ${d} κ ${kappa} nIter ${nIter}: D not positive definite`);
            const asym = Math.max(...D.map((v, i) => Math.abs(v - D[(i % d) * d + Math.floor(i / d)])));
            assert.ok(asym <= tol * Math.max(...D.map(Math.abs)), `asymmetry ${asym}`);
            const r = 1 - ev[0];
            assert.ok(r <= last + tol, `d ${d} κ ${kappa}: residual grew to ${r} at nIter ${nIter} from ${last}`);
            last = r;
          }
        },
      ),
      { numRuns: 100 },
    );
  });

  test('a grouped layer whitens each group on its own: perturbing one group leaves the others unchanged', () => {
    fc.assert(
      fc.property(
        fc.constantFrom([4, 2], [6, 3], [6, 2], [4, 4], [8, 4]),
        fc.integer({ min: 1, max: 3 }),
        fc.integer({ min: 0, max: 1e6 }),
        ([c, groups], k, seed) => {
          const o: ConvConfig = {
            c,
            k,
            stride: 1,
            padding: 1,
            dilation: 1,
            groups,
            block: 64,
            samplingStride: 1,
            n: 2,
            kappa: 10,
            seed,
          };
          const side = sideFor(o);
          const x = conditionedImages([2, c, side, side], 10, seed);
          const per = c / groups;
          const target = seed % groups;
          const bumped = x.toArray().map((v, i) => {
            const ch = Math.floor(i / (side * side)) % c;
            return Math.floor(ch / per) === target ? v * 1.7 + 0.2 : v;
          });
          const a = makeDeconv(o, 8);
          const b = makeDeconv(o, 8);
          a.forward(x);
          b.forward(tensor(bumped, x.shape));
          const [Da, Db] = [matrices(a.running_deconv, groups), matrices(b.running_deconv, groups)];
          for (let g = 0; g < groups; g++) {
            if (g === target)
              assert.ok(
                Da[g].some((v, i) => v !== Db[g][i]),
                'the perturbed group changed',
              );
            else assert.equal(Db[g], Da[g], `group ${g} of ${groups} changed when group ${target} was perturbed`);
          }
        },
      ),
      { numRuns: 50 },
    );
  });

  test('batched Newton–Schulz equals each matrix alone', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 10 }),
        fc.integer({ min: 1, max: 4 }),
        fc.integer({ min: 0, max: 1e6 }),
        (d, b, seed) => {
          const g = new Generator(seed);
          const mats = Array.from({ length: b }, () => {
            const m = Array.from({ length: d * d }, () => g.normal());
            return noGrad(() => {
              const t = tensor(m, [d, d]);
              return t.T.matmul(t)
                .div(d)
                .add(tensor(identity(d), [d, d]).mul(0.1))
                .toArray();
            });
          });
          const batched = linalg.isqrtNewtonSchulz(tensor(mats.flat(), [b, d, d]), 6).toArray();
          mats.forEach((m, i) => {
            const alone = linalg.isqrtNewtonSchulz(tensor(m, [d, d]), 6).toArray();
            const mine = batched.slice(i * d * d, (i + 1) * d * d);
            const scale = Math.max(...alone.map(Math.abs));
            mine.forEach((v, j) =>
              assert.ok(Math.abs(v - alone[j]) <= 16 * U * d * scale, `matrix ${i} of ${b}, d ${d}`),
            );
          });
        },
      ),
      { numRuns: 60 },
    );
  });

  test('whitening does not depend on the order of the samples, nor on duplicating every one', () => {
    fc.assert(
      fc.property(convConfigs, fc.integer({ min: 0, max: 1e6 }), (o0, permSeed) => {
        // k = 1 with an effective sampling stride above 1 subsamples the flat pixel list, which a reordering changes.
        const o = {
          ...o0,
          n: 3,
          kappa: Math.min(o0.kappa, 100),
          samplingStride: o0.k === 1 ? 1 : o0.samplingStride,
          stride: o0.k === 1 ? 1 : o0.stride,
        };
        const side = sideFor(o);
        const x = conditionedImages([3, o.c, side, side], o.kappa, o.seed);
        const perm = [0, 1, 2].sort((p, q) => ((p * 7 + permSeed) % 5) - ((q * 7 + permSeed) % 5));
        const per = o.c * side * side;
        const values = x.toArray();
        const shuffled = perm.flatMap((p) => values.slice(p * per, (p + 1) * per));
        const doubled = [...values, ...values];
        const run = (data: number[], n: number) => {
          const m = makeDeconv(o, 6);
          m.forward(tensor(data, [n, o.c, side, side]));
          return m.running_deconv.toArray();
        };
        const base = run(values, 3);
        const scale = Math.max(...base.map(Math.abs));
        for (const [what, other] of [
          ['permuted', run(shuffled, 3)],
          ['duplicated', run(doubled, 6)],
        ] as const) {
          const worst = Math.max(...other.map((v, i) => Math.abs(v - base[i])));
          assert.ok(worst <= 1e3 * U * o.kappa * scale, `${what} ${describe(o)}: ${worst}`);
        }
      }),
      { numRuns: 60 },
    );
  });

  test('eval equals train when the running buffers equal the batch statistics, over generated layers', () => {
    fc.assert(
      fc.property(convConfigs, (o) => {
        const side = sideFor(o);
        const x = conditionedImages([o.n, o.c, side, side], Math.min(o.kappa, 100), o.seed);
        const m = makeDeconv(o, 5);
        const yTrain = m.train().forward(x).toArray();
        const yEval = m.eval().forward(x).toArray();
        const scale = Math.max(...yTrain.map(Math.abs), 1);
        const worst = Math.max(...yEval.map((v, i) => Math.abs(v - yTrain[i])));
        assert.ok(worst <= 64 * U * scale * m.numFeatures, `${describe(o)}: |eval − train| = ${worst}`);
      }),
      { numRuns: 80 },
    );
  });

  test('the running buffers are exact exponential averages over a generated sequence of batches', () => {
    fc.assert(
      fc.property(
        convConfigs,
        fc.double({ min: Math.fround(0.05), max: Math.fround(0.9), noNaN: true }),
        fc.integer({ min: 2, max: 5 }),
        (o, momentum, steps) => {
          const side = sideFor(o);
          const m = makeDeconv(o, 5, momentum);
          let mean = m.running_mean.toArray();
          let deconv = m.running_deconv.toArray();
          for (let t = 0; t < steps; t++) {
            const x = conditionedImages([o.n, o.c, side, side], 10, o.seed + t);
            const alone = makeDeconv(o, 5, 1); // this batch's statistics, by the same arithmetic
            alone.forward(x);
            m.forward(x);
            const [bm, bd] = [alone.running_mean.toArray(), alone.running_deconv.toArray()];
            mean = mean.map((v, i) => (1 - momentum) * v + momentum * bm[i]);
            deconv = deconv.map((v, i) => (1 - momentum) * v + momentum * bd[i]);
          }
          for (const [what, got, want] of [
            ['running_mean', m.running_mean.toArray(), mean],
            ['running_deconv', m.running_deconv.toArray(), deconv],
          ] as const) {
            const scale = Math.max(...want.map(Math.abs), 1);
            const worst = Math.max(...got.map((v, i) => Math.abs(v - want[i])));
            assert.ok(worst <= 4 * steps * U * scale, `${what} after ${steps} steps of ${describe(o)}: ${worst}`);
          }
        },
      ),
      { numRuns: 60 },
    );
  });

  test('gradients through the whitening (covariance → Newton–Schulz → fold) match float64 finite differences', async () => {
    const was = getBackend();
    await setBackend('js'); // float64 runs on the reference kernels
    try {
      fc.assert(
        fc.property(convConfigs, (o0) => {
          const o = { ...o0, n: 1, c: Math.min(o0.c, 4), k: Math.min(o0.k, 3), groups: 1, kappa: 10 };
          const side = Math.min(sideFor(o), 6);
          const m = makeDeconv(o, 4, 0.1);
          const f64 = (t: Tensor) => tensor(t.toArray(), t.shape, { dtype: 'float64', requiresGrad: true });
          const x = f64(conditionedImages([2, o.c, side, side], o.kappa, o.seed));
          const w = f64(m.weight);
          const b = f64(m.bias!);
          const r = gradcheck(
            (xx: Tensor, ww: Tensor, bb: Tensor) => {
              m.weight = ww;
              m.bias = bb;
              return m.train().forward(xx);
            },
            [x, w, b],
            { atol: 1e-5, rtol: 1e-3 },
          );
          assert.ok(r.ok, `${describe(o)}: excess ${r.worst} at input ${r.at}`);
        }),
        { numRuns: 16 },
      );
    } finally {
      await setBackend(was);
    }
  });
});

function identity(d: number): number[] {
  return Array.from({ length: d * d }, (_, i) => (Math.floor(i / d) === i % d ? 1 : 0));
}
