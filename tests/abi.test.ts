// The TS ↔ AssemblyScript boundary has one source: src/backend/wasm/kernels.abi.ts is generated from assembly/ at
// build time. These tests fail when the generated file is stale (assembly/ changed, the build did not run) or when
// the compiled module and the generated list disagree.
import { readFileSync } from 'node:fs';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { ABI_FILE, abiSource } from '../scripts/gen-abi.mjs';
import { KERNEL_ARITY, KERNEL_NAMES } from '../src/backend/wasm/kernels.abi.js';
import { loadKernels } from '../src/backend/wasm/loader.js';

const test = suite('kernel boundary');

test('kernels.abi.ts is what scripts/gen-abi.mjs makes of assembly/ now (npm run build regenerates it)', () => {
  assert.is(readFileSync(ABI_FILE, 'utf8'), abiSource());
});

test('the compiled module exports exactly the generated kernels, each taking the generated number of arguments', async () => {
  for (const shared of [false, true]) {
    const { module, exports } = await loadKernels(shared);
    const functions = WebAssembly.Module.exports(module)
      .filter((e) => e.kind === 'function')
      .map((e) => e.name);
    assert.equal([...functions].sort(), [...KERNEL_NAMES].sort(), `shared: ${shared}`);
    for (const name of KERNEL_NAMES) {
      const fn = (exports as unknown as Record<string, (...args: number[]) => unknown>)[name];
      assert.is(fn.length, KERNEL_ARITY[name], `${name}'s arguments`);
    }
  }
});

test.run();
