// Strided block copies, f32: the layout changes around the batched convolution GEMMs
// ((images, channels, L) ↔ (channels, images·L)).

/** For i < n1, j < n2: copy `len` floats from src + i·s1 + j·s2 to dst + i·d1 + j·d2 (strides in floats). */
export function copy2d_f32(dst: usize, d1: i32, d2: i32, src: usize, s1: i32, s2: i32, n1: i32, n2: i32, len: i32): void {
  const bytes = <usize>len << 2;
  for (let i = 0; i < n1; i++) {
    for (let j = 0; j < n2; j++) {
      memory.copy(dst + (<usize>(i * d1 + j * d2) << 2), src + (<usize>(i * s1 + j * s2) << 2), bytes);
    }
  }
}
