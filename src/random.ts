// Seeded random numbers. Every source of randomness in netdeconv (initialisation, dropout, shuffling, splits)
// draws from a Generator, so a run is reproducible from its seed.

/** A small, fast, seedable generator (xoshiro128**). Its whole state is four 32-bit words. */
export class Generator {
  private s = new Uint32Array(4);
  private spare: number | null = null;

  constructor(seed = 0) {
    this.manualSeed(seed);
  }

  /** Resets the stream; the same seed always gives the same numbers. */
  manualSeed(seed: number): this {
    // splitmix32 spreads the seed over the four words so that nearby seeds give unrelated streams.
    let x = seed >>> 0;
    for (let i = 0; i < 4; i++) {
      x = (x + 0x9e3779b9) >>> 0;
      let z = x;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
      this.s[i] = (z ^ (z >>> 16)) >>> 0;
    }
    this.spare = null;
    return this;
  }

  /** A uniform 32-bit unsigned integer. */
  nextUint32(): number {
    const s = this.s;
    const result = Math.imul(rotl(Math.imul(s[1], 5), 7), 9) >>> 0;
    const t = s[1] << 9;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 11);
    return result;
  }

  /** Uniform in [0, 1). */
  random(): number {
    return this.nextUint32() / 4294967296;
  }

  /** Uniform in [lo, hi). */
  uniform(lo: number, hi: number): number {
    return lo + (hi - lo) * this.random();
  }

  /** Standard normal (Box–Muller; the second value of each pair is kept for the next call). */
  normal(): number {
    if (this.spare !== null) {
      const v = this.spare;
      this.spare = null;
      return v;
    }
    let u = 0;
    while (u === 0) u = this.random();
    const r = Math.sqrt(-2 * Math.log(u));
    const theta = 2 * Math.PI * this.random();
    this.spare = r * Math.sin(theta);
    return r * Math.cos(theta);
  }

  /** A uniform integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.random() * n);
  }

  /** A random permutation of 0 … n−1 (Fisher–Yates). */
  permutation(n: number): Int32Array {
    const p = new Int32Array(n);
    for (let i = 0; i < n; i++) p[i] = i;
    for (let i = n - 1; i > 0; i--) {
      const j = this.int(i + 1);
      const t = p[i];
      p[i] = p[j];
      p[j] = t;
    }
    return p;
  }

  /** The generator's state, for checkpoints. */
  getState(): number[] {
    return [...this.s, this.spare ?? NaN];
  }

  /** Throws unless `state` is what `getState()` returns: four 32-bit words, not all 0, and a spare normal or null. */
  static checkState(state: unknown): void {
    const ok =
      Array.isArray(state) &&
      (state.length === 4 || state.length === 5) &&
      state.slice(0, 4).every((w) => Number.isInteger(w) && w >= 0 && w < 2 ** 32) &&
      state.slice(0, 4).some((w) => w !== 0) &&
      (state[4] == null || typeof state[4] === 'number');
    if (!ok)
      throw new Error(
        `Generator.setState: expected four 32-bit words (not all 0) and a spare, got ${JSON.stringify(state)}`,
      );
  }

  /** Restores a state from `getState()`. */
  setState(state: readonly number[]): void {
    Generator.checkState(state);
    this.s.set(state.slice(0, 4));
    this.spare = state[4] == null || Number.isNaN(state[4]) ? null : state[4]; // JSON turns the NaN marker into null
  }
}

function rotl(x: number, k: number): number {
  return ((x << k) | (x >>> (32 - k))) >>> 0;
}

/** The default generator, used when no other is passed (PyTorch's global RNG). */
export const defaultGenerator = new Generator(0);

/** Seeds the default generator. */
export function manualSeed(seed: number): void {
  defaultGenerator.manualSeed(seed);
}
