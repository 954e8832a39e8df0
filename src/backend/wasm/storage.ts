// A float32 tensor storage of the wasm backend: a handle to a block of wasm memory (or to its copy in a JS array,
// after a spill). The handle is what tensors hold; the block is what the heap manages, so a spill or a free can reach
// a block without keeping its handle alive.

/** Where a storage's floats are: at `ptr` in the heap, or (after a spill) in `spilled`; both empty once freed. */
export interface Block {
  ptr: number;
  /** Bytes reserved at ptr. */
  bytes: number;
  floats: number;
  spilled: Float32Array | null;
  /** Whether the FinalizationRegistry watches its handle. */
  watched: boolean;
  /** The kernel (or 'alloc') that made it, for the error that reports a read after it was freed. */
  madeBy: string;
  /** The training step during which it was made (0: before any). */
  step: number;
  /** Why it was freed, once it has been (for the same error). */
  freedBecause: string | null;
}

export class WasmStorage {
  /** @internal The open scope that will free this storage (null: none, or already freed). */
  owner: WasmStorage[] | null = null;
  /** @internal Whether it outlives training steps (a parameter, a buffer, optimizer state, a gradient, keep()). */
  kept = false;

  /** @internal */
  constructor(readonly block: Block) {}

  /** Number of floats. */
  get size(): number {
    return this.block.floats;
  }

  /** Whether its floats are gone for good. */
  get freed(): boolean {
    return this.block.ptr < 0 && !this.block.spilled;
  }
}

/** The error for reading a freed storage in `what`: what made it and what freed it. */
export function freedError(what: string, s: WasmStorage): Error {
  const b = s.block;
  const made = `made by ${b.madeBy}${b.step ? ` during training step ${b.step}` : ''}`;
  return new Error(
    `${what}: a tensor of ${b.floats} float${b.floats === 1 ? '' : 's'} (${made}) was read after it was freed ${b.freedBecause ?? ''}`.trimEnd(),
  );
}
