// Which backend runs the kernels. `setBackend('js')` selects the readable reference backend.
import type { Backend } from './backend.js';

type Factory = () => Backend | Promise<Backend>;

const factories = new Map<string, Factory>();
const ready = new Map<string, Backend>();
let current: Backend | null = null;
let defaultName = 'js';

/** Makes a backend selectable by name. The first registration with `isDefault` becomes the default. */
export function registerBackend(name: string, factory: Factory, isDefault = false): void {
  factories.set(name, factory);
  if (isDefault) defaultName = name;
}

/** Names of the registered backends. */
export function listBackends(): string[] {
  return [...factories.keys()];
}

/**
 * Selects the backend that runs every following op: `'js'` (reference, plain TypeScript) or `'wasm'` (SIMD).
 * Returns a Promise because a wasm backend compiles its module on first use; await it before computing.
 */
export async function setBackend(name: string): Promise<Backend> {
  current = await initBackend(name);
  return current;
}

/** Makes a backend ready (compiling its module on first use) without making it the active one. */
export async function initBackend(name: string): Promise<Backend> {
  const factory = factories.get(name);
  if (!factory)
    throw new Error(
      `setBackend: unknown backend '${name}' (available: ${listBackends()
        .map((n) => `'${n}'`)
        .join(', ')})`,
    );
  let backend = ready.get(name);
  if (!backend) {
    backend = await factory();
    ready.set(name, backend);
  }
  return backend;
}

/** The name of the active backend. */
export function getBackend(): string {
  return activeBackend().name;
}

/** The active backend object (for ops and tests). Until `setBackend` is called, the default is made active if ready. */
export function activeBackend(): Backend {
  if (current) return current;
  const fallback = ready.get(defaultName) ?? ready.get('js');
  if (!fallback) {
    const factory = factories.get('js');
    const made = factory?.();
    if (!made || made instanceof Promise) throw new Error('no backend is ready: await setBackend(name) first');
    ready.set('js', made);
    current = made;
    return made;
  }
  current = fallback;
  return fallback;
}

/** A backend by name, if it has been made ready (used to read storages created under another backend). */
export function readyBackend(name: string): Backend {
  const b = ready.get(name);
  if (!b) throw new Error(`backend '${name}' is not initialised`);
  return b;
}
