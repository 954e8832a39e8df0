// When a storage's block is freed. Nobody calls dispose(): a storage is freed by the first of these that applies.
//  1. Scopes: backward() opens one per node; what a scope's code made is freed when it closes, except what it hands
//     out (scoped(fn, keep) is the same for user code, and a module's forward under noGrad() runs in one that hands
//     out what it returns).
//  2. Training steps: an optimizer's step() ends a step. What a step made outside scopes (its batch, activations,
//     loss) is freed once the next step is under way: at the next zeroGrad() that follows new work, or at the latest
//     when the next step() ends. Parameters, buffers, optimizer state and gradients are kept (keep()), so no keep
//     list can forget them; a read of a freed storage throws an error that names what made it and what freed it.
//     What was made before an optimizer's first step() (the data, the model) is left to 3, and so is what is made
//     once the steps stop: the first time the loop yields to the event loop with no step ended since the last time.
//  3. The garbage collector: a FinalizationRegistry frees the block of a handle that has been collected. Its
//     callbacks only run between tasks, so a loop that never yields frees nothing this way; spill.ts bounds the
//     memory then.
// A registration costs about half a microsecond and a step makes a few hundred storages, so storages that 1 or 2
// will free are not registered.
import type { Block, WasmStorage } from './storage.js';

const STEP_HINT =
  ': what a training step makes lives until the next step is under way; read it out before (item(), toArray()) or call keep() on it';

/** Lets the process exit (and a Deno test end) with the idle check pending: it is bookkeeping, not work. */
function unref(timer: unknown): void {
  if (typeof timer === 'object' && timer && 'unref' in timer) (timer as { unref(): void }).unref();
  else (globalThis as { Deno?: { unrefTimer?(id: unknown): void } }).Deno?.unrefTimer?.(timer);
}

export class Lifetimes {
  private readonly scopes: WasmStorage[][] = [];
  /** Storages made outside scopes during the current training step. */
  private current: WasmStorage[] = [];
  /** Those of the step before, freed when this one is under way. */
  private previous: WasmStorage[] = [];
  /** Whether steps free what they made: from an optimizer's first step() on. */
  private tracking = false;
  /** The training step under way, counting from 1 (the step() calls so far, plus one). */
  step = 1;
  /** Whether a step ended since the last idle check. */
  private stepEndedSinceIdleCheck = false;
  private idleCheckPending = false;
  readonly stats = { freedByScope: 0, freedByStep: 0, freedByGc: 0 };
  private readonly finalizer = new FinalizationRegistry<Block>((block) => {
    block.watched = false;
    if (block.ptr >= 0) {
      this.release(block, 'by the garbage collector');
      this.stats.freedByGc++;
    }
  });

  /** `release(block, because)` frees a block and records why. */
  constructor(private readonly release: (b: Block, because: string) => void) {}

  /** Takes charge of a new storage: the innermost scope's, the current step's, or (`kept`, or neither) the GC's. */
  adopt(s: WasmStorage, kept: boolean): void {
    if (this.tracking) s.block.step = this.step;
    if (kept) {
      s.kept = true;
      this.watch(s);
    } else this.record(s, this.scopes[this.scopes.length - 1]);
  }

  /** Keeps `s` past scopes and steps; the garbage collector frees it once nothing holds it. */
  keep(s: WasmStorage): void {
    s.kept = true;
  }

  // ---- scopes ----

  openScope(): void {
    this.scopes.push([]);
  }

  /**
   * Frees what was made since the matching openScope(), except the storages in `keep` and those kept; `because` is
   * what a later read of a freed one reports.
   */
  closeScope(
    keep: ReadonlySet<unknown>,
    because = 'when the scope that made it closed (backward() or scoped())',
  ): void {
    const made = this.scopes.pop();
    if (!made) throw new Error('wasm backend: closeScope without openScope');
    const outer = this.scopes[this.scopes.length - 1];
    for (const s of made) {
      if (s.owner !== made) continue; // freed already (freeNow)
      if (keep.has(s) || s.kept) this.record(s, outer);
      else this.free(s, because, 'scope');
    }
  }

