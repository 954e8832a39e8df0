// Constructor-argument checks shared by the layers: a bad size or rate is an error naming the layer, the argument
// and the value, not a layer that computes NaN or throws a bare RangeError later.

/** Throws unless `value` is an integer ≥ `min`. */
export function requireInt(layer: string, what: string, value: number, min: number): void {
  if (!(Number.isInteger(value) && value >= min))
    throw new Error(`${layer}: ${what} must be an integer ≥ ${min}, got ${value}`);
}

/** Throws unless both entries of a (height, width) pair are integers ≥ `min`. */
export function requireIntPair(layer: string, what: string, value: readonly [number, number], min: number): void {
  if (!value.every((v) => Number.isInteger(v) && v >= min))
    throw new Error(`${layer}: ${what} must be integers ≥ ${min}, got (${value.join(', ')})`);
}

/** Throws unless `value` is a finite number > 0. */
export function requirePositive(layer: string, what: string, value: number): void {
  if (!(Number.isFinite(value) && value > 0))
    throw new Error(`${layer}: ${what} must be a finite number > 0, got ${value}`);
}
