/** Element types a tensor can hold. float32 is the default; float64 exists for gradient checks on the reference backend. */
export type DType = 'float32' | 'float64';

/** A typed array of either element type. */
export type FloatArray = Float32Array | Float64Array;

/** A zero-filled typed array of `size` elements of `dtype`. */
export function allocArray(size: number, dtype: DType): FloatArray {
  return dtype === 'float64' ? new Float64Array(size) : new Float32Array(size);
}

/** The dtype of a typed array. */
export function dtypeOf(a: FloatArray): DType {
  return a instanceof Float64Array ? 'float64' : 'float32';
}