  /** Leaves a scope without freeing anything (after an error, when what was handed out is unknown). */
  abandonScope(): void {
    const made = this.scopes.pop();
    const outer = this.scopes[this.scopes.length - 1];
    for (const s of made ?? []) if (s.owner === made) this.record(s, outer);
  }

  /** Frees `s` now if the innermost scope made it (a gradient backward() has consumed); returns whether it did. */
  freeNow(s: WasmStorage): boolean {
    const inner = this.scopes[this.scopes.length - 1];
    if (!inner || s.owner !== inner) return false;
    this.free(s, 'by backward() once consumed', 'scope');
    return true;
  }

  /** Frees `s` now, whoever holds it (a gradient that zeroGrad() drops); a no-op if it is freed already. */
  dispose(s: WasmStorage): void {
    if (!s.freed) this.free(s, 'when zeroGrad() dropped it', 'scope');
  }

  // ---- training steps ----

  /** An optimizer's zeroGrad(): if the next step has made something, the previous step's storages go. */
  beginStep(): void {
    if (!this.current.length || !this.previous.length) return;
    this.freeStep(this.previous, `when training step ${this.step} began (optimizer.zeroGrad())${STEP_HINT}`);
    this.previous = [];
  }

  /** An optimizer's step() has ended: the step before goes; `first`: that optimizer's first step. */
  endStep(first: boolean): void {
    if (first || !this.tracking) {
      // What came before belongs to no step: the data and the model, made before the loop, stay.
      this.untrack();
      this.tracking = true;
    } else {
      this.freeStep(this.previous, `when training step ${this.step} ended (optimizer.step())${STEP_HINT}`);
      this.previous = this.current;
      this.current = [];
    }
    this.step++;
    this.stepEndedSinceIdleCheck = true;
    this.checkIdleLater();
  }

  /**
   * Once the loop yields: if no step has ended since the last check, training has stopped (or yields more than once a
   * step, where the garbage collector can free): stop tracking, so that what comes next is the GC's to free.
   */
  private checkIdleLater(): void {
    if (this.idleCheckPending) return;
    this.idleCheckPending = true;
    const timer = setTimeout(() => {
      this.idleCheckPending = false;
      if (this.stepEndedSinceIdleCheck) {
        this.stepEndedSinceIdleCheck = false;
        this.checkIdleLater();
      } else {
        this.untrack();
        this.tracking = false;
      }
    }, 0);
    unref(timer);
  }

  /** Hands every storage the steps hold to the garbage collector (before a spill: a loop that stopped stepping). */
  untrack(): void {
    for (const list of [this.previous, this.current]) for (const s of list) if (!s.freed) this.watch(s);
    this.previous = [];
    this.current = [];
  }

  /** Stops the garbage collector's watch on a block (its storage was spilled: the copy dies with the handle). */
  unwatch(b: Block): void {
    if (!b.watched) return;
    this.finalizer.unregister(b);
    b.watched = false;
  }

  /** Asks the garbage collector to report the death of a resident storage's handle. */
  watch(s: WasmStorage): void {
    const b = s.block;
    if (b.ptr < 0 || b.watched) return;
    // The block is the unregister token: a spill can drop the registration without reaching the handle.
    this.finalizer.register(s, b, b);
    b.watched = true;
  }

  // ---- internals ----

  private freeStep(list: readonly WasmStorage[], because: string): void {
    for (const s of list) {
      if (s.freed) continue;
      if (s.kept) this.watch(s);
      else this.free(s, because, 'step');
    }
  }

  /** Hands `s` to `scope`, or, with none, to the current step (or the GC, before any step). */
  private record(s: WasmStorage, scope: WasmStorage[] | undefined): void {
    s.owner = scope ?? null;
    if (scope) scope.push(s);
    else if (this.tracking && !s.kept) this.current.push(s);
    else this.watch(s);
  }

  private free(s: WasmStorage, because: string, by: 'scope' | 'step'): void {
    s.owner = null;
    const b = s.block;
    this.unwatch(b);
    this.release(b, because);
    if (by === 'scope') this.stats.freedByScope++;
    else this.stats.freedByStep++;
  }
}
