// Matrix multiplication, f32, row-major: out[m×n] = a[m×k] @ b[k×n].
// Pointer-and-size arguments only; nothing is allocated. Rows of b are walked four columns at a time with f32x4
// (i-k-j order: one element of a broadcast against a row of b), and the n % 4 tail is scalar.

// @ts-ignore: decorator
@inline function madd(acc: v128, a: v128, b: v128): v128 {
  if (ASC_FEATURE_RELAXED_SIMD) return f32x4.relaxed_madd(a, b, acc);
  return f32x4.add(acc, f32x4.mul(a, b));
}

export function matmul_f32(out: usize, a: usize, b: usize, m: i32, k: i32, n: i32): void {
  const n4 = n & ~3;
  for (let i = 0; i < m; i++) {
    const orow = out + (<usize>(i * n) << 2);
    memory.fill(orow, 0, <usize>n << 2);
    for (let p = 0; p < k; p++) {
      const s = load<f32>(a + (<usize>(i * k + p) << 2));
      const sv = f32x4.splat(s);
      const brow = b + (<usize>(p * n) << 2);
      let j = 0;
      for (; j < n4; j += 4) {
        const off = <usize>j << 2;
        v128.store(orow + off, madd(v128.load(orow + off), sv, v128.load(brow + off)));
      }
      for (; j < n; j++) {
        const off = <usize>j << 2;
        store<f32>(orow + off, load<f32>(orow + off) + s * load<f32>(brow + off));
      }
    }
  }
}
