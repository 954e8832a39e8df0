// What each runtime can do, and the fallback where it cannot: the wasm backend runs its relaxed-SIMD build exactly
// where the runtime accepts it (Node 22+, Deno 2; Node 20 with V8's flag, which the loader sets) and the baseline
// SIMD build elsewhere, with the same kernels' results up to the fused multiply-add's rounding.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { activeBackend, setBackend } from '../src/backend/index.js';
import { RELAXED_WASM_BASE64 } from '../src/backend/wasm/kernels.bytes.js';
import { randn, manualSeed, setNumThreads, getNumThreads } from '../src/index.js';

const s = suite('runtime features');

s('the wasm backend runs the relaxed-SIMD build exactly where the runtime validates it', async () => {
  await setBackend('wasm');
  const bytes = Uint8Array.from(atob(RELAXED_WASM_BASE64), (c) => c.charCodeAt(0));
  const expected = WebAssembly.validate(bytes) ? 'relaxed-simd' : 'simd';
  const flavour = (activeBackend() as unknown as { flavour: string }).flavour;
  assert.is(flavour, expected);
  // Node (20 included: no user flag) always gets the relaxed build.
  const g = globalThis as { Deno?: unknown; Bun?: unknown; process?: { versions?: { node?: string } } };
  if (g.process?.versions?.node && !g.Deno && !g.Bun) assert.is(flavour, 'relaxed-simd');
  console.log(
    `    (this runtime: ${flavour}, ${typeof SharedArrayBuffer === 'function' ? 'threads available' : 'no threads'})`,
  );
});

s('a product on either build matches the reference backend to float32 rounding', async () => {
  manualSeed(3);
  await setBackend('js');
  const a = randn([33, 70]);
  const b = randn([70, 17]);
  const ref = a.matmul(b).toArray();
  await setBackend('wasm');
  const got = a.matmul(b).toArray();
  const worst = Math.max(...got.map((v, i) => Math.abs(v - ref[i]) / (1 + Math.abs(ref[i]))));
  assert.ok(worst < 1e-5, `worst relative difference ${worst}`);
});

s('threads run where SharedArrayBuffer exists, and the count is what was asked for', async () => {
  await setBackend('wasm');
  const n = await setNumThreads(2);
  assert.is(n, typeof SharedArrayBuffer === 'function' ? 2 : 1);
  assert.is(getNumThreads(), n);
  await setNumThreads(1);
});

s.run();
